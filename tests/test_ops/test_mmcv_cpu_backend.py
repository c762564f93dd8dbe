"""mmcv's CUDA-only point ops on CPU tensors through the PiMAE backend.

Every op is compared with a NumPy loop written from mmcv 2.1's CUDA kernel
(``mmcv/ops/csrc/common/cuda/<op>_cuda_kernel.cuh``) and its Python wrapper,
step by step; the loops are also the brute-force definitions. The kernel
behaviour that the tests pin down:

* FPS: the first index is 0; the running minimum starts at 1e10; among
  equally far points the kernel's thread layout decides (``opt_n_threads``
  threads scan strided ranges keeping their first maximum, then a tree
  reduction keeps the lower slot on ties), which is *not* the lowest index;
  once every point is taken index 0 repeats; int32 output; float32 input
  only; not differentiable. The with-distance variant reads row ``old`` of
  the (B, N, N) matrix.
* ball query: a point is in the ball when ``d2 == 0 or min_r**2 <= d2 <
  max_r**2``; in-ball indices in ascending order; a short group repeats its
  first index; an empty group is all zeros; int32.
* three_nn: the returned distances are the square *root* of the kernel's
  squared distances (the wrapper returns ``torch.sqrt(dist2)``); the strict
  ``<`` insertion keeps the lower index first on ties; with fewer than three
  sources the free slots hold index 0 at 1e40 (inf in float32).
* gather_points / grouping_operation / three_interpolate: the backward sums
  the gradient of every copy (the kernels' atomicAdd), checked with
  ``torch.autograd.gradcheck`` in float64; the weights of three_interpolate
  get no gradient.
* points_in_boxes: |z - z_centre| <= z_size / 2 is inside (inclusive), x / y
  strictly inside the box rotated by the yaw; ``part`` gives the first box
  or -1, ``all`` a 0/1 int32 matrix. mmcv's own C++ ``points_in_boxes_cpu``
  is a second, independent oracle.

The ops are called through the names that mmdet3d's modules bound when they
were imported, e.g. ``vote_head.furthest_point_sample``. The last test trains
mmdet3d's unmodified VoteNet config for one iteration and runs tools/test.py
on CPU, on the vendored real-format SUN RGB-D sample.
"""
import importlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import projects.pimae.pimae  # noqa: F401  (registers the backend)
from projects.pimae.pimae.ops import (mmcv_cpu_ops_registered,
                                      register_mmcv_cpu_ops,
                                      unregister_mmcv_cpu_ops)
from tests.data import MMDET3D_SAMPLES

ROOT = Path(__file__).resolve().parents[2]

mmcv_ops = pytest.importorskip('mmcv.ops')
vote_head = importlib.import_module('mmdet3d.models.dense_heads.vote_head')
groupfree3d_head = importlib.import_module(
    'mmdet3d.models.dense_heads.groupfree3d_head')
point_sa_module = importlib.import_module(
    'mmdet3d.models.layers.pointnet_modules.point_sa_module')
point_fp_module = importlib.import_module(
    'mmdet3d.models.layers.pointnet_modules.point_fp_module')
base_box3d = importlib.import_module('mmdet3d.structures.bbox_3d.base_box3d')
group_points = importlib.import_module('mmcv.ops.group_points')


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------
# NumPy loops that follow the CUDA kernels
# --------------------------------------------------------------------------


def f32_sq_dist(a, b):
    """(ax-bx)^2 + (ay-by)^2 + (az-bz)^2 in float32, left to right."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    d = (a[..., 0] - b[..., 0]) * (a[..., 0] - b[..., 0])
    d = d + (a[..., 1] - b[..., 1]) * (a[..., 1] - b[..., 1])
    return d + (a[..., 2] - b[..., 2]) * (a[..., 2] - b[..., 2])


def fps_kernel_loop(dist_to, n, m):
    """furthest_point_sampling_(with_dist_)forward_cuda_kernel for one cloud.

    ``dist_to(old)`` returns the float32 distances of all points to point
    ``old``."""
    threads = max(min(1 << int(math.log(n) / math.log(2.0)), 1024), 1)
    temp = np.full(n, 1e10, np.float32)
    old, idxs = 0, [0]
    for _ in range(1, m):
        temp = np.minimum(dist_to(old).astype(np.float32), temp)
        dists = np.empty(threads, np.float32)
        dists_i = np.empty(threads, np.int64)
        for tid in range(threads):
            best, besti = -1.0, 0
            for k in range(tid, n, threads):
                if temp[k] > best:
                    best, besti = temp[k], k
            dists[tid], dists_i[tid] = best, besti
        thres = 1024
        while thres >= 2:
            half = thres // 2
            if threads >= thres:
                v1, v2 = dists[:half].copy(), dists[half:thres].copy()
                i1, i2 = dists_i[:half].copy(), dists_i[half:thres].copy()
                dists[:half] = np.maximum(v1, v2)
                dists_i[:half] = np.where(v2 > v1, i2, i1)
            thres //= 2
        old = int(dists_i[0])
        idxs.append(old)
    return np.array(idxs)


def fps_loop(xyz, m):
    return fps_kernel_loop(lambda old: f32_sq_dist(xyz, xyz[old]), len(xyz), m)


def fps_lowest_index(xyz, m):
    """FPS with plain lowest-index tie breaking (what the kernel is not)."""
    temp = np.full(len(xyz), 1e10, np.float32)
    idxs = [0]
    for _ in range(1, m):
        temp = np.minimum(f32_sq_dist(xyz, xyz[idxs[-1]]), temp)
        idxs.append(int(np.argmax(temp)))
    return np.array(idxs)


def ball_query_loop(min_r, max_r, nsample, xyz, centres):
    """ball_query_forward_cuda_kernel for one cloud."""
    max_r2 = np.float32(max_r) * np.float32(max_r)
    min_r2 = np.float32(min_r) * np.float32(min_r)
    out = np.zeros((len(centres), nsample), np.int64)
    for i, centre in enumerate(centres):
        cnt = 0
        for k, point in enumerate(xyz):
            d2 = f32_sq_dist(centre, point)
            if d2 == 0 or (min_r2 <= d2 < max_r2):
                if cnt == 0:
                    out[i, :] = k
                out[i, cnt] = k
                cnt += 1
                if cnt >= nsample:
                    break
    return out


def three_nn_loop(target, source):
    """three_nn_forward_cuda_kernel for one cloud, then the wrapper's
    sqrt."""
    dist2 = np.empty((len(target), 3), np.float32)
    idx = np.empty((len(target), 3), np.int64)
    for n, point in enumerate(target):
        best = [1e40, 1e40, 1e40]
        besti = [0, 0, 0]
        for k, candidate in enumerate(source):
            d = float(f32_sq_dist(point, candidate))
            if d < best[0]:
                best = [d, best[0], best[1]]
                besti = [k, besti[0], besti[1]]
            elif d < best[1]:
                best = [best[0], d, best[1]]
                besti = [besti[0], k, besti[1]]
            elif d < best[2]:
                best[2], besti[2] = d, k
        with np.errstate(over='ignore'):
            dist2[n] = np.array(best).astype(np.float32)
        idx[n] = besti
    return np.sqrt(dist2), idx


def points_in_boxes_loop(points, boxes):
    """check_pt_in_box3d for every (point, box) pair, in float32."""
    points = points.astype(np.float32)
    boxes = boxes.astype(np.float32)
    inside = np.zeros((len(points), len(boxes)), np.int64)
    for m, (x, y, z) in enumerate(points):
        for t, (cx, cy, cz, dx, dy, dz, rz) in enumerate(boxes):
            cz = np.float32(cz + dz / np.float32(2))
            if abs(np.float32(z - cz)) > dz / 2.0:
                continue
            cosa = np.cos(-rz, dtype=np.float32)
            sina = np.sin(-rz, dtype=np.float32)
            sx, sy = np.float32(x - cx), np.float32(y - cy)
            local_x = sx * cosa + sy * -sina
            local_y = sx * sina + sy * cosa
            inside[m, t] = (-dx / 2.0 < local_x < dx / 2.0) and \
                (-dy / 2.0 < local_y < dy / 2.0)
    return inside


def random_boxes(generator, num_boxes):
    centre = generator.uniform(-2, 2, (num_boxes, 3))
    size = generator.uniform(0.5, 2.0, (num_boxes, 3))
    yaw = generator.uniform(-np.pi, np.pi, (num_boxes, 1))
    return np.concatenate([centre, size, yaw], axis=1).astype(np.float32)


# --------------------------------------------------------------------------
# Furthest point sampling
# --------------------------------------------------------------------------


def test_backend_is_registered_by_importing_the_project():
    assert mmcv_cpu_ops_registered()
    assert register_mmcv_cpu_ops() == []  # idempotent: nothing new
    forward = mmcv_ops.furthest_point_sample.__self__.forward
    register_mmcv_cpu_ops()
    assert mmcv_ops.furthest_point_sample.__self__.forward is forward


@pytest.mark.parametrize('num_points,num_samples', [(37, 20), (300, 64),
                                                    (100, 130)])
def test_fps_matches_kernel_loop_on_lattice_ties(num_points, num_samples):
    """Integer lattice points: many exactly equal distances."""
    xyz = rng(num_points).integers(0, 4, (2, num_points, 3)).astype(np.float32)
    got = vote_head.furthest_point_sample(torch.from_numpy(xyz), num_samples)
    assert got.dtype == torch.int32
    assert got.shape == (2, num_samples)
    for batch in range(2):
        expected = fps_loop(xyz[batch], num_samples)
        np.testing.assert_array_equal(got[batch].numpy(), expected)
        assert expected[0] == 0
    # The case discriminates: lowest-index tie breaking gives other indices.
    assert not np.array_equal(
        fps_lowest_index(xyz[0], num_samples), got[0].numpy())


def test_fps_random_cloud_is_furthest_point_by_brute_force():
    xyz = rng(1).random((1, 500, 3)).astype(np.float32) * 4
    got = point_sa_module.Points_Sampler([40])(torch.from_numpy(xyz),
                                               None)[0].numpy()
    np.testing.assert_array_equal(got, fps_loop(xyz[0], 40))
    # Brute force: every sample is a point furthest from the ones before.
    cloud = xyz[0].astype(np.float64)
    for j in range(1, len(got)):
        taken = cloud[got[:j]]
        gap = ((cloud[:, None] - taken[None])**2).sum(-1).min(1)
        assert gap[got[j]] == pytest.approx(gap.max(), rel=1e-5)


def test_fps_clips_distances_at_1e10():
    """Hand case: the running minimum starts at 1e10, so points further than
    1e5 from every sample tie, and the thread layout (4 threads, the third
    one wins against the second) decides."""
    xyz = np.array([[[0., 0, 0], [2e6, 0, 0], [1e6, 0, 0], [0.5, 0, 0]]],
                   np.float32)
    got = vote_head.furthest_point_sample(torch.from_numpy(xyz), 4)
    assert got.tolist() == [[0, 2, 1, 3]]  # not [0, 1, 2, 3]
    np.testing.assert_array_equal(got[0].numpy(), fps_loop(xyz[0], 4))


def test_fps_with_dist_matches_kernel_loop():
    xyz = rng(2).integers(0, 3, (2, 70, 3)).astype(np.float32)
    dist = torch.cdist(torch.from_numpy(xyz), torch.from_numpy(xyz))**2
    got = mmcv_ops.furthest_point_sample_with_dist(dist.contiguous(), 25)
    assert got.dtype == torch.int32
    for batch in range(2):
        matrix = dist[batch].numpy()
        expected = fps_kernel_loop(lambda old, m=matrix: m[old], 70, 25)
        np.testing.assert_array_equal(got[batch].numpy(), expected)


def test_fps_is_not_differentiable_and_takes_float32_only():
    xyz = torch.rand((1, 50, 3), requires_grad=True)
    idx = vote_head.furthest_point_sample(xyz, 8)
    assert not idx.requires_grad
    with pytest.raises(TypeError, match='float32'):
        vote_head.furthest_point_sample(xyz.detach().double(), 8)
    with pytest.raises(AssertionError):  # mmcv's own contiguity assert
        vote_head.furthest_point_sample(
            torch.rand((1, 3, 50)).transpose(1, 2), 8)


# --------------------------------------------------------------------------
# Ball query and grouping
# --------------------------------------------------------------------------


@pytest.mark.parametrize('min_radius,max_radius,nsample', [(0., 0.3, 8),
                                                           (0.1, 0.5, 32),
                                                           (0., 0.05, 4),
                                                           (0., 5., 16)])
def test_ball_query_matches_kernel_loop(min_radius, max_radius, nsample):
    generator = rng(3)
    xyz = (generator.random((2, 300, 3)) * 2).astype(np.float32)
    xyz[:, 200:260] = xyz[:, :60]  # duplicated points
    centres = np.concatenate(
        [xyz[:, :25], generator.uniform(-0.5, 2.5, (2, 15, 3))],
        axis=1).astype(np.float32)
    got = group_points.ball_query(min_radius, max_radius, nsample,
                                  torch.from_numpy(xyz),
                                  torch.from_numpy(centres))
    assert got.dtype == torch.int32
    for batch in range(2):
        np.testing.assert_array_equal(
            got[batch].numpy(),
            ball_query_loop(min_radius, max_radius, nsample, xyz[batch],
                            centres[batch]))


def test_ball_query_padding_and_empty_groups():
    """Hand-made case: the kernel's padding and its d2 == 0 clause."""
    xyz = torch.tensor([[[5., 0, 0], [0, 0, 0], [0.1, 0, 0], [9, 9, 9],
                         [0.2, 0, 0]]])
    centres = torch.tensor([[[0., 0, 0], [20, 0, 0], [9, 9, 9]]])
    idx = mmcv_ops.ball_query(0., 0.15, 4, xyz, centres)
    assert idx.tolist() == [[[1, 2, 1, 1], [0, 0, 0, 0], [3, 3, 3, 3]]]
    # min_radius > 0 excludes near points but never the point itself.
    idx = mmcv_ops.ball_query(0.05, 0.25, 4, xyz, centres)
    assert idx.tolist() == [[[1, 2, 4, 1], [0, 0, 0, 0], [3, 3, 3, 3]]]
    # The outer radius is exclusive, the inner one inclusive.
    xyz = torch.tensor([[[0.5, 0, 0], [0, 0.25, 0], [0, 0, 0.4999],
                         [0.125, 0, 0]]])
    centre = torch.zeros((1, 1, 3))
    assert mmcv_ops.ball_query(0., 0.5, 4, xyz,
                               centre).tolist() == [[[1, 2, 3, 1]]]
    assert mmcv_ops.ball_query(0.25, 0.5, 4, xyz,
                               centre).tolist() == [[[1, 2, 1, 1]]]


def test_ball_query_stacked_form_is_refused_clearly():
    xyz = torch.rand((10, 3))
    count = torch.tensor([10], dtype=torch.int32)
    with pytest.raises(NotImplementedError, match='stacked'):
        mmcv_ops.ball_query(0., 0.2, 4, xyz, xyz, count, count)


def test_gather_points_matches_loop_and_gradcheck():
    features = torch.rand((2, 5, 30), dtype=torch.float64)
    idx = torch.from_numpy(rng(4).integers(0, 30, (2, 12))).int()
    got = groupfree3d_head.gather_points(features, idx)
    for b in range(2):
        for j in range(12):
            assert torch.equal(got[b, :, j], features[b, :, idx[b, j]])
    features.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f: point_sa_module.gather_points(f, idx), (features, ))
    with pytest.raises(TypeError, match=r'int32.*\.int\(\)'):
        point_sa_module.gather_points(features, idx.long())


def test_grouping_operation_matches_loop_and_gradcheck():
    features = torch.rand((2, 4, 20), dtype=torch.float64)
    idx = torch.from_numpy(rng(5).integers(0, 20, (2, 6, 5))).int()
    got = group_points.grouping_operation(features, idx)
    assert got.shape == (2, 4, 6, 5)
    for b in range(2):
        for m in range(6):
            for s in range(5):
                assert torch.equal(got[b, :, m, s], features[b, :, idx[b, m,
                                                                       s]])
    features.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f: group_points.grouping_operation(f, idx), (features, ))


def test_query_and_group_in_point_sa_module_uses_the_kernel_semantics():
    """mmdet3d's PointSAModule on CPU: FPS centres, and the grouped input of
    its MLP rebuilt from the loops."""
    torch.manual_seed(0)
    module = point_sa_module.PointSAModule(
        mlp_channels=[2, 8], num_point=16, radius=0.3, num_sample=6).eval()
    xyz = torch.from_numpy(rng(6).random((2, 120, 3)).astype(np.float32))
    features = torch.rand((2, 2, 120))
    grouped = {}
    module.groupers[0].register_forward_hook(
        lambda mod, args, out: grouped.update(out=out))
    new_xyz, _, indices = module(xyz, features)
    for b in range(2):
        fps = torch.from_numpy(fps_loop(xyz[b].numpy(), 16))
        assert torch.equal(indices[b].long(), fps)
        assert torch.equal(new_xyz[b], xyz[b, fps])
        groups = torch.from_numpy(
            ball_query_loop(0., 0.3, 6, xyz[b].numpy(), xyz[b, fps].numpy()))
        offsets = xyz[b][groups] - xyz[b, fps][:, None]
        expected = torch.cat(
            [offsets.permute(2, 0, 1), features[b][:, groups]], dim=0)
        torch.testing.assert_close(grouped['out'][b], expected)


# --------------------------------------------------------------------------
# Three nearest neighbours and interpolation
# --------------------------------------------------------------------------


def test_three_nn_matches_kernel_loop_with_ties_and_sqrt():
    target = rng(7).integers(0, 3, (2, 40, 3)).astype(np.float32)
    source = rng(8).integers(0, 3, (2, 25, 3)).astype(np.float32)
    dist, idx = point_fp_module.three_nn(
        torch.from_numpy(target), torch.from_numpy(source))
    assert idx.dtype == torch.int32 and dist.dtype == torch.float32
    assert not idx.requires_grad
    for b in range(2):
        expected_dist, expected_idx = three_nn_loop(target[b], source[b])
        np.testing.assert_array_equal(idx[b].numpy(), expected_idx)
        np.testing.assert_array_equal(dist[b].numpy(), expected_dist)


def test_three_nn_with_fewer_than_three_sources():
    target = torch.tensor([[[0., 0, 0], [3, 0, 0]]])
    source = torch.tensor([[[1., 0, 0], [0, 2, 0]]])
    dist, idx = mmcv_ops.three_nn(target, source)
    assert idx.tolist() == [[[0, 1, 0], [0, 1, 0]]]
    assert dist[0, :, :2].flatten().tolist() == pytest.approx(
        [1., 2., 2., math.sqrt(13.)])
    assert torch.isinf(dist[..., 2]).all()  # 1e40 does not fit a float32


def test_three_interpolate_matches_loop_and_gradcheck():
    features = torch.rand((2, 3, 10), dtype=torch.float64)
    idx = torch.from_numpy(rng(9).integers(0, 10, (2, 7, 3))).int()
    weight = torch.rand((2, 7, 3), dtype=torch.float64)
    got = point_fp_module.three_interpolate(features, idx, weight)
    for b in range(2):
        for n in range(7):
            expected = sum(weight[b, n, j] * features[b, :, idx[b, n, j]]
                           for j in range(3))
            torch.testing.assert_close(got[b, :, n], expected)
    features.requires_grad_()
    weight.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f: point_fp_module.three_interpolate(f, idx, weight.detach()),
        (features, ))
    point_fp_module.three_interpolate(features, idx, weight).sum().backward()
    assert weight.grad is None  # mmcv defines no gradient for the weights
    assert features.grad is not None


def test_point_fp_module_interpolates_like_the_loops():
    torch.manual_seed(0)
    module = point_fp_module.PointFPModule(mlp_channels=[4 + 2, 8]).eval()
    target = torch.from_numpy(rng(10).random((1, 30, 3)).astype(np.float32))
    source = torch.from_numpy(rng(11).random((1, 12, 3)).astype(np.float32))
    target_feats, source_feats = torch.rand((1, 2, 30)), torch.rand((1, 4, 12))
    seen = {}
    module.mlps.register_forward_pre_hook(
        lambda mod, args: seen.update(features=args[0]))
    module(target, source, target_feats, source_feats)
    dist, idx = three_nn_loop(target[0].numpy(), source[0].numpy())
    weight = 1.0 / (torch.from_numpy(dist) + 1e-8)
    weight = weight / weight.sum(dim=1, keepdim=True)
    expected = (source_feats[0][:, torch.from_numpy(idx)] * weight).sum(-1)
    torch.testing.assert_close(seen['features'][0, :4, :, 0], expected)
    assert torch.equal(seen['features'][0, 4:, :, 0], target_feats[0])


# --------------------------------------------------------------------------
# Points in boxes
# --------------------------------------------------------------------------


def test_points_in_boxes_match_loop_and_mmcv_cpu_kernel():
    generator = rng(12)
    points = generator.uniform(-2.5, 2.5, (2, 1000, 3)).astype(np.float32)
    boxes = np.stack([random_boxes(generator, 6) for _ in range(2)])
    boxes[:, 5] = boxes[:, 4]  # two identical boxes: `part` takes the first
    pts_t, boxes_t = torch.from_numpy(points), torch.from_numpy(boxes)
    inside_all = base_box3d.points_in_boxes_all(pts_t, boxes_t)
    inside_part = base_box3d.points_in_boxes_part(pts_t, boxes_t)
    assert inside_all.dtype == inside_part.dtype == torch.int32
    assert inside_all.shape == (2, 1000, 6)
    for b in range(2):
        expected = points_in_boxes_loop(points[b], boxes[b])
        assert 0 < expected.sum() < expected.size
        np.testing.assert_array_equal(inside_all[b].numpy(), expected)
        first = np.where(expected.any(1), expected.argmax(1), -1)
        np.testing.assert_array_equal(inside_part[b].numpy(), first)
    assert (inside_part == 5).sum() == 0 and (inside_part == 4).sum() > 0
    reference = mmcv_ops.points_in_boxes_cpu(pts_t, boxes_t)
    assert torch.equal(inside_all, reference)


def test_points_in_boxes_face_conventions():
    """z faces count as inside, x / y faces do not (axis-aligned box of
    size 2 x 2 x 2 with its bottom centre at the origin)."""
    boxes = torch.tensor([[[0., 0, 0, 2, 2, 2, 0]]])
    points = torch.tensor([[[0., 0, 0], [0, 0, 2], [0, 0, 2.001], [1, 0, 1],
                            [0.999, 0, 1], [0, -1, 1], [0, 0, -0.001]]])
    assert mmcv_ops.points_in_boxes_all(
        points, boxes)[0, :, 0].tolist() == [1, 1, 0, 0, 1, 0, 0]
    assert mmcv_ops.points_in_boxes_part(
        points, boxes)[0].tolist() == [0, 0, -1, -1, 0, -1, -1]


def test_depth_boxes_points_in_boxes_on_cpu():
    from mmdet3d.structures import DepthInstance3DBoxes
    generator = rng(13)
    boxes = DepthInstance3DBoxes(torch.from_numpy(random_boxes(generator, 4)))
    points = torch.from_numpy(
        generator.uniform(-3, 3, (300, 6)).astype(np.float32))
    expected = points_in_boxes_loop(points[:, :3].numpy(),
                                    boxes.tensor.numpy())
    np.testing.assert_array_equal(
        boxes.points_in_boxes_all(points).numpy(), expected)
    first = np.where(expected.any(1), expected.argmax(1), -1)
    np.testing.assert_array_equal(
        boxes.points_in_boxes_part(points).numpy(), first)


# --------------------------------------------------------------------------
# Dispatch: only CPU tensors are diverted
# --------------------------------------------------------------------------


class RecordingExt:
    """Stands in for mmcv's compiled ``ext_module`` and records calls."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


def tensors_on(device):
    """A factory of small inputs on ``device``: floats in [0, 1), int32
    zeros (valid indices)."""

    def make(*shape, dtype=torch.float32):
        if device == 'meta':
            return torch.empty(shape, dtype=dtype, device='meta')
        if dtype == torch.int32:
            return torch.zeros(shape, dtype=dtype)
        return torch.rand(shape, dtype=dtype)

    return make


#: op -> (mmcv module, extension function its wrapper calls, a call through
#: a name bound by mmdet3d or mmcv's grouping module, given a factory)
OP_CALLS = {
    'furthest_point_sample':
    ('mmcv.ops.furthest_point_sample', 'furthest_point_sampling_forward',
     lambda t: vote_head.furthest_point_sample(t(1, 20, 3), 4)),
    'ball_query':
    ('mmcv.ops.ball_query', 'ball_query_forward',
     lambda t: group_points.ball_query(0., 1., 4, t(1, 20, 3), t(1, 5, 3))),
    'gather_points': ('mmcv.ops.gather_points', 'gather_points_forward',
                      lambda t: point_sa_module.gather_points(
                          t(1, 3, 20), t(1, 5, dtype=torch.int32))),
    'grouping_operation': ('mmcv.ops.group_points', 'group_points_forward',
                           lambda t: group_points.grouping_operation(
                               t(1, 3, 20), t(1, 5, 4, dtype=torch.int32))),
    'three_nn': ('mmcv.ops.three_nn', 'three_nn_forward',
                 lambda t: point_fp_module.three_nn(t(1, 20, 3), t(1, 5, 3))),
    'three_interpolate':
    ('mmcv.ops.three_interpolate', 'three_interpolate_forward',
     lambda t: point_fp_module.three_interpolate(
         t(1, 3, 5), t(1, 20, 3, dtype=torch.int32), t(1, 20, 3))),
    'points_in_boxes_all':
    ('mmcv.ops.points_in_boxes', 'points_in_boxes_all_forward',
     lambda t: base_box3d.points_in_boxes_all(t(1, 20, 3), t(1, 2, 7))),
    'points_in_boxes_part':
    ('mmcv.ops.points_in_boxes', 'points_in_boxes_part_forward',
     lambda t: base_box3d.points_in_boxes_part(t(1, 20, 3), t(1, 2, 7))),
}


@pytest.mark.parametrize('op', sorted(OP_CALLS))
def test_only_cpu_tensors_are_diverted(op, monkeypatch):
    """Tensors on another device (here 'meta', standing in for CUDA) run
    mmcv's own Python wrapper down to its compiled extension; CPU tensors
    never touch the extension."""
    module_name, kernel, call = OP_CALLS[op]
    ext = RecordingExt()
    monkeypatch.setattr(
        importlib.import_module(module_name), 'ext_module', ext)
    # Let the wrappers' CUDA bookkeeping run without a GPU.
    monkeypatch.setattr(
        torch.cuda, 'IntTensor',
        lambda *size: torch.empty(size, dtype=torch.int32, device='meta'))
    monkeypatch.setattr(torch.cuda, 'FloatTensor',
                        lambda *size: torch.empty(size, device='meta'))
    monkeypatch.setattr(torch.cuda, 'current_device', lambda: -1)
    call(tensors_on('meta'))
    assert ext.calls == [kernel]
    ext.calls.clear()
    outputs = call(tensors_on('cpu'))
    assert ext.calls == []
    for output in outputs if isinstance(outputs, tuple) else (outputs, ):
        assert output.device.type == 'cpu'


def test_unregister_restores_mmcv_and_register_is_reachable_again():
    xyz = torch.rand((1, 30, 3))
    boxes = torch.tensor([[[0., 0, 0, 1, 1, 1, 0]]])
    try:
        restored = unregister_mmcv_cpu_ops()
        assert set(restored) >= {
            'furthest_point_sample', 'ball_query', 'gather_points',
            'points_in_boxes_all', 'points_in_boxes_part'
        }
        assert not mmcv_cpu_ops_registered()
        # mmcv's CUDA-only code again, through the same bound names.
        with pytest.raises((RuntimeError, AssertionError)):
            vote_head.furthest_point_sample(xyz, 4)
        with pytest.raises((RuntimeError, AssertionError)):
            base_box3d.points_in_boxes_all(xyz, boxes)
    finally:
        hooked = register_mmcv_cpu_ops()
    assert len(hooked) == 9 and mmcv_cpu_ops_registered()
    assert vote_head.furthest_point_sample(xyz, 4).tolist()[0][0] == 0
    assert base_box3d.points_in_boxes_all(xyz, boxes).shape == (1, 30, 1)


@pytest.mark.skipif(
    not torch.cuda.is_available()
    or mmcv_ops.get_compiling_cuda_version() == 'not available',
    reason='needs a GPU and mmcv built with CUDA ops')
def test_cpu_backend_equals_mmcv_cuda_kernels():
    generator = torch.Generator().manual_seed(0)
    xyz = torch.rand((2, 3000, 3), generator=generator) * 4
    lattice = torch.randint(0, 4, (2, 500, 3), generator=generator).float()
    for cloud in (xyz, lattice):
        assert torch.equal(
            mmcv_ops.furthest_point_sample(cloud, 256),
            mmcv_ops.furthest_point_sample(cloud.cuda(), 256).cpu())
    centres = xyz[:, :256].contiguous()
    assert torch.equal(
        mmcv_ops.ball_query(0., 0.2, 16, xyz, centres),
        mmcv_ops.ball_query(0., 0.2, 16, xyz.cuda(), centres.cuda()).cpu())
    dist, idx = mmcv_ops.three_nn(xyz, centres)
    dist_cuda, idx_cuda = mmcv_ops.three_nn(xyz.cuda(), centres.cuda())
    assert torch.equal(idx, idx_cuda.cpu())
    torch.testing.assert_close(dist, dist_cuda.cpu())
    boxes = torch.from_numpy(
        np.stack([random_boxes(rng(14), 8) for _ in range(2)]))
    assert torch.equal(
        mmcv_ops.points_in_boxes_all(xyz, boxes),
        mmcv_ops.points_in_boxes_all(xyz.cuda(), boxes.cuda()).cpu())


# --------------------------------------------------------------------------
# End to end: mmdet3d's own VoteNet config on CPU through the tools
# --------------------------------------------------------------------------


def votenet_sunrgbd_config():
    import mmdet3d
    path = Path(mmdet3d.__file__).parent / '.mim' / 'configs' / 'votenet' / \
        'votenet_8xb16_sunrgbd-3d.py'
    if not path.is_file():
        pytest.skip(f'mmdet3d was installed without its configs ({path})')
    return path


def run_tool(args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable] + [str(arg) for arg in args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def test_stock_votenet_trains_and_tests_on_cpu(tmp_path):
    """mmdet3d's unmodified VoteNet SUN RGB-D config: one training iteration
    (PointNet++ backbone, VoteHead target assignment with points in boxes)
    and tools/test.py with IndoorMetric, on the real-format sample (its 100
    points are resampled to 20000 with replacement by PointSample, so FPS
    and ball query see many duplicated points)."""
    config = votenet_sunrgbd_config()
    data_root = f'{MMDET3D_SAMPLES / "sunrgbd"}/'
    data = []
    for split in ('val_dataloader', 'test_dataloader'):
        data += [
            f'{split}.dataset.data_root={data_root}',
            f'{split}.dataset.ann_file=sunrgbd_infos.pkl',
            f'{split}.num_workers=0'
        ]
    train = run_tool([
        'tools/train.py', config, '--work-dir', tmp_path / 'train',
        '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'train_dataloader.dataset.times=1',
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        'train_dataloader.dataset.dataset.ann_file=sunrgbd_infos.pkl',
        'default_hooks.logger.interval=1', *data
    ])
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    log = train.stdout + train.stderr
    losses = re.findall(r'Epoch\(train\) +\[1\]\[1/1\].* loss: ([0-9.]+)', log)
    assert losses and math.isfinite(float(losses[0])), log[-3000:]
    checkpoint = tmp_path / 'train' / 'epoch_1.pth'
    assert checkpoint.is_file()
    test = run_tool([
        'tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'test',
        '--cfg-options', *data
    ])
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert re.search(r'Epoch\(test\).*mAP_0\.25', test.stdout + test.stderr)
