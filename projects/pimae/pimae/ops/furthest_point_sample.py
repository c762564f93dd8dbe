# Copyright (c) OpenMMLab. All rights reserved.
"""Furthest point sampling (FPS) with the semantics of pointnet2 / mmcv.

Semantics shared by every backend:

* the first sample is point 0 of each cloud (pointnet2_ops, mmcv and the
  official PiMAE all seed FPS at index 0);
* each next sample is the point whose squared distance to the samples taken
  so far is largest (a running-min buffer, as in the CUDA kernels);
* on exact ties the lowest index wins (``torch.argmax`` semantics) in the pure
  torch path. Once every point coincides with a sample (fewer distinct points
  than ``num_samples``) the remaining samples repeat index 0.

Backends:

* ``furthest_point_sample`` (tensors, batched): mmcv's CUDA kernel for CUDA
  tensors when mmcv was built with CUDA, else the pure torch loop.
* ``furthest_point_sample_numpy`` (arrays, for data-loader workers): the
  numba k-d tree FPS of :mod:`._kdtree_fps` (exact, index-identical to the
  torch loop including ties; about 2x faster than torch_quickfps for
  20000 -> 2048 on SUN RGB-D clouds on one CPU thread) when numba passes a
  self-check, else the ``torch_quickfps`` bucket FPS (exact and
  order-identical; 18x-28x faster than the loop, measured by
  ``tools/benchmarks/benchmark_point_ops.py``) when it is installed and passes
  a self-check, else the pure torch loop.

Differences on ties: mmcv's kernel and torch_quickfps may pick another point
among points at exactly equal distance (duplicates, lattices); the k-d tree
FPS follows the torch loop's lowest-index rule. The sampled
coordinates of duplicated points are the same; pass ``backend='torch'`` for the
strict lowest-index rule. Unlike pointnet2_ops, no backend here skips points
within ``sqrt(1e-3)`` of the origin (mmcv removed that check too); in SUN RGB-D
depth coordinates no real point lies that close to the camera.
"""
import functools
import warnings
from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor

from ._mmcv_backend import use_mmcv
from ._validation import check_backend, check_cloud, check_count

NUMPY_BACKENDS = ('auto', 'kdtree', 'quickfps', 'torch')
_TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def _distance_to_centre(xyz: Tensor) -> Callable[[Tensor], Tensor]:
    """Build the per-step distance computation of the FPS loop.

    On CPU the coordinates are kept as three contiguous (B, N) planes: each
    step then runs element-wise kernels on B*N values, below torch's
    intra-op parallel grain for PiMAE's sizes, so no thread fork/join is paid
    per step (2x faster on one thread than the (B, N, 3) layout, and far
    faster on a loaded machine). On a GPU the loop is launch-bound and the
    (B, N, 3) layout needs fewer kernels per step (1.5x faster on an H100).

    Args:
        xyz (Tensor): Coordinates, shape (B, N, 3).

    Returns:
        Callable[[Tensor], Tensor]: Maps centres (B, 1, 3) to squared
        distances (B, N), written into a buffer reused across calls.
    """
    sq_dist = xyz.new_empty(xyz.shape[:2])
    if xyz.device.type != 'cpu':
        diff = torch.empty_like(xyz)

        def packed(centre: Tensor) -> Tensor:
            torch.sub(xyz, centre, out=diff)
            return torch.sum(diff.square_(), dim=2, out=sq_dist)

        return packed
    planes = [plane.contiguous() for plane in xyz.unbind(dim=2)]
    delta = torch.empty_like(sq_dist)

    def planar(centre: Tensor) -> Tensor:
        torch.sub(planes[0], centre[:, :, 0], out=sq_dist).square_()
        for axis in (1, 2):
            torch.sub(planes[axis], centre[:, :, axis], out=delta)
            sq_dist.addcmul_(delta, delta)
        return sq_dist

    return planar


def _fps_torch(points: Tensor, num_samples: int) -> Tensor:
    """Pure torch FPS loop with a running-min buffer, no host sync.

    Args:
        points (Tensor): Validated coordinates, shape (B, N, 3).
        num_samples (int): Number of samples, 1 <= num_samples <= N.

    Returns:
        Tensor: Indices of dtype int64, shape (B, num_samples).
    """
    xyz = points.detach()
    if xyz.dtype not in (torch.float32, torch.float64):
        xyz = xyz.float()
    distance_to = _distance_to_centre(xyz)
    indices = xyz.new_zeros((xyz.shape[0], num_samples), dtype=torch.long)
    min_sq_dist = xyz.new_full(xyz.shape[:2], float('inf'))
    last = indices[:, :1]
    for i in range(1, num_samples):
        centre = xyz.gather(1, last.unsqueeze(-1).expand(-1, -1, 3))
        torch.minimum(min_sq_dist, distance_to(centre), out=min_sq_dist)
        last = min_sq_dist.argmax(dim=1, keepdim=True)
        indices[:, i:i + 1] = last
    return indices


def _fps_mmcv(points: Tensor, num_samples: int) -> Tensor:
    """FPS through ``mmcv.ops.furthest_point_sample`` (CUDA, float32).

    Args:
        points (Tensor): Validated coordinates on a GPU, shape (B, N, 3).
        num_samples (int): Number of samples.

    Returns:
        Tensor: Indices of dtype int64, shape (B, num_samples).
    """
    from mmcv.ops import furthest_point_sample as mmcv_fps
    xyz = points.detach().float().contiguous()
    return mmcv_fps(xyz, num_samples).long()


def furthest_point_sample(points: Tensor,
                          num_samples: int,
                          *,
                          backend: str = 'auto') -> Tensor:
    """Sample ``num_samples`` points per cloud by furthest point sampling.

    Only the three coordinates are used, so a cloud with extra feature
    channels is rejected rather than silently sampled in feature space: pass
    ``points[..., :3]``.

    Args:
        points (Tensor): Coordinates, shape (B, N, 3), floating point, finite.
        num_samples (int): Samples per cloud, 1 <= num_samples <= N.
        backend (str): 'auto' uses ``mmcv.ops.furthest_point_sample`` for
            CUDA tensors when mmcv has CUDA ops and the pure torch loop
            otherwise; 'mmcv' requires the mmcv kernel; 'torch' forces the
            loop. Defaults to 'auto'.

    Returns:
        Tensor: Indices into dimension 1 of ``points``, dtype int64, shape
        (B, num_samples), on the device of ``points``. Column 0 is 0.
    """
    op = 'furthest_point_sample'
    check_backend(op, backend)
    shape = check_cloud(op, 'points', points, check_finite=True)
    num_samples = check_count(
        op, 'num_samples', num_samples, shape[1],
        f'the number of points N of `points` with shape {shape}')
    if use_mmcv(op, points, backend):
        return _fps_mmcv(points, num_samples)
    return _fps_torch(points, num_samples)


@functools.lru_cache(maxsize=None)
def quickfps_available() -> bool:
    """Whether ``torch_quickfps`` is importable and exact here.

    The package is imported once, then checked against the pure torch loop on
    a fixed tie-free cloud (order of the indices included). A build that
    fails to load or disagrees is reported with a warning and not used.

    Returns:
        bool: True when ``torch_quickfps.sample_idx`` may be used.
    """
    try:
        import torch_quickfps
    except (ImportError, OSError, RuntimeError):
        return False
    generator = torch.Generator().manual_seed(0)
    cloud = torch.rand((2, 512, 3), generator=generator, dtype=torch.float64)
    expected = _fps_torch(cloud, 64)
    try:
        got = torch_quickfps.sample_idx(cloud, 64, start_idx=0).long()
    except RuntimeError as error:
        warnings.warn(f'torch_quickfps failed its self-check ({error}); '
                      'furthest_point_sample_numpy uses the torch loop')
        return False
    if not torch.equal(got, expected):
        warnings.warn('torch_quickfps disagrees with the exact FPS on its '
                      'self-check; furthest_point_sample_numpy uses the '
                      'torch loop')
        return False
    return True


@functools.lru_cache(maxsize=None)
def kdtree_available() -> bool:
    """Whether the numba k-d tree FPS is importable and exact here.

    numba is imported (and the kernels compiled or loaded from numba's cache)
    once, then the result is checked against the pure torch loop on a fixed
    cloud with duplicated points, for float32 and float64. A failure is
    reported with a warning and the k-d tree is not used.

    Returns:
        bool: True when ``backend='kdtree'`` may be used.
    """
    try:
        from ._kdtree_fps import kdtree_furthest_point_sample
    except ImportError:
        return False
    generator = torch.Generator().manual_seed(0)
    cloud = torch.rand((600, 3), generator=generator, dtype=torch.float64)
    cloud[300:] = cloud[:300]  # exact ties: the lowest index must win
    for dtype in (torch.float64, torch.float32):
        expected = _fps_torch(cloud.to(dtype)[None], 400)[0].numpy()
        try:
            got = kdtree_furthest_point_sample(
                cloud.to(dtype).numpy(), 400, leaf_size=8)
        except Exception as error:  # a numba compilation / runtime error
            warnings.warn(f'the k-d tree FPS failed its self-check ({error});'
                          ' furthest_point_sample_numpy uses another backend')
            return False
        if not np.array_equal(got, expected):
            warnings.warn('the k-d tree FPS disagrees with the exact FPS on '
                          'its self-check; furthest_point_sample_numpy uses '
                          'another backend')
            return False
    return True


def _as_float_array(points: np.ndarray) -> np.ndarray:
    """Return a NumPy cloud as float32 / float64, without copying when it
    already is one (any strides).

    Args:
        points (np.ndarray): Array of shape (N, 3) or (B, N, 3).

    Returns:
        np.ndarray: The same values, shape unchanged.
    """
    array = np.asarray(points)
    if array.dtype not in (np.float32, np.float64):
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError('furthest_point_sample_numpy: `points` must be '
                             f'numeric, got dtype {array.dtype}')
        array = array.astype(np.float32)
    return array


def furthest_point_sample_numpy(
        points: np.ndarray,
        num_samples: int,
        backend: str = 'auto',
        quickfps_bucket_height: Optional[int] = None) -> np.ndarray:
    """Furthest point sampling of NumPy clouds on the CPU.

    This is the fast path for the 20000 -> 2048 FPS inside data-loader
    workers. It has the semantics of :func:`furthest_point_sample` (start at
    index 0, squared Euclidean distances on the 3 coordinates).

    Args:
        points (np.ndarray): Coordinates, shape (N, 3) for one cloud or
            (B, N, 3) for a batch; float32 / float64 are used as they are,
            other numeric dtypes are converted to float32. Extra channels are
            rejected: pass ``points[..., :3]``.
        num_samples (int): Samples per cloud, 1 <= num_samples <= N.
        backend (str): 'auto' uses the numba k-d tree FPS when it passed
            its self-check (:func:`kdtree_available`), else
            ``torch_quickfps.sample_idx(..., start_idx=0)`` when it is
            installed and passed its self-check, else the pure torch loop;
            'kdtree' / 'quickfps' require those; 'torch' forces the loop.
            'kdtree' and 'torch' break ties to the lowest index. Defaults to
            'auto'.
        quickfps_bucket_height (int, optional): torch_quickfps's bucket height
            ``h``; None keeps its default (5). It changes only the speed:
            the result is the exact FPS for any value.

    Returns:
        np.ndarray: Indices of dtype int64, shape (num_samples,) for a single
        cloud or (B, num_samples) for a batch. Element 0 is 0.
    """
    op = 'furthest_point_sample_numpy'
    check_backend(op, backend, NUMPY_BACKENDS)
    array = _as_float_array(points)
    if array.ndim not in (2, 3):
        raise ValueError(f'{op}: `points` must have shape (N, 3) or '
                         f'(B, N, 3), got {tuple(array.shape)}')
    single = array.ndim == 2
    batched = array[None] if single else array
    # the shape checks on a data-less tensor of the same shape and dtype; the
    # finite check below (by the k-d tree while it copies the points)
    shape = check_cloud(
        op, 'points',
        torch.empty(batched.shape, dtype=_TORCH_DTYPES[batched.dtype.type],
                    device='meta'))
    not_finite = (f'{op}: `points` of shape {shape} contains NaN or Inf '
                  'coordinates')
    num_samples = check_count(
        op, 'num_samples', num_samples, shape[1],
        f'the number of points N of `points` with shape '
        f'{tuple(array.shape)}')
    if backend == 'kdtree' and not kdtree_available():
        raise RuntimeError(f"{op}: backend='kdtree' needs numba (installed "
                           'with mmdet3d), which is not importable or whose '
                           'k-d tree FPS failed its self-check')
    if backend == 'quickfps' and not quickfps_available():
        raise RuntimeError(f"{op}: backend='quickfps' needs torch_quickfps "
                           '(pip install torch-quickfps==2.1.0), which is '
                           'not importable or failed its self-check')
    if backend == 'auto':
        if kdtree_available():
            backend = 'kdtree'
        elif quickfps_available():
            backend = 'quickfps'
        else:
            backend = 'torch'
    if backend == 'kdtree':
        from ._kdtree_fps import kdtree_furthest_point_sample
        rows = [
            kdtree_furthest_point_sample(cloud, num_samples)
            for cloud in batched
        ]
        if any(row is None for row in rows):
            raise ValueError(not_finite)
        return rows[0] if single else np.stack(rows)
    if not np.isfinite(batched).all():
        raise ValueError(not_finite)
    cloud = torch.from_numpy(np.ascontiguousarray(batched))
    if backend == 'quickfps':
        import torch_quickfps
        indices = torch_quickfps.sample_idx(
            cloud, num_samples, h=quickfps_bucket_height, start_idx=0).long()
    else:
        indices = _fps_torch(cloud, num_samples)
    indices = indices[0] if single else indices
    return indices.numpy()
