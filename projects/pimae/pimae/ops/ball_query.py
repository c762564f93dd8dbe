# Copyright (c) OpenMMLab. All rights reserved.
"""Ball query with the semantics of pointnet2 / ``mmcv.ops.ball_query``.

For every query point the op returns ``num_samples`` indices of reference
points that lie strictly within ``radius`` (squared distance
``< radius ** 2``; a reference at distance 0 always counts):

* in-radius references are taken in ascending index order, the first
  ``num_samples`` of them;
* when fewer than ``num_samples`` are in radius, the remaining slots repeat
  the **first** in-radius index (pointnet2 / mmcv fill all slots with it
  before writing the others);
* when **none** is in radius, every slot is 0 (the kernels start from a
  zero-filled buffer). This cannot happen when the queries are a subset of
  the references, e.g. FPS centres of the same cloud, since a query is then
  at distance 0 of itself.

Backends: mmcv's CUDA kernel for CUDA tensors when mmcv was built with CUDA,
else a pure torch path (exact pairwise differences, processed in chunks of
queries so that memory stays bounded), which is also the test oracle.
"""
import torch
from torch import Tensor

from ._mmcv_backend import use_mmcv
from ._validation import check_backend, check_cloud, check_cloud_pair

#: Upper bound on the number of (query, reference) pairs held at once by the
#: pure torch path (about 64 MiB of float32 distances).
MAX_PAIRS_PER_CHUNK = 1 << 24


def _check_radius(op: str, radius: object) -> float:
    """Check that ``radius`` is a positive finite number.

    Args:
        op (str): Name of the calling op, used in the message.
        radius (object): The radius.

    Returns:
        float: The radius.
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, float)):
        raise ValueError(f'{op}: `radius` must be a number, got {radius!r}')
    radius = float(radius)
    if not radius > 0 or radius == float('inf'):
        raise ValueError(f'{op}: `radius` must be positive and finite, '
                         f'got {radius}')
    return radius


def _ball_query_torch(radius: float, num_samples: int, ref: Tensor,
                      query: Tensor) -> Tensor:
    """Pure torch ball query.

    Args:
        radius (float): Ball radius.
        num_samples (int): Indices per query.
        ref (Tensor): References, shape (B, N, 3).
        query (Tensor): Queries, shape (B, M, 3).

    Returns:
        Tensor: Indices of dtype int64, shape (B, M, num_samples).
    """
    batch_size, num_ref, _ = ref.shape
    num_query = query.shape[1]
    ref = ref.detach()
    query = query.detach()
    radius_sq = radius * radius
    position = torch.arange(num_ref, device=ref.device)
    # Out-of-radius references get the key N, which sorts after every index.
    sentinel = torch.full((), num_ref, device=ref.device, dtype=torch.long)
    take = min(num_samples, num_ref)
    chunk = max(1, MAX_PAIRS_PER_CHUNK // max(1, batch_size * num_ref))
    pieces = []
    for start in range(0, num_query, chunk):
        part = query[:, start:start + chunk]
        sq_dist = (part.unsqueeze(2) - ref.unsqueeze(1)).square().sum(-1)
        inside = (sq_dist < radius_sq) | (sq_dist == 0)
        key = torch.where(inside, position, sentinel)
        first = key.topk(take, dim=-1, largest=False, sorted=True).values
        pieces.append(first)
    keys = torch.cat(pieces, dim=1)
    if take < num_samples:
        pad = keys.new_full((batch_size, num_query, num_samples - take),
                            num_ref)
        keys = torch.cat([keys, pad], dim=-1)
    # Empty slots repeat the first in-radius index; no in-radius point at
    # all gives 0 everywhere.
    first_index = keys[..., :1]
    first_index = torch.where(first_index == num_ref,
                              torch.zeros_like(first_index), first_index)
    return torch.where(keys == num_ref, first_index.expand_as(keys), keys)


def _ball_query_mmcv(radius: float, num_samples: int, ref: Tensor,
                     query: Tensor) -> Tensor:
    """Ball query through ``mmcv.ops.ball_query`` (CUDA, float32).

    Args:
        radius (float): Ball radius.
        num_samples (int): Indices per query.
        ref (Tensor): References on a GPU, shape (B, N, 3).
        query (Tensor): Queries on a GPU, shape (B, M, 3).

    Returns:
        Tensor: Indices of dtype int64, shape (B, M, num_samples).
    """
    from mmcv.ops import ball_query as mmcv_ball_query
    idx = mmcv_ball_query(0., radius, num_samples,
                          ref.detach().float().contiguous(),
                          query.detach().float().contiguous())
    return idx.long()


def ball_query(radius: float,
               num_samples: int,
               ref: Tensor,
               query: Tensor,
               *,
               backend: str = 'auto') -> Tensor:
    """Find up to ``num_samples`` reference points within ``radius`` of
    every query point (PointNet++ grouping).

    See the module docstring for the exact semantics (ascending index order,
    the first in-radius index fills empty slots, all zeros when nothing is
    in radius). The indices are not differentiable; gather coordinates or
    features with :func:`gather_points`.

    Args:
        radius (float): Ball radius (> 0), in the units of the coordinates.
        num_samples (int): Indices per query (>= 1); may exceed N, the
            surplus slots then repeat the first in-radius index.
        ref (Tensor): Reference points, shape (B, N, 3), finite.
        query (Tensor): Query points, shape (B, M, 3), finite, same dtype
            and device as ``ref``.
        backend (str): 'auto' uses ``mmcv.ops.ball_query`` for CUDA tensors
            when mmcv has CUDA ops and the pure torch path otherwise;
            'mmcv' requires the mmcv kernel; 'torch' forces the pure path.
            Defaults to 'auto'.

    Returns:
        Tensor: Indices into dimension 1 of ``ref``, dtype int64, shape
        (B, M, num_samples), on the device of ``ref``.
    """
    op = 'ball_query'
    check_backend(op, backend)
    radius = _check_radius(op, radius)
    if isinstance(num_samples, bool) or not hasattr(num_samples,
                                                    '__index__'):
        raise ValueError(f'{op}: `num_samples` must be an integer, '
                         f'got {num_samples!r}')
    num_samples = int(num_samples)
    if num_samples < 1:
        raise ValueError(f'{op}: `num_samples` must be at least 1, '
                         f'got {num_samples}')
    check_cloud(op, 'ref', ref, check_finite=True)
    check_cloud(op, 'query', query, check_finite=True)
    check_cloud_pair(op, 'ref', ref, 'query', query)
    if use_mmcv(op, ref, backend):
        return _ball_query_mmcv(radius, num_samples, ref, query)
    return _ball_query_torch(radius, num_samples, ref, query)
