# Copyright (c) OpenMMLab. All rights reserved.
"""Fixed 2-D sine-cosine position embeddings for rectangular patch grids."""
from typing import Sequence

import torch
from torch import Tensor


def build_2d_sincos_pos_embed(grid_size: Sequence[int],
                              embed_dims: int,
                              temperature: float = 10000.) -> Tensor:
    """Build the fixed 2-D sin-cos position embedding of MAE / PiMAE.

    Tokens are in row-major order (token ``row * w + col``), which is the
    order of ``Conv2d`` patch features flattened by ``flatten(2)``. The first
    ``embed_dims // 2`` channels encode the **column** index and the last
    ``embed_dims // 2`` the **row** index; each half is ``[sin | cos]`` with
    frequencies ``1 / temperature ** (k / (embed_dims / 4))``,
    ``k = 0 .. embed_dims / 4 - 1`` (see projects/pimae/docs/
    original_code.md, 'Image tokenizer and position embedding'). There is no
    cls slot.

    Note:
        mmpretrain's ``build_2d_sincos_position_embedding`` builds its grid
        with ``meshgrid(grid_w, grid_h)`` ('ij'), i.e. in column-major token
        order, so on a non-square grid such as 16x22 it does not give this
        layout (tests/test_models/test_utils/test_position_embedding.py
        shows it); hence this small function.

    Args:
        grid_size (Sequence[int]): Patch grid ``(h, w)`` (rows, columns).
        embed_dims (int): Embedding dimension, a multiple of 4.
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        Tensor: The embedding of shape (1, h * w, embed_dims), float32.
    """
    h, w = (int(s) for s in grid_size)
    if embed_dims % 4 != 0:
        raise ValueError('The 2-D sin-cos position embedding needs '
                         f'embed_dims divisible by 4, got {embed_dims}')
    quarter = embed_dims // 4
    omega = 1. / temperature**(
        torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float64),
        torch.arange(w, dtype=torch.float64),
        indexing='ij')
    out_col = cols.reshape(-1, 1) * omega[None]
    out_row = rows.reshape(-1, 1) * omega[None]
    parts = [out_col.sin(), out_col.cos(), out_row.sin(), out_row.cos()]
    embed = torch.cat(parts, dim=1)
    return embed[None].float()
