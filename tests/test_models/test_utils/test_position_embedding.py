import numpy as np
import pytest
import torch

from projects.pimae.pimae.models.utils import build_2d_sincos_pos_embed


def mae_reference(grid_size, dims):
    """MAE's numpy recipe: meshgrid(w, h) in 'xy' order, w-half first."""
    h, w = grid_size
    grid = np.meshgrid(
        np.arange(w, dtype=np.float64),
        np.arange(h, dtype=np.float64))  # each (h, w)

    def one_d(d, pos):
        omega = 1. / 10000**(np.arange(d // 2, dtype=np.float64) / (d / 2.))
        out = np.einsum('m,d->md', pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    return np.concatenate(
        [one_d(dims // 2, grid[0]),
         one_d(dims // 2, grid[1])], axis=1)


@pytest.mark.parametrize('grid_size,dims', [((16, 22), 256), ((16, 22), 192),
                                            ((3, 5), 8)])
def test_matches_mae_layout(grid_size, dims):
    embed = build_2d_sincos_pos_embed(grid_size, dims)
    assert embed.shape == (1, grid_size[0] * grid_size[1], dims)
    np.testing.assert_allclose(
        embed[0].numpy(), mae_reference(grid_size, dims), atol=1e-6)


def test_column_first_halves():
    embed = build_2d_sincos_pos_embed((4, 6), 16)[0]
    # token 1 is (row 0, col 1): only the column half changes vs token 0
    assert not torch.allclose(embed[1, :8], embed[0, :8])
    torch.testing.assert_close(embed[1, 8:], embed[0, 8:])
    # token 6 is (row 1, col 0): only the row half changes
    torch.testing.assert_close(embed[6, :8], embed[0, :8])
    assert not torch.allclose(embed[6, 8:], embed[0, 8:])


def test_mmpretrain_function_differs_on_rectangular_grid():
    """Why the project has its own function (see its docstring)."""
    from mmpretrain.models.utils import build_2d_sincos_position_embedding
    ours = build_2d_sincos_pos_embed((16, 22), 256)
    theirs = build_2d_sincos_position_embedding((16, 22), 256)
    assert theirs.shape == ours.shape
    assert not torch.allclose(theirs, ours, atol=1e-3)


def test_rejects_bad_dims():
    with pytest.raises(ValueError, match='divisible by 4'):
        build_2d_sincos_pos_embed((2, 2), 6)
