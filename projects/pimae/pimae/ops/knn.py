# Copyright (c) OpenMMLab. All rights reserved.
"""K nearest neighbours, sorted by ascending distance.

PiMAE's ordered cross-modal loss maps the s-th neighbour of a group to output
slot s, so the order is part of the result: neighbours are sorted by squared
Euclidean distance, ties by lower index, and a query that is a reference
point gets itself (its lowest-index copy) first.
"""
from typing import Tuple

import torch
from torch import Tensor

from ._mmcv_backend import use_mmcv
from ._validation import (check_backend, check_cloud, check_cloud_pair,
                          check_count)
from .gather_points import gather_points

# mmcv's knn kernel keeps its heap in a fixed array of 100 entries.
MMCV_MAX_K = 99


def _candidates_torch(k: int, ref: Tensor, query: Tensor) -> Tensor:
    """Indices of the k nearest references, in no particular order.

    Among references at exactly the k-th distance the lowest indices are
    kept, so the set is the one a stable sort by distance would give.

    Args:
        k (int): Number of neighbours, 1 <= k <= N.
        ref (Tensor): References, shape (B, N, 3).
        query (Tensor): Queries, shape (B, M, 3).

    Returns:
        Tensor: Indices of dtype int64, shape (B, M, k).
    """
    # The explicit-difference mode is exact (the matmul form loses the
    # centimetre neighbourhoods of metre-scale scenes to cancellation) and
    # was also the faster one on CPU for these sizes.
    dist = torch.cdist(
        query.detach(),
        ref.detach(),
        compute_mode='donot_use_mm_for_euclid_dist')
    if k == dist.shape[-1]:
        return torch.arange(
            k, device=ref.device).expand(dist.shape).contiguous()
    values, idx = dist.topk(k, dim=-1, largest=False, sorted=False)
    kth = values.max(dim=-1, keepdim=True).values
    if bool(((dist <= kth).sum(dim=-1) > k).any()):
        # Ties straddle the k-th distance: topk may keep any of them.
        idx = dist.sort(dim=-1, stable=True).indices[..., :k]
    return idx


def _candidates_mmcv(k: int, ref: Tensor, query: Tensor) -> Tensor:
    """Indices of the k nearest references from ``mmcv.ops.knn`` (CUDA).

    Args:
        k (int): Number of neighbours, 1 <= k <= min(N, 99).
        ref (Tensor): References on a GPU, shape (B, N, 3).
        query (Tensor): Queries on a GPU, shape (B, M, 3).

    Returns:
        Tensor: Indices of dtype int64, shape (B, M, k).
    """
    from mmcv.ops import knn as mmcv_knn
    idx = mmcv_knn(k,
                   ref.detach().float().contiguous(),
                   query.detach().float().contiguous(), False)
    # mmcv returns (B, k, M) int32.
    return idx.transpose(1, 2).long()


def _sort_neighbours(ref: Tensor, query: Tensor,
                     idx: Tensor) -> Tuple[Tensor, Tensor]:
    """Compute exact squared distances and sort by (distance, index).

    Args:
        ref (Tensor): References, shape (B, N, 3).
        query (Tensor): Queries, shape (B, M, 3).
        idx (Tensor): Neighbour indices, shape (B, M, k), unique per row.

    Returns:
        tuple[Tensor, Tensor]: Squared distances (B, M, k) in ascending
        order and the matching int64 indices (B, M, k).
    """
    neighbours = gather_points(ref, idx)
    sq_dist = (neighbours - query.unsqueeze(2)).square().sum(dim=-1)
    idx, by_index = idx.sort(dim=-1)
    sq_dist = sq_dist.gather(-1, by_index)
    sq_dist, by_dist = sq_dist.sort(dim=-1, stable=True)
    return sq_dist, idx.gather(-1, by_dist)


def knn(k: int,
        ref: Tensor,
        query: Tensor,
        *,
        backend: str = 'auto') -> Tuple[Tensor, Tensor]:
    """Find the ``k`` nearest reference points of every query point.

    The returned squared distances are recomputed from the gathered points
    (differentiable with respect to ``ref`` and ``query``); the indices are
    not differentiable.

    Args:
        k (int): Number of neighbours, 1 <= k <= N.
        ref (Tensor): Reference points, shape (B, N, 3), finite.
        query (Tensor): Query points, shape (B, M, 3), finite, same dtype
            and device as ``ref``.
        backend (str): 'auto' uses ``mmcv.ops.knn`` for CUDA tensors when
            mmcv has CUDA ops and k <= 99, and ``torch.cdist`` + ``topk``
            otherwise; 'mmcv' requires the mmcv kernel; 'torch' forces the
            pure path. With the mmcv kernel, which of several references at
            exactly the k-th distance is kept is up to the kernel; the order
            of what it returns is the same. Defaults to 'auto'.

    Returns:
        tuple[Tensor, Tensor]:

        - sq_dist (Tensor): Squared Euclidean distances, shape (B, M, k),
          ascending along the last dimension.
        - idx (Tensor): Indices into dimension 1 of ``ref``, dtype int64,
          shape (B, M, k); ties in distance are ordered by lower index.
    """
    op = 'knn'
    check_backend(op, backend)
    ref_shape = check_cloud(op, 'ref', ref, check_finite=True)
    check_cloud(op, 'query', query, check_finite=True)
    check_cloud_pair(op, 'ref', ref, 'query', query)
    k = check_count(op, 'k', k, ref_shape[1],
                    f'the number of points N of `ref` with shape {ref_shape}')
    mmcv = use_mmcv(op, ref, backend)
    if mmcv and k > MMCV_MAX_K:
        if backend == 'mmcv':
            raise ValueError(f"{op}: backend='mmcv' supports k <= "
                             f'{MMCV_MAX_K}, got k={k}')
        mmcv = False
    if mmcv:
        idx = _candidates_mmcv(k, ref, query)
    else:
        idx = _candidates_torch(k, ref, query)
    return _sort_neighbours(ref, query, idx)
