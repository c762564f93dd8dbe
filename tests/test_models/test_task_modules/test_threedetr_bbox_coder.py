"""ThreeDETRBBoxCoder: yaw bins and residuals, scene normalisation."""
import math

import pytest
import torch

from projects.pimae.pimae.models.task_modules import ThreeDETRBBoxCoder


@pytest.mark.parametrize('num_bins', [12, 4, 1])
def test_encoded_yaw_decodes_back(num_bins):
    coder = ThreeDETRBBoxCoder(num_angle_bins=num_bins)
    yaw = torch.linspace(-3 * math.pi, 3 * math.pi, 721)
    bins, residual = coder.encode_angle(yaw)
    assert bins.dtype == torch.long
    assert int(bins.min()) >= 0 and int(bins.max()) < num_bins
    if num_bins == 1:
        assert not coder.with_rot
        assert (residual == 0).all()
        return
    half = math.pi / num_bins
    assert (residual >= -half - 1e-5).all() and (residual < half + 1e-5).all()
    # a decoder that predicts the encoded bin and residual returns the yaw
    logits = torch.nn.functional.one_hot(bins, num_bins).float()
    res_norm = (residual / half).unsqueeze(-1).expand(-1, num_bins)
    decoded = coder.decode_angle(logits, res_norm)
    assert (decoded > -math.pi - 1e-5).all()
    assert (decoded <= math.pi + 1e-5).all()
    diff = torch.remainder(decoded - yaw + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max() < 1e-4


def test_bins_match_3detr_angle2class():
    coder = ThreeDETRBBoxCoder(num_angle_bins=12)
    step = 2 * math.pi / 12
    # bin 0 covers [-step/2, step/2), bin 1 starts at step/2
    bins, _ = coder.encode_angle(
        torch.tensor([
            0., step / 2 - 1e-4, step / 2 + 1e-4, -step / 2 + 1e-4,
            -step / 2 - 1e-4, math.pi
        ]))
    assert bins.tolist() == [0, 0, 1, 0, 11, 6]


def test_decode_is_relative_to_queries_and_scene():
    coder = ThreeDETRBBoxCoder(num_angle_bins=12)
    low = torch.tensor([[-1., 0., -0.5]])
    high = torch.tensor([[3., 2., 0.5]])
    query = torch.tensor([[[1., 1., 0.]]])
    boxes = coder.decode(
        torch.zeros(1, 1, 3), torch.zeros(1, 1, 3), torch.zeros(1, 1, 12),
        torch.zeros(1, 1, 12), query, low, high)
    # zero logits: centre at the query, size half the scene extent
    torch.testing.assert_close(boxes['center'], query)
    torch.testing.assert_close(boxes['size'], torch.tensor([[[2., 1., 0.5]]]))
    torch.testing.assert_close(boxes['center_normalized'],
                               torch.tensor([[[0.5, 0.5, 0.5]]]))
    torch.testing.assert_close(
        coder.normalize_sizes(boxes['size'], low, high),
        boxes['size_normalized'])
    assert boxes['bboxes'].shape == (1, 1, 7)


def test_single_bin_keeps_the_angle_heads_in_the_graph():
    coder = ThreeDETRBBoxCoder(num_angle_bins=1)
    logits = torch.randn(2, 5, 1, requires_grad=True)
    res = torch.randn(2, 5, 1, requires_grad=True)
    yaw = coder.decode_angle(logits, res)
    assert (yaw == 0).all()
    yaw.sum().backward()
    assert logits.grad is not None and res.grad is not None


def test_bad_bin_count():
    with pytest.raises(ValueError, match='num_angle_bins'):
        ThreeDETRBBoxCoder(num_angle_bins=0)
