# Copyright (c) OpenMMLab. All rights reserved.
"""Map projected pixels to the index of the image patch that holds them."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from .sampling import native_frame_pixels
from .validation import (ArrayLike, check_img_shape, check_last_dims,
                         check_pair, check_patch_size, mask_like)


def pixel_to_patch_index(
        uv: ArrayLike,
        img_shape: Sequence[int],
        patch_size: int,
        valid: Optional[ArrayLike] = None,
        clamp: bool = False,
        compat_norm_shape: Optional[Tuple[float, float]] = None,
        native_scale: Optional[ArrayLike] = None) -> ArrayLike:
    """Row-major index of the ``patch_size`` patch that contains each pixel.

    The image of shape (H, W) is tiled into a ``(H // p, W // p)`` grid of
    patches, numbered row by row as ViT's patch embedding flattens them:
    ``index = row * (W // p) + col``. A 0-based pixel coordinate ``x`` lies
    in pixel ``floor(x + 0.5)`` (rounding half up, as in
    :func:`points_in_image`), hence ``col = floor((x + 0.5) / p)`` and
    ``row = floor((y + 0.5) / p)``.

    Points outside the image (``x`` outside ``[-0.5, W - 0.5)`` or ``y``
    outside ``[-0.5, H - 0.5)``), points with non-finite coordinates and
    points where ``valid`` is False get index -1. With ``clamp=True``,
    finite points outside the image are instead moved to the nearest
    border patch (non-finite and invalid points still get -1).

    ``compat_norm_shape=(530, 730)`` reproduces the official PiMAE
    ``get_center_masks``: ``col = floor(round(x) / 730 * (W - 1) / p)`` and
    ``row = floor(round(y) / 530 * (H - 1) / p)`` with ``(x, y)`` pixels of
    the *native* image (the original projects with the native camera
    matrix); in this mode a point is outside when its cell falls outside the
    grid. Pixels of the resized network input are mapped back to the native
    frame first when ``native_scale`` gives the resize factors.

    Args:
        uv (np.ndarray | torch.Tensor): 0-based pixel coordinates (x, y) of
            the image, shape (..., N, 2).
        img_shape (Sequence[int]): ``(H, W)``, both divisible by
            ``patch_size``.
        patch_size (int): Side of the square patches in pixels.
        valid (np.ndarray | torch.Tensor, optional): Boolean mask of shape
            (..., N), e.g. from :func:`points_in_image`; False gives -1.
            Defaults to None (all valid).
        clamp (bool): Clamp finite outside points to the border patches
            instead of returning -1. Defaults to False.
        compat_norm_shape (tuple[float, float], optional): ``(height, width)``
            normaliser of the official code, ``(530, 730)``. Defaults to None
            (exact geometry).
        native_scale (np.ndarray | torch.Tensor, optional): Resize factors
            ``(sx, sy)`` from each native image to ``img_shape``, shape
            (..., 2) (see :func:`native_frame_pixels`); used only with
            ``compat_norm_shape``. None means ``uv`` are native pixels.
            Defaults to None.

    Returns:
        np.ndarray | torch.Tensor: Patch indices, int64, shape (..., N), of
        the same type as ``uv``.

    Raises:
        ValueError: On wrong shapes, or when H or W is not divisible by
            ``patch_size``.
    """
    check_last_dims(uv, 'uv', (2, ), '(..., N, 2)')
    height, width = check_img_shape(img_shape)
    patch_size = check_patch_size(patch_size, (height, width))
    valid = mask_like(valid, uv, 'valid')
    if valid is not None and tuple(valid.shape) != tuple(uv.shape[:-1]):
        raise ValueError(f'valid must have shape uv.shape[:-1] = '
                         f'{tuple(uv.shape[:-1])}, got {tuple(valid.shape)}')
    grid_h, grid_w = height // patch_size, width // patch_size
    is_torch = isinstance(uv, torch.Tensor)
    lib = torch if is_torch else np
    if is_torch and not uv.is_floating_point():
        uv = uv.double()
    elif not is_torch and not np.issubdtype(uv.dtype, np.floating):
        uv = uv.astype(np.float64)
    x, y = uv[..., 0], uv[..., 1]

    if compat_norm_shape is None:
        col = lib.floor((x + 0.5) / patch_size)
        row = lib.floor((y + 0.5) / patch_size)
        inside = ((x >= -0.5) & (x < width - 0.5) & (y >= -0.5)
                  & (y < height - 0.5))
    else:
        norm_h, norm_w = check_pair(
            compat_norm_shape, 'compat_norm_shape', positive=True)
        if native_scale is not None:
            native = native_frame_pixels(
                uv,
                torch.as_tensor(native_scale)
                if is_torch else np.asarray(native_scale))
            x, y = native[..., 0], native[..., 1]
        col = lib.floor(lib.round(x) / norm_w * (width - 1) / patch_size)
        row = lib.floor(lib.round(y) / norm_h * (height - 1) / patch_size)
        inside = (col >= 0) & (col < grid_w) & (row >= 0) & (row < grid_h)

    keep = lib.isfinite(x) & lib.isfinite(y)
    if not clamp:
        keep = keep & inside
    if valid is not None:
        keep = keep & valid
    # Clamp before the integer cast: inf or huge floats must not reach it.
    col = lib.where(keep, lib.clip(col, 0, grid_w - 1), 0)
    row = lib.where(keep, lib.clip(row, 0, grid_h - 1), 0)
    if is_torch:
        index = row.long() * grid_w + col.long()
        return torch.where(keep, index, torch.full_like(index, -1))
    index = row.astype(np.int64) * grid_w + col.astype(np.int64)
    return np.where(keep, index, np.int64(-1))
