# Copyright (c) OpenMMLab. All rights reserved.
"""Chamfer distance between batched point sets, in pure torch.

PiMAE compares B*76 masked patches of 32 points, so the dense (B, N, M)
distance matrix is small (20 MB at batch 64) and no CUDA extension is needed.
The matrix is only used to find each point's nearest neighbour, without
autograd; the distances of the chosen pairs are then recomputed with autograd
from the gathered points. The gradient is the same as through ``min`` over the
matrix, but the matrix is never kept for backward, which only touches
(B, N, C) tensors: faster and lighter than differentiating through the matrix
(``tools/benchmarks/benchmark_point_ops.py`` measures both).
"""
from typing import Tuple

import torch
from torch import Tensor

from ._validation import check_cloud, check_cloud_pair
from .gather_points import gather_points

MODES = ('l1', 'l2')
REDUCTIONS = ('none', 'mean', 'sum')


def _nearest_indices(src: Tensor, dst: Tensor) -> Tuple[Tensor, Tensor]:
    """Index of the nearest point in the other set, ties to the lowest index.

    Args:
        src (Tensor): Source points, shape (B, N, C).
        dst (Tensor): Destination points, shape (B, M, C).

    Returns:
        tuple[Tensor, Tensor]: int64 indices into ``dst`` (B, N) and into
        ``src`` (B, M).
    """
    with torch.no_grad():
        if src.device.type == 'cpu':
            # Fastest exact form on CPU; Euclidean, so the argmin is that of
            # the squared distance.
            dist = torch.cdist(
                src, dst, compute_mode='donot_use_mm_for_euclid_dist')
        else:
            # cdist's exact kernel is slow on CUDA; the broadcast is not.
            dist = (src.unsqueeze(2) - dst.unsqueeze(1)).square().sum(-1)
        return dist.argmin(dim=2), dist.argmin(dim=1)


def _pair_distance(points: Tensor, others: Tensor, idx: Tensor,
                   mode: str) -> Tensor:
    """Distance from each point to its chosen partner, with autograd.

    Args:
        points (Tensor): Points, shape (B, N, C).
        others (Tensor): Candidate partners, shape (B, M, C).
        idx (Tensor): Partner of each point, indices into ``others``,
            shape (B, N).
        mode (str): 'l2' (squared Euclidean) or 'l1' (Euclidean).

    Returns:
        Tensor: Distances, shape (B, N).
    """
    sq_dist = (points - gather_points(others, idx)).square().sum(dim=-1)
    if mode == 'l2':
        return sq_dist
    # sqrt has an infinite derivative at 0: take the square root of 1 there
    # and mask it out, so coincident points get value 0 and gradient 0.
    positive = sq_dist > 0
    safe = torch.where(positive, sq_dist, torch.ones_like(sq_dist))
    return torch.where(positive, safe.sqrt(), torch.zeros_like(sq_dist))


def _reduce(dist: Tensor, reduction: str) -> Tensor:
    """Reduce per-point distances.

    Args:
        dist (Tensor): Distances, shape (B, N).
        reduction (str): 'none', 'mean' or 'sum'.

    Returns:
        Tensor: ``dist`` itself for 'none', else a scalar.
    """
    if reduction == 'mean':
        return dist.mean()
    if reduction == 'sum':
        return dist.sum()
    return dist


def chamfer_distance(
        src: Tensor,
        dst: Tensor,
        mode: str = 'l2',
        reduction: str = 'none') -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Nearest-neighbour distances from ``src`` to ``dst`` and back.

    Differentiable with respect to both sets; the gradient flows through
    each point's nearest pair, as through a ``min``. Where two points
    coincide the 'l1' mode has value 0 and gradient 0 (the bare square root
    of Point-MAE's ChamferDistanceL1 gives NaN there). Among equally near
    points the lowest index is chosen. For ``mode='l2'`` the four outputs
    match mmdet3d's ``chamfer_distance(src, dst, criterion_mode='l2',
    reduction=...)``; mmdet3d has no counterpart of ``mode='l1'`` (its 'l1'
    is the Manhattan distance).

    Args:
        src (Tensor): Source points, shape (B, N, C), usually C = 3.
        dst (Tensor): Destination points, shape (B, M, C), same dtype and
            device as ``src``.
        mode (str): 'l2' for squared Euclidean distances, 'l1' for
            Euclidean distances. Defaults to 'l2'.
        reduction (str): 'none', 'mean' or 'sum', applied to each direction
            separately. Defaults to 'none'.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]:

        - dist_src (Tensor): Distance from each source point to its nearest
          destination point, shape (B, N), or a scalar when reduced.
        - dist_dst (Tensor): Distance from each destination point to its
          nearest source point, shape (B, M), or a scalar when reduced.
        - idx_src (Tensor): Index into ``dst`` of that nearest point, int64,
          shape (B, N).
        - idx_dst (Tensor): Index into ``src`` of that nearest point, int64,
          shape (B, M).
    """
    op = 'chamfer_distance'
    if mode not in MODES:
        raise ValueError(f'{op}: `mode` must be one of {MODES}, got {mode!r}')
    if reduction not in REDUCTIONS:
        raise ValueError(f'{op}: `reduction` must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')
    check_cloud(op, 'src', src, channels=None)
    check_cloud(op, 'dst', dst, channels=None)
    check_cloud_pair(op, 'src', src, 'dst', dst)
    idx_src, idx_dst = _nearest_indices(src, dst)
    dist_src = _pair_distance(src, dst, idx_src, mode)
    dist_dst = _pair_distance(dst, src, idx_dst, mode)
    dist_src = _reduce(dist_src, reduction)
    dist_dst = _reduce(dist_dst, reduction)
    return dist_src, dist_dst, idx_src, idx_dst


def chamfer_loss(src: Tensor, dst: Tensor, mode: str = 'l2') -> Tensor:
    """Chamfer loss with the reduction of Point-MAE / PiMAE.

    * 'l2' (PiMAE's ``ChamferDistanceL2``, the loss it trains with):
      ``mean(dist_src) + mean(dist_dst)`` of squared distances, each mean over
      all B*N (B*M) points. This equals the sum of the two outputs of
      ``mmdet3d.models.losses.ChamferDistance(mode='l2', reduction='mean',
      loss_src_weight=1.0, loss_dst_weight=1.0)(src, dst)``: mmdet3d's 'l2'
      criterion is ``mse_loss(reduction='none')`` summed over the coordinates,
      i.e. the squared distance, and 'mean' averages each direction over all
      points of the batch.
    * 'l1' (Point-MAE's ``ChamferDistanceL1``):
      ``(mean(dist_src) + mean(dist_dst)) / 2`` of Euclidean distances. It is
      not equal to mmdet3d's ``mode='l1'``, which sums absolute coordinate
      differences (Manhattan distance) and does not halve.

    Args:
        src (Tensor): Predicted points, shape (B, N, C).
        dst (Tensor): Target points, shape (B, M, C).
        mode (str): 'l2' or 'l1', see above. Defaults to 'l2'.

    Returns:
        Tensor: Scalar loss, differentiable with respect to both inputs.
    """
    dist_src, dist_dst, _, _ = chamfer_distance(
        src, dst, mode=mode, reduction='mean')
    total = dist_src + dist_dst
    return total if mode == 'l2' else total / 2
