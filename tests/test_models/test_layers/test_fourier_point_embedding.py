"""FourierPointEmbedding against its formula."""
import math

import numpy as np
import pytest
import torch

from projects.pimae.pimae.models.layers import FourierPointEmbedding


def test_matches_formula_with_range_normalisation():
    torch.manual_seed(0)
    embed = FourierPointEmbedding(embed_dims=6, in_channels=3, gauss_scale=2.)
    xyz = torch.tensor([[[0., 0., 0.], [1., 2., -1.], [0.5, -3., 2.]],
                        [[4., 4., 4.], [5., 4., 6.], [4.5, 5., 5.]]])
    low, high = xyz.amin(dim=1), xyz.amax(dim=1)
    out = embed(xyz, (low, high))
    assert out.shape == (2, 3, 6)
    gauss = embed.gauss_b.double().numpy()
    assert gauss.shape == (3, 3)
    for b in range(2):
        for n in range(3):
            point = xyz[b, n].double().numpy()
            lo, hi = low[b].double().numpy(), high[b].double().numpy()
            unit = (point - lo) / (hi - lo)
            phase = 2 * math.pi * unit @ gauss
            expected = np.concatenate([np.sin(phase), np.cos(phase)])
            np.testing.assert_allclose(
                out[b, n].numpy(), expected, rtol=0, atol=1e-5)
    # the range minimum maps to 0: sin 0 = 0, cos 0 = 1
    np.testing.assert_allclose(out[1, 0].numpy(), [0] * 3 + [1] * 3, atol=1e-6)


def test_without_normalisation_and_degenerate_range():
    torch.manual_seed(1)
    embed = FourierPointEmbedding(embed_dims=4, in_channels=2, normalize=False)
    xyz = torch.tensor([[[0.25, -1.], [3., 0.5]]], dtype=torch.float64)
    out = embed(xyz)
    assert out.dtype == torch.float64
    phase = 2 * math.pi * xyz[0].numpy() @ embed.gauss_b.double().numpy()
    np.testing.assert_allclose(
        out[0].numpy(),
        np.concatenate([np.sin(phase), np.cos(phase)], -1),
        rtol=0,
        atol=1e-6)
    # a flat axis (high == low) divides by 1e-6, not by 0
    norm = FourierPointEmbedding(embed_dims=4, in_channels=2)
    flat = torch.tensor([[[1., 2.], [3., 2.]]])
    out = norm(flat, (flat.amin(1), flat.amax(1)))
    assert torch.isfinite(out).all()


def test_no_gradient_and_buffer_in_checkpoint():
    embed = FourierPointEmbedding(embed_dims=8)
    xyz = torch.rand(1, 5, 3, requires_grad=True)
    out = embed(xyz, (torch.zeros(1, 3), torch.ones(1, 3)))
    assert not out.requires_grad
    assert set(embed.state_dict()) == {'gauss_b'}
    other = FourierPointEmbedding(embed_dims=8)
    other.load_state_dict(embed.state_dict())
    torch.testing.assert_close(
        other(xyz, (torch.zeros(1, 3), torch.ones(1, 3))), out)


def test_errors():
    with pytest.raises(ValueError, match='even'):
        FourierPointEmbedding(embed_dims=5)
    with pytest.raises(ValueError, match='point cloud range'):
        FourierPointEmbedding(embed_dims=4)(torch.rand(1, 2, 3))
