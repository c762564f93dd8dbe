# Copyright (c) OpenMMLab. All rights reserved.
"""Exact furthest point sampling on one CPU thread with a k-d tree (numba).

The FPS loop keeps, for every point, its squared distance to the nearest
sample taken so far (``min_sq_dist``); each step picks the point where it is
largest. A step can only lower ``min_sq_dist`` of points closer to the new
sample than their current value, so the points are grouped into the leaves
of a k-d tree and every node keeps the bounding box of its points and the
largest ``min_sq_dist`` below it (with the point holding it). A step visits a
node only if the box's squared distance to the new sample is below that
maximum; the other nodes cannot change. The root then names the next sample.

The result is the exact FPS of the pure torch loop, index for index and on
ties too (the lowest index among equal maxima wins, at every node): the
distances are computed in the input's dtype in the torch loop's order,
``((dx * dx) + (dy * dy)) + (dz * dz)``, without fused multiply-adds, and
the pruning test carries a relative margin of 1e-5 (far above the
``~4 * 2 ** -24`` relative rounding error of that sum) so that a node is
skipped only when none of its rounded distances can be below its maximum.

The functions are compiled by numba (installed with mmdet3d) on first use and
cached on disk next to this file (or in numba's user cache directory).
"""
from typing import Optional

import numpy as np
from numba import njit

# Relative slack of the pruning test, see the module docstring.
_PRUNE_MARGIN = 1.0 - 1e-5
# Points per leaf aimed at; 128 was the fastest of 32 / 64 / 128 / 256 for
# 20000 -> 2048 on SUN RGB-D clouds.
LEAF_SIZE = 128
# Points read per node to pick the split axis and the split value.
_SPLIT_SAMPLE = 31


@njit(nogil=True, cache=True)
def _build_tree(xyz: np.ndarray, depth: int):
    """Split the points into ``2 ** depth`` leaves of a balanced k-d tree.

    Every node is split along the axis of largest extent of a strided sample
    of its points at that sample's median (one branch-free partition pass per
    level, moving only the point indices; the coordinates are gathered into
    leaf order once at the end). Any split keeps the FPS exact; the choice
    only affects speed. The nodes are stored as a heap: node ``k`` has
    children ``2k+1`` and ``2k+2``, the leaves are the last ``2 ** depth``
    nodes.

    Args:
        xyz (np.ndarray): Coordinates, shape (N, 3), float32 or float64.
        depth (int): Tree depth, >= 0.

    Returns:
        tuple: ``finite`` (bool, False when ``xyz`` holds NaN or Inf), then
        the tree: ``xs, ys, zs`` (N, ) coordinates in leaf order, ``ids``
        (N, ) their indices into ``xyz``, ``starts, ends`` (num_nodes, )
        point ranges of the nodes, ``lows, highs`` (num_nodes, 3) float64
        bounding boxes (empty leaves get +inf / -inf).
    """
    n = xyz.shape[0]
    check = 0.0
    for j in range(n):
        check += ((xyz[j, 0] - xyz[j, 0]) + (xyz[j, 1] - xyz[j, 1]) +
                  (xyz[j, 2] - xyz[j, 2]))
    if check != 0.0:
        depth = 0  # no tree is built for a cloud with NaN / Inf
    src_ids = np.arange(n).astype(np.int32)
    dst_ids = np.empty(n, np.int32)
    num_nodes = (1 << (depth + 1)) - 1
    starts = np.empty(num_nodes, np.int64)
    ends = np.empty(num_nodes, np.int64)
    starts[0] = 0
    ends[0] = n
    sample = np.empty(_SPLIT_SAMPLE, xyz.dtype)
    for level in range(depth):
        for k in range((1 << level) - 1, (1 << (level + 1)) - 1):
            s = starts[k]
            e = ends[k]
            count = e - s
            split = s + (count >> 1)
            if count >= 2:
                m = min(_SPLIT_SAMPLE, count)
                step = count // m
                widest = -1.0
                axis = 0
                for a in range(3):
                    low = xyz[src_ids[s], a]
                    high = low
                    for t in range(m):
                        v = xyz[src_ids[s + t * step], a]
                        low = v if v < low else low
                        high = v if v > high else high
                    if high - low > widest:
                        widest = high - low
                        axis = a
                for t in range(m):
                    sample[t] = xyz[src_ids[s + t * step], axis]
                pivot = np.sort(sample[:m])[m >> 1]
                left = s
                right = e - 1
                for j in range(s, e):
                    i = src_ids[j]
                    go_left = np.int64(xyz[i, axis] < pivot)
                    p = right + (left - right) * go_left
                    dst_ids[p] = i
                    left += go_left
                    right += go_left - 1
                if s < left < e:
                    split = left
                # else every key equals the pivot: keep the middle split
            else:
                for j in range(s, e):
                    dst_ids[j] = src_ids[j]
            c = 2 * k + 1
            starts[c] = s
            ends[c] = split
            starts[c + 1] = split
            ends[c + 1] = e
        src_ids, dst_ids = dst_ids, src_ids
    xs = np.empty(n, xyz.dtype)
    ys = np.empty(n, xyz.dtype)
    zs = np.empty(n, xyz.dtype)
    ids = np.empty(n, np.int64)
    for j in range(n):
        i = src_ids[j]
        xs[j] = xyz[i, 0]
        ys[j] = xyz[i, 1]
        zs[j] = xyz[i, 2]
        ids[j] = i
    lows = np.empty((num_nodes, 3))
    highs = np.empty((num_nodes, 3))
    first_leaf = num_nodes >> 1
    planes = (xs, ys, zs)
    for k in range(first_leaf, num_nodes):
        for a in range(3):
            row = planes[a][starts[k]:ends[k]]
            if row.shape[0] == 0:
                lows[k, a] = np.inf
                highs[k, a] = -np.inf
                continue
            low = row[0]
            high = low
            for j in range(1, row.shape[0]):
                v = row[j]
                low = v if v < low else low
                high = v if v > high else high
            lows[k, a] = low
            highs[k, a] = high
    for k in range(first_leaf - 1, -1, -1):
        for a in range(3):
            lows[k, a] = min(lows[2 * k + 1, a], lows[2 * k + 2, a])
            highs[k, a] = max(highs[2 * k + 1, a], highs[2 * k + 2, a])
    return (check == 0.0, xs, ys, zs, ids, starts, ends, lows, highs)


@njit(nogil=True, cache=True)
def _sample_tree(xyz, num_samples, xs, ys, zs, ids, starts, ends, lows,
                 highs, margin):
    """Run FPS from index 0 over a tree of :func:`_build_tree`.

    Args:
        xyz (np.ndarray): Coordinates, shape (N, 3).
        num_samples (int): Number of samples, 1 <= num_samples <= N.
        xs, ys, zs, ids, starts, ends, lows, highs: The tree.
        margin (float): Relative slack of the pruning test (< 1).

    Returns:
        np.ndarray: Indices into ``xyz``, int64, shape (num_samples, ).
    """
    n = xs.shape[0]
    num_nodes = starts.shape[0]
    first_leaf = num_nodes >> 1
    min_sq_dist = np.full(n, np.inf, xs.dtype)
    node_max = np.full(num_nodes, np.inf)
    node_arg = np.zeros(num_nodes, np.int64)
    out = np.zeros(num_samples, np.int64)
    # depth-first, children after parents; -k-1 marks "merge node k"
    stack = np.empty(3 * 64, np.int64)
    last = 0
    for i in range(1, num_samples):
        cx = xyz[last, 0]
        cy = xyz[last, 1]
        cz = xyz[last, 2]
        cx64 = np.float64(cx)
        cy64 = np.float64(cy)
        cz64 = np.float64(cz)
        stack[0] = 0
        top = 1
        while top > 0:
            top -= 1
            k = stack[top]
            if k < 0:
                k = -k - 1
                a = 2 * k + 1
                b = a + 1
                ma = node_max[a]
                mb = node_max[b]
                if ma > mb or (ma == mb and node_arg[a] < node_arg[b]):
                    node_max[k] = node_max[a]
                    node_arg[k] = node_arg[a]
                else:
                    node_max[k] = node_max[b]
                    node_arg[k] = node_arg[b]
                continue
            u = lows[k, 0] - cx64
            w = cx64 - highs[k, 0]
            gap = u if u > w else w
            bound = gap * gap if gap > 0.0 else 0.0
            u = lows[k, 1] - cy64
            w = cy64 - highs[k, 1]
            gap = u if u > w else w
            bound += gap * gap if gap > 0.0 else 0.0
            u = lows[k, 2] - cz64
            w = cz64 - highs[k, 2]
            gap = u if u > w else w
            bound += gap * gap if gap > 0.0 else 0.0
            if bound * margin > node_max[k]:
                continue  # no point below k gets closer to the new sample
            if k < first_leaf:
                stack[top] = -k - 1
                stack[top + 1] = 2 * k + 2
                stack[top + 2] = 2 * k + 1
                top += 3
                continue
            s = starts[k]
            e = ends[k]
            if s == e:
                node_max[k] = -1.0
                node_arg[k] = n
                continue
            # slices starting at 0 let LLVM vectorise the update
            px = xs[s:e]
            py = ys[s:e]
            pz = zs[s:e]
            dist = min_sq_dist[s:e]
            for j in range(dist.shape[0]):
                dx = px[j] - cx
                dy = py[j] - cy
                dz = pz[j] - cz
                d = dx * dx + dy * dy + dz * dz
                v = dist[j]
                dist[j] = d if d < v else v
            m = dist[0]
            for j in range(1, dist.shape[0]):
                v = dist[j]
                m = v if v > m else m
            leaf_ids = ids[s:e]
            arg = n
            for j in range(dist.shape[0]):
                if dist[j] == m and leaf_ids[j] < arg:
                    arg = leaf_ids[j]
            node_max[k] = m
            node_arg[k] = arg
        last = node_arg[0]
        out[i] = last
    return out


def kdtree_furthest_point_sample(xyz: np.ndarray,
                                 num_samples: int,
                                 leaf_size: int = LEAF_SIZE
                                 ) -> Optional[np.ndarray]:
    """Exact FPS of one cloud, starting at index 0.

    The caller validates the shapes and 1 <= num_samples <= N; the values
    are checked here (while building the tree, no extra pass).

    Args:
        xyz (np.ndarray): Coordinates, shape (N, 3), float32 or float64
            (any strides).
        num_samples (int): Number of samples.
        leaf_size (int): Points per leaf aimed at; only the speed depends on
            it. Defaults to :data:`LEAF_SIZE`.

    Returns:
        np.ndarray | None: Indices into ``xyz``, int64, shape
        (num_samples, ), identical to the pure torch loop's; None when
        ``xyz`` holds NaN or Inf.
    """
    depth = 0
    while (len(xyz) >> (depth + 1)) >= leaf_size and depth < 60:
        depth += 1
    finite, *tree = _build_tree(xyz, depth)
    if not finite:
        return None
    return _sample_tree(xyz, num_samples, *tree, _PRUNE_MARGIN)
