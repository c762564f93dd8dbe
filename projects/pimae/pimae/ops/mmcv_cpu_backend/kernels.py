# Copyright (c) OpenMMLab. All rights reserved.
"""CPU versions (PyTorch; NumPy for the FPS loop) of mmcv 2.1's CUDA-only
point kernels.

Each function reproduces what mmcv's CUDA kernel computes, read from its
source (``mmcv/ops/csrc/common/cuda/*_cuda_kernel.cuh``), including the parts
that callers can observe beyond the mathematical definition:

* index outputs are int32, index inputs must be int32 (the kernels read them
  with ``data_ptr<int>()``);
* furthest point sampling starts at index 0, keeps its running minimum in a
  buffer initialised to 1e10 and breaks ties between equally far points the
  way the kernel's thread layout does (see :func:`fps_scan_order`);
* ball query takes in-radius points in ascending index order, fills the
  slots of a short group with its first index and leaves an empty group all
  zeros; the radii are rounded to float32 as the kernel's ``float``
  parameters are;
* ``three_nn`` returns the square root of the kernel's squared distances,
  ties in index order, and index 0 at distance 1e40 (``inf`` in float32) in
  the slots for which there are fewer than three source points;
* points in boxes: a point is inside when ``|z - z_centre| <= z_size / 2``
  (inclusive) and strictly inside the rotated rectangle in x / y.

Coordinates are computed in the input's dtype with the kernels' order of
operations. A GPU may still differ in the last bit (nvcc contracts ``a * b +
c`` into one fused multiply-add and uses its own ``cosf``), which matters only
for points at exactly a radius or a box face.

The functions take and return the tensors that the corresponding mmcv
autograd ``Function`` / plain function takes and returns; the hooks in
:mod:`.register` call them for CPU tensors.

The project's own point ops (:mod:`..furthest_point_sample`,
:mod:`..ball_query`, :mod:`..gather_points`) are not reused: they serve
PiMAE's (B, N, C) layout with int64 indices, and their FPS breaks ties by
the lowest index from an infinite start distance and their ball query has no
inner radius and squares the radius in double precision, all of which differ
from mmcv's kernels in results a caller can see.
"""
import math
from typing import Tuple

import numpy as np
import torch
from torch import Tensor

#: Upper bound on (query, reference) pairs held at once by the pairwise ops,
#: i.e. about 64 MiB of float32 distances per chunk.
MAX_PAIRS_PER_CHUNK = 1 << 24

#: Coordinates as three (B, N) planes: x, y, z.
Planes = Tuple[Tensor, Tensor, Tensor]

#: Centres per ball-query slab: the centres are sorted by x and each group
#: of this many is compared only with the references in its x range.
CENTRES_PER_SLAB = 64

#: Initial value of the FPS running minimum (``temp`` in mmcv's wrapper).
FPS_INIT_DIST = 1e10

#: Initial best distance of the three_nn kernel (a C ``double``).
THREE_NN_INIT_DIST = 1e40

#: Feature dtypes accepted by the kernels (``AT_DISPATCH_FLOATING_TYPES_AND_
#: HALF``).
FLOAT_DTYPES = (torch.float16, torch.float32, torch.float64)


def _check_dtype(op: str, name: str, tensor: Tensor, allowed) -> None:
    """Raise a TypeError when ``tensor`` has a dtype mmcv's kernel rejects.

    Args:
        op (str): Name of the mmcv op, used in the message.
        name (str): Name of the argument.
        tensor (Tensor): The argument.
        allowed (tuple[torch.dtype]): Dtypes the CUDA kernel accepts.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f'{op}: `{name}` must be a torch.Tensor, got '
                        f'{type(tensor).__name__}')
    if tensor.dtype not in allowed:
        names = ', '.join(
            str(dtype).replace('torch.', '') for dtype in allowed)
        hint = ' (cast with `.int()`)' if allowed == (torch.int32, ) else ''
        raise TypeError(f'{op}: `{name}` must have dtype {names} as mmcv\'s '
                        f'CUDA kernel requires, got {tensor.dtype} with shape '
                        f'{tuple(tensor.shape)}{hint}')


def _check_dim(op: str, name: str, tensor: Tensor, dim: int,
               layout: str) -> None:
    """Raise a ValueError when ``tensor`` does not have ``dim`` dimensions.

    Args:
        op (str): Name of the mmcv op, used in the message.
        name (str): Name of the argument.
        tensor (Tensor): The argument.
        dim (int): Required number of dimensions.
        layout (str): The expected shape, e.g. '(B, N, 3)'.
    """
    if tensor.dim() != dim or (layout.endswith(', 3)')
                               and tensor.shape[-1] != 3):
        raise ValueError(f'{op}: `{name}` must have shape {layout}, got '
                         f'{tuple(tensor.shape)}')


def _check_same_device(op: str, *named: Tuple[str, Tensor]) -> None:
    """Raise a ValueError when the tensors are not on one device.

    Args:
        op (str): Name of the mmcv op, used in the message.
        *named (tuple[str, Tensor]): Argument names and tensors.
    """
    devices = {tensor.device for _, tensor in named}
    if len(devices) > 1:
        where = ', '.join(f'`{name}` on {tensor.device}'
                          for name, tensor in named)
        raise ValueError(f'{op}: inputs must be on one device, got {where}')


def _chunk_size(batch_size: int, num_ref: int) -> int:
    """Number of queries per chunk so that a chunk holds at most
    :data:`MAX_PAIRS_PER_CHUNK` pairs."""
    return max(1, MAX_PAIRS_PER_CHUNK // max(1, batch_size * num_ref))


def _planes(points: Tensor) -> Planes:
    """Split (B, N, 3) coordinates into three contiguous (B, N) planes."""
    return tuple(plane.contiguous() for plane in points.unbind(dim=2))


def _squared_distances(query: Planes, ref: Planes) -> Tensor:
    """Squared distances in the kernels' order of operations.

    Args:
        query (tuple[Tensor]): Query coordinate planes, each (B, M).
        ref (tuple[Tensor]): Reference coordinate planes, each (B, N), same
            dtype.

    Returns:
        Tensor: ``(dx * dx + dy * dy) + dz * dz`` in the input dtype, shape
        (B, M, N).
    """
    sq_dist = torch.sub(query[0].unsqueeze(2), ref[0].unsqueeze(1))
    sq_dist.mul_(sq_dist)
    diff = torch.empty_like(sq_dist)
    for axis in (1, 2):
        torch.sub(query[axis].unsqueeze(2), ref[axis].unsqueeze(1), out=diff)
        sq_dist.addcmul_(diff, diff)
    return sq_dist


# --------------------------------------------------------------------------
# Furthest point sampling
# --------------------------------------------------------------------------


def fps_num_threads(num_points: int) -> int:
    """Threads per block of mmcv's FPS kernels (``opt_n_threads``).

    Args:
        num_points (int): Points per cloud, N >= 1.

    Returns:
        int: The largest power of two <= N, capped at 1024.
    """
    pow_2 = int(math.log(float(num_points)) / math.log(2.0))
    return max(min(1 << pow_2, 1024), 1)


def fps_scan_order(num_points: int) -> Tensor:
    """The order in which mmcv's FPS kernels prefer equally far points.

    In each step, thread ``t`` of the block keeps the first point of its
    strided range ``t, t + T, t + 2T, ...`` with the largest distance, then a
    tree reduction compares slot ``t`` with slot ``t + h`` for
    ``h = T/2, ..., 1`` and keeps slot ``t`` on a tie. The last comparison
    prefers even threads, the one before it threads with bit 1 clear, and so
    on: among tied threads the winner has the smallest bit-reversed thread
    index. Sorting the points by (bit-reversed thread, position in the
    thread's range) gives an order in which "the first point with the
    largest distance" is the kernel's choice.

    Args:
        num_points (int): Points per cloud, N >= 1.

    Returns:
        Tensor: Permutation of ``range(N)`` (int64, CPU): the kernel prefers
        ``order[i]`` over ``order[j]`` for i < j at equal distance.
    """
    threads = fps_num_threads(num_points)
    bits = threads.bit_length() - 1
    index = torch.arange(num_points)
    thread = index % threads
    reversed_thread = torch.zeros_like(thread)
    for bit in range(bits):
        reversed_thread |= ((thread >> bit) & 1) << (bits - 1 - bit)
    rounds = -(-num_points // threads)
    key = reversed_thread * rounds + index // threads
    return key.argsort()


def furthest_point_sample(points_xyz: Tensor, num_points: int) -> Tensor:
    """CPU version of ``mmcv.ops.furthest_point_sample``.

    Args:
        points_xyz (Tensor): Coordinates, shape (B, N, 3), float32,
            contiguous.
        num_points (int): Samples per cloud. Values above N repeat index 0
            once every point is taken, as the kernel does.

    Returns:
        Tensor: Indices of dtype int32, shape (B, num_points); column 0 is 0.
    """
    op = 'furthest_point_sample'
    assert points_xyz.is_contiguous()
    _check_dtype(op, 'points_xyz', points_xyz, (torch.float32, ))
    _check_dim(op, 'points_xyz', points_xyz, 3, '(B, N, 3)')
    batch_size, num_total = points_xyz.shape[:2]
    num_points = int(num_points)
    output = points_xyz.new_zeros((batch_size, max(num_points, 0)),
                                  dtype=torch.int32)
    if num_points <= 0 or batch_size == 0:
        return output
    if num_total == 0:
        raise ValueError(f'{op}: `points_xyz` has no points, shape '
                         f'{tuple(points_xyz.shape)}')
    order = fps_scan_order(num_total)
    position_of = torch.empty_like(order)
    position_of[order] = torch.arange(num_total)
    # A NumPy loop over the samples: the per-step work is ten element-wise
    # calls on (B, N), where NumPy's smaller per-call overhead made it 1.5x
    # (B = 8) to 3.7x (B = 1) faster than the same loop in torch for
    # 20000 -> 2048 on one thread. Same float32 operations and order.
    xyz = points_xyz.detach()[:, order].numpy()
    planes = [np.ascontiguousarray(xyz[..., axis]) for axis in range(3)]
    min_sq_dist = np.full((batch_size, num_total), FPS_INIT_DIST, np.float32)
    sq_dist = np.empty_like(min_sq_dist)
    diff = np.empty_like(min_sq_dist)
    rows = np.arange(batch_size)
    positions = np.empty((batch_size, num_points), np.int64)
    positions[:, 0] = int(position_of[0])
    for i in range(1, num_points):
        last = positions[:, i - 1]
        np.subtract(planes[0], planes[0][rows, last][:, None], out=sq_dist)
        np.multiply(sq_dist, sq_dist, out=sq_dist)
        for axis in (1, 2):
            np.subtract(
                planes[axis], planes[axis][rows, last][:, None], out=diff)
            np.multiply(diff, diff, out=diff)
            np.add(sq_dist, diff, out=sq_dist)
        np.minimum(min_sq_dist, sq_dist, out=min_sq_dist)
        positions[:, i] = min_sq_dist.argmax(axis=1)
    output.copy_(order[torch.from_numpy(positions)])
    return output


def furthest_point_sample_with_dist(points_dist: Tensor,
                                    num_points: int) -> Tensor:
    """CPU version of ``mmcv.ops.furthest_point_sample_with_dist``.

    Args:
        points_dist (Tensor): Pairwise distances, shape (B, N, N), float32,
            contiguous; row i holds the distances from point i.
        num_points (int): Samples per cloud.

    Returns:
        Tensor: Indices of dtype int32, shape (B, num_points); column 0 is 0.
    """
    op = 'furthest_point_sample_with_dist'
    assert points_dist.is_contiguous()
    _check_dtype(op, 'points_dist', points_dist, (torch.float32, ))
    if points_dist.dim() != 3 or points_dist.shape[1] != points_dist.shape[2]:
        raise ValueError(f'{op}: `points_dist` must have shape (B, N, N), '
                         f'got {tuple(points_dist.shape)}')
    batch_size, num_total, _ = points_dist.shape
    num_points = int(num_points)
    output = points_dist.new_zeros((batch_size, max(num_points, 0)),
                                   dtype=torch.int32)
    if num_points <= 0 or batch_size == 0:
        return output
    if num_total == 0:
        raise ValueError(f'{op}: `points_dist` has no points, shape '
                         f'{tuple(points_dist.shape)}')
    order = fps_scan_order(num_total)
    # Columns in the kernel's preference order, rows by point index.
    dist = points_dist.detach()[:, :, order]
    min_dist = dist.new_full((batch_size, num_total), FPS_INIT_DIST)
    chosen = torch.zeros((batch_size, num_points), dtype=torch.long)
    last = chosen[:, :1].clone()
    for i in range(1, num_points):
        row = dist.gather(1, last.unsqueeze(-1).expand(-1, -1, num_total))
        torch.minimum(min_dist, row.squeeze(1), out=min_dist)
        last = order[min_dist.argmax(dim=1, keepdim=True)]
        chosen[:, i:i + 1] = last
    output.copy_(chosen)
    return output


# --------------------------------------------------------------------------
# Ball query and grouping
# --------------------------------------------------------------------------


def _float32_square(value: float) -> float:
    """``value * value`` computed the way the kernel computes it: the radius
    is a C ``float`` and so is its square."""
    as_float = torch.tensor(value, dtype=torch.float32)
    return float(as_float * as_float)


def ball_query(min_radius: float, max_radius: float, sample_num: int,
               xyz: Tensor, center_xyz: Tensor) -> Tensor:
    """CPU version of ``mmcv.ops.ball_query`` (batched form).

    A point ``k`` belongs to the ball of a centre when its squared distance
    ``d2`` satisfies ``d2 == 0 or min_radius**2 <= d2 < max_radius**2``.

    Args:
        min_radius (float): Inner radius (0 for a full ball).
        max_radius (float): Outer radius.
        sample_num (int): Indices per centre (>= 1).
        xyz (Tensor): Points, shape (B, N, 3), contiguous.
        center_xyz (Tensor): Centres, shape (B, M, 3), contiguous, same
            dtype as ``xyz``.

    Returns:
        Tensor: Indices of dtype int32, shape (B, M, sample_num): the first
        ``sample_num`` in-ball points in ascending index order, the first of
        them repeated in the remaining slots, all zeros for an empty ball.
    """
    op = 'ball_query'
    _check_dtype(op, 'xyz', xyz, FLOAT_DTYPES)
    _check_dtype(op, 'center_xyz', center_xyz, (xyz.dtype, ))
    _check_dim(op, 'xyz', xyz, 3, '(B, N, 3)')
    _check_dim(op, 'center_xyz', center_xyz, 3, '(B, M, 3)')
    _check_same_device(op, ('xyz', xyz), ('center_xyz', center_xyz))
    if xyz.shape[0] != center_xyz.shape[0]:
        raise ValueError(f'{op}: batch sizes differ: `xyz` has shape '
                         f'{tuple(xyz.shape)} and `center_xyz` has shape '
                         f'{tuple(center_xyz.shape)}')
    sample_num = int(sample_num)
    if sample_num < 1:
        raise ValueError(f'{op}: `sample_num` must be at least 1, got '
                         f'{sample_num}')
    batch_size, num_ref, _ = xyz.shape
    num_query = center_xyz.shape[1]
    output = xyz.new_zeros((batch_size, num_query, sample_num),
                           dtype=torch.int32)
    if num_ref == 0 or num_query == 0 or batch_size == 0:
        return output
    # The kernel compares a T distance with float radii, in the wider type.
    compare_dtype = torch.float64 if xyz.dtype == torch.float64 \
        else torch.float32
    radii2 = (_float32_square(min_radius), _float32_square(max_radius))
    # A point in the ball has |dx| < max_radius up to rounding; the slab of
    # references searched for a group of centres is wider by 1 %.
    margin = abs(float(torch.tensor(max_radius, dtype=torch.float32))) * 1.01
    for batch in range(batch_size):
        refs = _planes(xyz.detach()[batch:batch + 1])
        ref_x = refs[0][0].double()
        centres = _planes(center_xyz.detach()[batch:batch + 1])
        by_x = centres[0][0].argsort()
        for start in range(0, num_query, CENTRES_PER_SLAB):
            rows = by_x[start:start + CENTRES_PER_SLAB]
            centre_x = centres[0][0, rows].double()
            centre_x = centre_x[~centre_x.isnan()]
            if centre_x.numel() == 0:
                continue  # NaN centres: nothing is in their ball
            low = float(centre_x.min()) - margin
            high = float(centre_x.max()) + margin
            slab = ((ref_x >= low) & (ref_x <= high)).nonzero().squeeze(1)
            if slab.numel() == 0:
                continue
            local, found = _ball_query_dense(
                tuple(plane[:, rows] for plane in centres),
                tuple(plane[:, slab] for plane in refs), sample_num, radii2,
                compare_dtype)
            output[batch, rows] = torch.where(found > 0, slab[local],
                                              0).to(torch.int32)[0]
    return output


def _ball_query_dense(centres: Planes, refs: Planes, sample_num: int,
                      radii2: Tuple[float, float],
                      compare_dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    """Ball query of a few centres against all given references.

    The references are scanned in blocks of growing size, in index order,
    and the scan stops once every centre has ``sample_num`` points (the
    kernel's ``break``), so dense clouds cost one small block.

    Args:
        centres (tuple[Tensor]): Centre coordinate planes, each (B, M).
        refs (tuple[Tensor]): Reference coordinate planes, each (B, N), in
            ascending index order.
        sample_num (int): Indices per centre.
        radii2 (tuple[float, float]): Squared inner and outer radius, as
            float32 values.
        compare_dtype (torch.dtype): Dtype of the radius comparison.

    Returns:
        tuple[Tensor, Tensor]: Positions into ``refs`` (int64, shape
        (B, M, sample_num)), the first one repeated in the slots beyond the
        found count, and the found count, capped at no less than
        ``sample_num`` (B, M, 1).
    """
    min_radius2, max_radius2 = radii2
    num_ref = refs[0].shape[1]
    local = torch.zeros(centres[0].shape + (sample_num, ), dtype=torch.long)
    found = torch.zeros(centres[0].shape + (1, ), dtype=torch.int32)
    start, block = 0, max(512, 4 * sample_num)
    while start < num_ref:
        stop = min(num_ref, start + block)
        sq_dist = _squared_distances(
            centres,
            tuple(plane[:, start:stop] for plane in refs)).to(compare_dtype)
        inside = sq_dist < max_radius2
        if min_radius2 > 0:
            inside &= sq_dist >= min_radius2
        if min_radius2 > 0 or max_radius2 == 0:
            inside |= sq_dist == 0
        del sq_dist
        rank = inside.cumsum(dim=-1, dtype=torch.int32).add_(found)
        batch, centre, point = (inside &
                                (rank <= sample_num)).nonzero(as_tuple=True)
        local[batch, centre, rank[batch, centre, point].long() - 1] = \
            point + start
        found = rank[..., -1:]
        if bool((found >= sample_num).all()):
            break
        start, block = stop, block * 4
    slots = torch.arange(sample_num)
    return torch.where(slots < found, local, local[..., :1]), found


def gather_points_forward(features: Tensor, indices: Tensor) -> Tensor:
    """CPU version of ``GatherPoints.forward``.

    Args:
        features (Tensor): Features, shape (B, C, N).
        indices (Tensor): int32 indices, shape (B, M).

    Returns:
        Tensor: ``features[b, :, indices[b]]``, shape (B, C, M).
    """
    op = 'gather_points'
    _check_dtype(op, 'features', features, FLOAT_DTYPES)
    _check_dtype(op, 'indices', indices, (torch.int32, ))
    _check_dim(op, 'features', features, 3, '(B, C, N)')
    _check_dim(op, 'indices', indices, 2, '(B, M)')
    _check_same_device(op, ('features', features), ('indices', indices))
    batch_size, num_gathered = indices.shape
    channels = features.shape[1]
    index = indices.long().unsqueeze(1).expand(batch_size, channels,
                                               num_gathered)
    return features.gather(2, index)


def gather_points_backward(grad_out: Tensor, indices: Tensor,
                           num_points: int) -> Tensor:
    """CPU version of ``GatherPoints.backward``: sum the gradients of every
    copy of a point.

    Args:
        grad_out (Tensor): Gradient of the output, shape (B, C, M).
        indices (Tensor): int32 indices of the forward, shape (B, M).
        num_points (int): N of the forward's features.

    Returns:
        Tensor: Gradient of the features, shape (B, C, N).
    """
    batch_size, channels, num_gathered = grad_out.shape
    index = indices.long().unsqueeze(1).expand(batch_size, channels,
                                               num_gathered)
    grad_features = grad_out.new_zeros((batch_size, channels, num_points))
    return grad_features.scatter_add_(2, index, grad_out.contiguous())


def grouping_forward(features: Tensor, indices: Tensor) -> Tensor:
    """CPU version of ``GroupingOperation.forward`` (batched form).

    Args:
        features (Tensor): Features, shape (B, C, N).
        indices (Tensor): int32 indices, shape (B, M, S).

    Returns:
        Tensor: ``out[b, c, m, s] = features[b, c, indices[b, m, s]]``,
        shape (B, C, M, S).
    """
    op = 'grouping_operation'
    _check_dtype(op, 'features', features, FLOAT_DTYPES)
    _check_dtype(op, 'indices', indices, (torch.int32, ))
    _check_dim(op, 'features', features, 3, '(B, C, N)')
    _check_dim(op, 'indices', indices, 3, '(B, M, S)')
    _check_same_device(op, ('features', features), ('indices', indices))
    batch_size, num_groups, group_size = indices.shape
    channels = features.shape[1]
    index = indices.long().reshape(batch_size, 1,
                                   -1).expand(batch_size, channels,
                                              num_groups * group_size)
    grouped = features.gather(2, index)
    return grouped.view(batch_size, channels, num_groups, group_size)


def grouping_backward(grad_out: Tensor, indices: Tensor,
                      num_points: int) -> Tensor:
    """CPU version of ``GroupingOperation.backward`` (batched form).

    Args:
        grad_out (Tensor): Gradient of the output, shape (B, C, M, S).
        indices (Tensor): int32 indices of the forward, shape (B, M, S).
        num_points (int): N of the forward's features.

    Returns:
        Tensor: Gradient of the features, shape (B, C, N).
    """
    batch_size, channels = grad_out.shape[:2]
    grad = grad_out.reshape(batch_size, channels, -1)
    index = indices.long().reshape(batch_size, 1, -1).expand_as(grad)
    grad_features = grad_out.new_zeros((batch_size, channels, num_points))
    return grad_features.scatter_add_(2, index, grad)


# --------------------------------------------------------------------------
# Three nearest neighbours and interpolation
# --------------------------------------------------------------------------


def three_nn(target: Tensor, source: Tensor) -> Tuple[Tensor, Tensor]:
    """CPU version of ``mmcv.ops.three_nn``.

    Args:
        target (Tensor): Points that get neighbours, shape (B, N, 3).
        source (Tensor): Candidate neighbours, shape (B, M, 3), same dtype.

    Returns:
        tuple[Tensor, Tensor]:

        - dist (Tensor): Euclidean (not squared) distances to the three
          nearest sources, ascending, shape (B, N, 3), dtype of ``target``.
        - idx (Tensor): Their int32 indices, shape (B, N, 3); among equal
          distances the lower index comes first; slots without a source
          (M < 3) hold index 0 at distance sqrt(1e40) (inf in float32).
    """
    op = 'three_nn'
    _check_dtype(op, 'target', target, FLOAT_DTYPES)
    _check_dtype(op, 'source', source, (target.dtype, ))
    _check_dim(op, 'target', target, 3, '(B, N, 3)')
    _check_dim(op, 'source', source, 3, '(B, M, 3)')
    _check_same_device(op, ('target', target), ('source', source))
    if target.shape[0] != source.shape[0]:
        raise ValueError(f'{op}: batch sizes differ: `target` has shape '
                         f'{tuple(target.shape)} and `source` has shape '
                         f'{tuple(source.shape)}')
    batch_size, num_target, _ = target.shape
    num_source = source.shape[1]
    # The kernel's running best is a double initialised to 1e40; a slot that
    # no source beats keeps it (inf once written back to float32 / half).
    unset = torch.tensor(
        THREE_NN_INIT_DIST, dtype=torch.float64).to(target.dtype)
    dist2 = unset.expand(batch_size, num_target, 3).clone()
    idx = target.new_zeros((batch_size, num_target, 3), dtype=torch.int32)
    if num_source == 0 or num_target == 0:
        return dist2.sqrt(), idx
    inf = float('inf')
    ref = _planes(source.detach())
    targets = _planes(target.detach())
    chunk = _chunk_size(batch_size, num_source)
    for start in range(0, num_target, chunk):
        sq_dist = _squared_distances(
            tuple(plane[:, start:start + chunk] for plane in targets), ref)
        # Only d < 1e40 enters the kernel's insertion (NaN, inf never do).
        sq_dist.masked_fill_(~(sq_dist < THREE_NN_INIT_DIST), inf)
        for slot in range(min(3, num_source)):
            nearest = sq_dist.argmin(dim=-1, keepdim=True)
            best = sq_dist.gather(-1, nearest)
            valid = best < inf
            dist2[:, start:start + chunk,
                  slot:slot + 1] = torch.where(valid, best, unset)
            idx[:, start:start + chunk,
                slot:slot + 1] = torch.where(valid, nearest, 0).to(torch.int32)
            sq_dist.scatter_(-1, nearest, inf)
    return dist2.sqrt(), idx


def three_interpolate_forward(features: Tensor, indices: Tensor,
                              weight: Tensor) -> Tensor:
    """CPU version of ``ThreeInterpolate.forward``.

    Args:
        features (Tensor): Source features, shape (B, C, M).
        indices (Tensor): int32 indices of three sources per target, shape
            (B, N, 3).
        weight (Tensor): Their weights, shape (B, N, 3), dtype of
            ``features``.

    Returns:
        Tensor: ``w0 * f[i0] + w1 * f[i1] + w2 * f[i2]`` (in this order),
        shape (B, C, N).
    """
    op = 'three_interpolate'
    _check_dtype(op, 'features', features, FLOAT_DTYPES)
    _check_dtype(op, 'indices', indices, (torch.int32, ))
    _check_dtype(op, 'weight', weight, (features.dtype, ))
    _check_dim(op, 'features', features, 3, '(B, C, M)')
    _check_dim(op, 'indices', indices, 3, '(B, N, 3)')
    _check_dim(op, 'weight', weight, 3, '(B, N, 3)')
    _check_same_device(op, ('features', features), ('indices', indices),
                       ('weight', weight))
    if indices.shape != weight.shape:
        raise ValueError(f'{op}: `indices` and `weight` must have the same '
                         f'shape (B, N, 3), got {tuple(indices.shape)} and '
                         f'{tuple(weight.shape)}')
    batch_size, channels = features.shape[:2]
    num_target = indices.shape[1]
    index = indices.long().reshape(batch_size, 1,
                                   -1).expand(batch_size, channels,
                                              num_target * 3)
    gathered = features.gather(2, index).view(batch_size, channels, num_target,
                                              3)
    weight = weight.unsqueeze(1)
    output = weight[..., 0] * gathered[..., 0]
    for slot in (1, 2):
        output += weight[..., slot] * gathered[..., slot]
    return output.contiguous()


def three_interpolate_backward(grad_out: Tensor, indices: Tensor,
                               weight: Tensor, num_source: int) -> Tensor:
    """CPU version of ``ThreeInterpolate.backward`` (features only; mmcv
    gives no gradient to the weights).

    Args:
        grad_out (Tensor): Gradient of the output, shape (B, C, N).
        indices (Tensor): int32 indices of the forward, shape (B, N, 3).
        weight (Tensor): Weights of the forward, shape (B, N, 3).
        num_source (int): M of the forward's features.

    Returns:
        Tensor: Gradient of the features, shape (B, C, M).
    """
    batch_size, channels, num_target = grad_out.shape
    contribution = grad_out.unsqueeze(-1) * weight.unsqueeze(1)
    contribution = contribution.reshape(batch_size, channels, num_target * 3)
    index = indices.long().reshape(batch_size, 1, -1).expand_as(contribution)
    grad_features = grad_out.new_zeros((batch_size, channels, num_source))
    return grad_features.scatter_add_(2, index, contribution)


# --------------------------------------------------------------------------
# Points in boxes
# --------------------------------------------------------------------------


def _check_points_boxes(points: Tensor, boxes: Tensor) -> None:
    """mmcv's checks of ``points_in_boxes_*`` plus the dtype contract of its
    CUDA kernels (points read with the boxes' dtype)."""
    assert boxes.shape[0] == points.shape[0], \
        'Points and boxes should have the same batch size, ' \
        f'but got {points.shape[0]} and {boxes.shape[0]}'
    assert boxes.shape[2] == 7, \
        'boxes dimension should be 7, ' \
        f'but got unexpected shape {boxes.shape[2]}'
    assert points.shape[2] == 3, \
        'points dimension should be 3, ' \
        f'but got unexpected shape {points.shape[2]}'
    assert points.device == boxes.device, \
        'Points and boxes should be put on the same device'
    op = 'points_in_boxes'
    _check_dtype(op, 'boxes', boxes, FLOAT_DTYPES)
    _check_dtype(op, 'points', points, (boxes.dtype, ))


def _inside_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """Which point lies in which box, as ``check_pt_in_box3d`` decides.

    Args:
        points (Tensor): Points, shape (B, M, 3).
        boxes (Tensor): Boxes (x, y, z of the bottom centre, x_size, y_size,
            z_size, yaw), shape (B, T, 7), same dtype.

    Returns:
        Tensor: Booleans, shape (B, M, T).
    """
    pts = points.unsqueeze(2)
    box = boxes.unsqueeze(1)
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    centre_x, centre_y = box[..., 0], box[..., 1]
    x_size, y_size, z_size, yaw = box[..., 3], box[..., 4], box[..., 5], \
        box[..., 6]
    centre_z = box[..., 2] + z_size / 2
    # fabsf: the kernel takes |z - cz| in float; compare in double.
    z_gap = (z - centre_z).float().abs().double()
    inside = z_gap <= z_size.double() / 2
    cos, sin = torch.cos(-yaw), torch.sin(-yaw)
    shift_x, shift_y = x - centre_x, y - centre_y
    local_x = shift_x * cos + shift_y * (-sin)
    local_y = shift_x * sin + shift_y * cos
    inside &= (local_x > -x_size / 2) & (local_x < x_size / 2)
    inside &= (local_y > -y_size / 2) & (local_y < y_size / 2)
    return inside


def _points_in_boxes_chunks(points: Tensor, boxes: Tensor):
    """Yield (start, inside) over chunks of points, ``inside`` of shape
    (B, chunk, T)."""
    batch_size, num_points = points.shape[:2]
    chunk = _chunk_size(batch_size * 8, boxes.shape[1])
    for start in range(0, num_points, chunk):
        yield start, _inside_boxes(points[:, start:start + chunk], boxes)


def points_in_boxes_all(points: Tensor, boxes: Tensor) -> Tensor:
    """CPU version of ``mmcv.ops.points_in_boxes_all``.

    Args:
        points (Tensor): Points, shape (B, M, 3).
        boxes (Tensor): Boxes, shape (B, T, 7): bottom centre, sizes, yaw.

    Returns:
        Tensor: int32 of shape (B, M, T), 1 where point m is in box t.
    """
    _check_points_boxes(points, boxes)
    batch_size, num_points = points.shape[:2]
    output = points.new_zeros((batch_size, num_points, boxes.shape[1]),
                              dtype=torch.int32)
    points, boxes = points.detach(), boxes.detach()
    for start, inside in _points_in_boxes_chunks(points, boxes):
        output[:, start:start + inside.shape[1]] = inside
    return output


def points_in_boxes_part(points: Tensor, boxes: Tensor) -> Tensor:
    """CPU version of ``mmcv.ops.points_in_boxes_part``.

    Args:
        points (Tensor): Points, shape (B, M, 3).
        boxes (Tensor): Boxes, shape (B, T, 7): bottom centre, sizes, yaw.

    Returns:
        Tensor: int32 of shape (B, M): the first box (lowest index) that
        holds the point, -1 for none.
    """
    _check_points_boxes(points, boxes)
    batch_size, num_points = points.shape[:2]
    output = points.new_full((batch_size, num_points), -1, dtype=torch.int32)
    if boxes.shape[1] == 0:
        return output
    points, boxes = points.detach(), boxes.detach()
    for start, inside in _points_in_boxes_chunks(points, boxes):
        first = inside.to(torch.uint8).argmax(dim=-1)
        output[:, start:start + inside.shape[1]] = torch.where(
            inside.any(dim=-1), first, -1)
    return output
