# Copyright (c) OpenMMLab. All rights reserved.
"""Batched gathering of points (or point features) by index."""
import math

import torch
from torch import Tensor

from ._validation import check_tensor


def _check_indices(op: str, points: Tensor, idx: Tensor) -> None:
    """Check ``idx`` against ``points`` for :func:`gather_points`.

    Args:
        op (str): Name of the calling op, used in the message.
        points (Tensor): Points, shape (B, N, C).
        idx (Tensor): Indices, shape (B, *S).
    """
    check_tensor(op, 'idx', idx)
    if points.dim() != 3:
        raise ValueError(f'{op}: `points` must have shape (B, N, C), got '
                         f'{tuple(points.shape)}')
    if idx.dim() < 2:
        raise ValueError(f'{op}: `idx` must have shape (B, *S) with at least '
                         f'one dimension after B, got {tuple(idx.shape)}')
    if idx.dtype == torch.bool or idx.is_floating_point() or \
            idx.is_complex():
        raise ValueError(f'{op}: `idx` must be an integer tensor (int32 or '
                         f'int64), got dtype {idx.dtype}')
    if idx.shape[0] != points.shape[0]:
        raise ValueError(f'{op}: batch sizes differ: `points` has shape '
                         f'{tuple(points.shape)} and `idx` has shape '
                         f'{tuple(idx.shape)}')
    if points.shape[1] == 0 and idx.numel() > 0:
        raise ValueError(f'{op}: `points` is empty, got shape '
                         f'{tuple(points.shape)}')
    if idx.device != points.device:
        raise ValueError(f'{op}: devices differ: `points` is on '
                         f'{points.device} and `idx` is on {idx.device}')


def gather_points(points: Tensor, idx: Tensor) -> Tensor:
    """Gather points (or per-point features) along the point dimension.

    Used for FPS centres (``idx`` (B, G)) and KNN groups (``idx``
    (B, G, K)). Differentiable with respect to ``points``. Indices are not
    range-checked here: ``torch.gather`` raises on an out-of-range or negative
    index on the CPU and triggers a device assert on a GPU, so a bad index is
    never a silent wrong result.

    Args:
        points (Tensor): Points or features, shape (B, N, C), any dtype.
        idx (Tensor): Integer indices into dimension 1 of ``points``, shape
            (B, *S), values in [0, N).

    Returns:
        Tensor: Gathered values, shape (B, *S, C), dtype and device of
        ``points``; ``out[b, s..., c] == points[b, idx[b, s...], c]``.
    """
    op = 'gather_points'
    check_tensor(op, 'points', points)
    _check_indices(op, points, idx)
    batch_size, _, channels = points.shape
    num_gathered = math.prod(idx.shape[1:])
    flat_idx = idx.reshape(batch_size, num_gathered, 1).long()
    gathered = points.gather(1, flat_idx.expand(-1, -1, channels))
    return gathered.reshape(*idx.shape, channels)
