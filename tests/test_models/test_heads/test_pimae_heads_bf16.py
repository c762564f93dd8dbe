"""The PiMAE losses compute in float32 under bfloat16 autocast (``--amp``).

Under ``torch.autocast(dtype=torch.bfloat16)`` the heads receive bfloat16
features and their 1x1 convs run in bfloat16, as in mixed-precision
training. The loss itself must then be float32 and equal, to float32
rounding, the loss of the same bfloat16 values computed in float64 by hand;
a loss reduced in bfloat16 (8 mantissa bits) would be off by ~1e-3.
"""
import pytest
import torch

import projects.pimae.pimae.models  # noqa: F401
from projects.pimae.pimae.models.heads import (PiMAECrossModalHead,
                                               PiMAEImageHead, PiMAEPointHead)
from .._helpers import pinhole_depth2img, synthetic_points

#: float32 rounding of a mean of a few thousand terms, far below bfloat16's
#: 2 ** -8 = 3.9e-3
RTOL = 1e-5


def autocast_bf16():
    return torch.autocast('cpu', dtype=torch.bfloat16)


def chamfer_l2_by_hand(pred, target):
    """mean over points of both directions' squared NN distances."""
    dist = ((pred[:, :, None] - target[:, None]).square()).sum(-1)
    return dist.min(2).values.mean() + dist.min(1).values.mean()


@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_point_head_chamfer_is_float32(mode):
    torch.manual_seed(0)
    head = PiMAEPointHead(
        in_channels=16,
        group_size=8,
        loss=dict(type='ChamferLoss', mode=mode, loss_weight=1.0))
    head.init_weights()
    feat = torch.randn(2, 5, 16)
    target = torch.randn(2, 5, 8, 3) * 0.1
    with autocast_bf16():
        pred = head(feat)
        assert pred.dtype == torch.bfloat16  # the conv runs in bfloat16
        loss = head.loss(pred, target)
    assert loss.dtype == torch.float32
    p, t = pred.double().flatten(0, 1), target.double().flatten(0, 1)
    if mode == 'l2':
        expected = chamfer_l2_by_hand(p, t)
    else:
        dist = ((p[:, :, None] - t[:, None]).square()).sum(-1).sqrt()
        expected = (dist.min(2).values.mean() + dist.min(1).values.mean()) / 2
    torch.testing.assert_close(
        loss.double(), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize('norm_pix', [False, True])
def test_image_head_mse_is_float32(norm_pix):
    torch.manual_seed(0)
    head = PiMAEImageHead(patch_size=4, norm_pix=norm_pix)
    imgs = torch.randn(2, 3, 8, 12)
    pred = torch.randn(2, 6, 48).bfloat16()
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[:, ::2] = True
    with autocast_bf16():
        loss = head.loss(pred, imgs, mask)
    assert loss.dtype == torch.float32
    target = imgs.double().reshape(2, 3, 2, 4, 3, 4).permute(
        0, 2, 4, 3, 5, 1).reshape(2, 6, 48)
    if norm_pix:
        target = (target - target.mean(-1, keepdim=True)) / (
            target.var(-1, keepdim=True) + 1e-6)**.5
    per_patch = (pred.double() - target).square().mean(-1)
    expected = per_patch[mask].mean()
    torch.testing.assert_close(
        loss.double(), expected, rtol=RTOL, atol=0)


def test_cross_modal_head_mse_and_target_are_float32():
    torch.manual_seed(0)
    img_shape, grid = (64, 96), (4, 6)
    head = PiMAECrossModalHead(in_channels=16, feat_channels=8, group_size=4)
    head.init_weights()
    points = synthetic_points(2, 12).reshape(2, 3, 4, 3)
    depth2img = torch.from_numpy(pinhole_depth2img(img_shape))[None].expand(
        2, 3, 3)
    pts_feat = torch.randn(2, 3, 16)
    img_feat = torch.randn(2, 24, 8).bfloat16()
    with autocast_bf16():
        pred = head(pts_feat)
        assert pred.dtype == torch.bfloat16
        target = head.construct_target(img_feat, points, depth2img, grid,
                                       img_shape)
        loss = head.loss(pts_feat, img_feat, points, depth2img, grid,
                         img_shape)
    assert loss.dtype == torch.float32
    # the target is sampled in float32 (projection and bilinear weights
    # included): the same as without autocast from the same feature values
    expected_target = head.construct_target(img_feat.float(), points,
                                            depth2img, grid, img_shape)
    assert target.dtype == torch.float32
    torch.testing.assert_close(target, expected_target, rtol=1e-6, atol=1e-6)
    expected = (pred.double() - expected_target.double()).square().mean()
    torch.testing.assert_close(
        loss.double(), expected, rtol=RTOL, atol=0)
