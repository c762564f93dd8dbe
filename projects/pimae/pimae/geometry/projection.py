# Copyright (c) OpenMMLab. All rights reserved.
"""Projection of depth-frame points into the image with ``depth2img``."""
import contextlib
from typing import ContextManager, Sequence, Tuple

import numpy as np
import torch

from .validation import (ArrayLike, check_array, check_img_shape,
                         check_last_dims, check_scalar)


def full_precision(device: torch.device) -> ContextManager:
    """A context that disables autocast on ``device``.

    Pixel coordinates of a few hundred need float32: in float16 their
    resolution is 0.25 px or worse, so projection and sampling grids must not
    be computed under AMP's float16 autocast.

    Args:
        device (torch.device): Device of the tensors involved.

    Returns:
        ContextManager: ``torch.autocast(device.type, enabled=False)`` for CPU
        and CUDA devices, a no-op context otherwise.
    """
    if device.type in ('cpu', 'cuda'):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()


def working_dtype(*dtypes: torch.dtype) -> torch.dtype:
    """The promoted floating dtype of ``dtypes``, at least float32.

    Args:
        *dtypes (torch.dtype): Input dtypes.

    Returns:
        torch.dtype: float32 or float64.
    """
    dtype = torch.float32
    for other in dtypes:
        if other.is_floating_point:
            dtype = torch.promote_types(dtype, other)
    return dtype


def _broadcast_batch(points_shape: Tuple[int, ...],
                     matrix_shape: Tuple[int, ...]) -> None:
    """Raise unless the batch dims of points and depth2img broadcast."""
    try:
        np.broadcast_shapes(points_shape[:-2], matrix_shape[:-2])
    except ValueError:
        raise ValueError(
            f'the batch dimensions of points {points_shape} and depth2img '
            f'{matrix_shape} do not broadcast') from None


def project_points(points: ArrayLike,
                   depth2img: ArrayLike,
                   eps: float = 1e-6) -> Tuple[ArrayLike, ArrayLike]:
    """Project depth-frame points to 0-based pixel coordinates.

    ``uvw = depth2img @ p`` gives homogeneous 1-based pixels (SUN RGB-D /
    mmdet3d convention); the returned pixel is
    ``(uvw[0] / w - 1, uvw[1] / w - 1)``, 0-based with pixel centres at
    integers (x = column, y = row), and the returned depth is ``w`` (the
    camera-frame depth when the last row of ``depth2img`` is that of
    ``K @ R``).

    Points at or behind the camera (``w <= eps``) get finite but meaningless
    coordinates (``w`` is replaced by ``eps`` in the division, never NaN or
    inf); mask them out with :func:`points_in_image`, which rejects
    ``depth <= eps``.

    The torch path is batched (e.g. points (B, N, 3) with depth2img
    (B, 3, 3)), keeps gradients, and runs in at least float32 with autocast
    disabled, because float16 cannot hold pixel positions precisely. Only
    shapes are validated (no GPU synchronisation); check matrices once with
    :func:`check_depth2img` where they are loaded.

    Args:
        points (np.ndarray | torch.Tensor): Points of shape (..., N, 3) in
            mmdet3d's depth frame (x right, y forward, z up).
        depth2img (np.ndarray | torch.Tensor): Projection matrices of shape
            (..., 3, 3) whose batch dimensions broadcast with those of
            ``points``. It is converted to the type (and device) of
            ``points``.
        eps (float): Smallest valid depth. Defaults to 1e-6.

    Returns:
        tuple[np.ndarray | torch.Tensor]: Of the same type as ``points``:

        - uv (..., N, 2): 0-based (x, y) pixel coordinates.
        - depth (..., N): The homogeneous ``w``.
    """
    check_last_dims(points, 'points', (3, ), '(..., N, 3)')
    check_last_dims(depth2img, 'depth2img', (3, 3), '(..., 3, 3)')
    _broadcast_batch(tuple(points.shape), tuple(depth2img.shape))
    eps = check_scalar(eps, 'eps', positive=True)
    if isinstance(points, torch.Tensor):
        depth2img = torch.as_tensor(depth2img, device=points.device)
        dtype = working_dtype(points.dtype, depth2img.dtype)
        with full_precision(points.device):
            uvw = torch.matmul(
                points.to(dtype),
                depth2img.to(dtype).transpose(-1, -2))
            depth = uvw[..., 2]
            safe_depth = torch.where(depth > eps, depth,
                                     torch.full_like(depth, eps))
            uv = uvw[..., :2] / safe_depth.unsqueeze(-1) - 1
        return uv, depth
    if isinstance(depth2img, torch.Tensor):
        depth2img = depth2img.detach().cpu().numpy()
    dtype = np.result_type(points.dtype, depth2img.dtype, np.float32)
    uvw = np.matmul(
        points.astype(dtype, copy=False),
        np.swapaxes(depth2img.astype(dtype, copy=False), -1, -2))
    depth = uvw[..., 2]
    safe_depth = np.where(depth > eps, depth, dtype.type(eps))
    uv = uvw[..., :2] / safe_depth[..., None] - 1
    return uv, depth


def points_in_image(uv: ArrayLike,
                    depth: ArrayLike,
                    img_shape: Sequence[int],
                    eps: float = 1e-6) -> ArrayLike:
    """Which projected points are in front of the camera and in the image.

    Pixel (row r, column c) covers ``[c - 0.5, c + 0.5) x [r - 0.5, r + 0.5)``
    (rounding half up), so a point is inside when
    ``-0.5 <= x < W - 0.5`` and ``-0.5 <= y < H - 0.5``; NaN coordinates are
    outside.

    Args:
        uv (np.ndarray | torch.Tensor): 0-based pixel coordinates (x, y),
            shape (..., N, 2), e.g. from :func:`project_points`.
        depth (np.ndarray | torch.Tensor): Depths, shape (..., N), of the
            same type as ``uv``.
        img_shape (Sequence[int]): ``(H, W)`` of the image ``uv`` refers to.
        eps (float): Smallest valid depth. Defaults to 1e-6.

    Returns:
        np.ndarray | torch.Tensor: Boolean mask of shape (..., N), of the
        same type as ``uv``.
    """
    check_last_dims(uv, 'uv', (2, ), '(..., N, 2)')
    check_array(depth, 'depth')
    if isinstance(uv, torch.Tensor) != isinstance(depth, torch.Tensor):
        raise ValueError(
            f'uv and depth must both be numpy arrays or both torch tensors, '
            f'got {type(uv).__name__} and {type(depth).__name__}')
    if tuple(depth.shape) != tuple(uv.shape[:-1]):
        raise ValueError(f'depth must have shape uv.shape[:-1] = '
                         f'{tuple(uv.shape[:-1])}, got {tuple(depth.shape)}')
    height, width = check_img_shape(img_shape)
    eps = check_scalar(eps, 'eps', positive=True)
    x, y = uv[..., 0], uv[..., 1]
    return ((depth > eps) & (x >= -0.5) & (x < width - 0.5) & (y >= -0.5)
            & (y < height - 0.5))
