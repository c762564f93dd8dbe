# Copyright (c) OpenMMLab. All rights reserved.
import importlib

import numpy as np
import pytest
import torch

from projects.pimae.pimae.ops import (furthest_point_sample,
                                      furthest_point_sample_numpy,
                                      quickfps_available)

# The package attribute of the same name is the function, not the module.
fps_module = importlib.import_module(
    'projects.pimae.pimae.ops.furthest_point_sample')

requires_quickfps = pytest.mark.skipif(
    not quickfps_available(), reason='torch_quickfps is not importable')
requires_kdtree = pytest.mark.skipif(
    not fps_module.kdtree_available(), reason='numba is not importable')
requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')


def fps_brute_force(points, num_samples):
    """Float64 NumPy FPS of one cloud (N, 3): start at 0, ties lowest."""
    points = np.asarray(points, dtype=np.float64)
    min_sq = np.full(len(points), np.inf)
    chosen = [0]
    for _ in range(num_samples - 1):
        sq = ((points - points[chosen[-1]])**2).sum(axis=1)
        min_sq = np.minimum(min_sq, sq)
        chosen.append(int(np.argmax(min_sq)))
    return np.array(chosen)


def batched_brute_force(points, num_samples):
    return np.stack([fps_brute_force(p, num_samples) for p in points])


def lattice(size):
    axis = torch.arange(size, dtype=torch.float64)
    grid = torch.meshgrid(axis, axis, axis, indexing='ij')
    return torch.stack(grid, dim=-1).reshape(1, -1, 3)


def test_hand_made_cloud():
    # On a line x = 0, 1, 2, 3, 10: 10 is furthest from 0, then 3; then
    # points 1 and 2 are both at distance 1 and the lower index wins.
    x = torch.tensor([0., 1., 2., 3., 10.])
    points = torch.stack([x, torch.zeros(5), torch.zeros(5)], dim=-1)
    indices = furthest_point_sample(points[None], 5)
    assert indices.tolist() == [[0, 4, 3, 1, 2]]
    assert indices.dtype == torch.long


def test_square_centre_then_corners():
    # Seed at the centre: the four corners tie, the lowest index (1) wins.
    # Then corners 2, 3 and 4 all lie 0.5 from the centre, closer than from
    # corner 1, and tie again: the lowest index wins each time. Seeding at
    # a corner instead would sample the opposite corner second.
    points = torch.tensor([[[0.5, 0.5, 0.], [0., 0., 0.], [1., 1., 0.],
                            [1., 0., 0.], [0., 1., 0.]]])
    assert furthest_point_sample(points, 4).tolist() == [[0, 1, 2, 3]]
    assert furthest_point_sample(points[:, 1:], 2).tolist() == [[0, 1]]


@pytest.mark.parametrize('batch_size', [1, 3])
@pytest.mark.parametrize('num_points,num_samples', [(400, 64), (50, 50),
                                                    (30, 1)])
def test_matches_brute_force_float64(batch_size, num_points, num_samples):
    generator = torch.Generator().manual_seed(batch_size * num_points)
    points = torch.randn((batch_size, num_points, 3),
                         generator=generator,
                         dtype=torch.float64)
    indices = furthest_point_sample(points, num_samples)
    expected = batched_brute_force(points.numpy(), num_samples)
    assert indices.shape == (batch_size, num_samples)
    np.testing.assert_array_equal(indices.numpy(), expected)


def test_full_sample_is_a_permutation():
    points = torch.rand((2, 64, 3), generator=torch.Generator().manual_seed(1))
    indices = furthest_point_sample(points, 64)
    for row in indices:
        assert sorted(row.tolist()) == list(range(64))


def test_matches_brute_force_float32():
    generator = torch.Generator().manual_seed(2)
    points = torch.rand((2, 1000, 3), generator=generator) * 5
    indices = furthest_point_sample(points, 128)
    expected = batched_brute_force(points.numpy(), 128)
    np.testing.assert_array_equal(indices.numpy(), expected)


def test_ties_break_to_lowest_index():
    # A 4x4x4 lattice has many exactly equal distances, and duplicated
    # points are at distance 0 from their copies.
    grid = lattice(4)
    duplicated = torch.cat([grid, grid[:, :20]], dim=1)
    for cloud, num_samples in [(grid, 64), (duplicated, 84)]:
        indices = furthest_point_sample(cloud, num_samples)
        expected = fps_brute_force(cloud[0].numpy(), num_samples)
        np.testing.assert_array_equal(indices[0].numpy(), expected)
    # Once the 64 distinct points are taken, index 0 repeats.
    assert indices[0, 64:].tolist() == [0] * 20


def test_ignores_autograd_and_is_deterministic():
    points = torch.rand((2, 200, 3), requires_grad=True)
    first = furthest_point_sample(points, 32)
    assert not first.requires_grad
    assert torch.equal(first, furthest_point_sample(points, 32))


def test_half_precision_input_is_sampled_in_float32():
    points = torch.rand((1, 300, 3),
                        generator=torch.Generator().manual_seed(3))
    half = points.half()
    expected = fps_brute_force(half.float()[0].numpy(), 40)
    indices = furthest_point_sample(half, 40)
    np.testing.assert_array_equal(indices[0].numpy(), expected)


@pytest.mark.parametrize('backend', ['auto', 'kdtree', 'torch'])
def test_numpy_single_and_batched(backend):
    rng = np.random.default_rng(4)
    batch = rng.random((2, 500, 3)).astype(np.float32)
    single = furthest_point_sample_numpy(batch[1], 50, backend=backend)
    batched = furthest_point_sample_numpy(batch, 50, backend=backend)
    assert single.shape == (50, ) and single.dtype == np.int64
    assert batched.shape == (2, 50) and batched.dtype == np.int64
    np.testing.assert_array_equal(batched, batched_brute_force(batch, 50))
    np.testing.assert_array_equal(single, batched[1])


def test_numpy_converts_integer_coordinates():
    grid = lattice(3)[0].numpy().astype(np.int32)
    indices = furthest_point_sample_numpy(grid, 27, backend='torch')
    np.testing.assert_array_equal(indices, fps_brute_force(grid, 27))


@requires_quickfps
@pytest.mark.parametrize('shape,num_samples', [((1, 20000, 3), 2048),
                                               ((3, 3000, 3), 300)])
def test_quickfps_equals_pure_path(shape, num_samples):
    points = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    fast = furthest_point_sample_numpy(points, num_samples, backend='quickfps')
    pure = furthest_point_sample_numpy(points, num_samples, backend='torch')
    np.testing.assert_array_equal(fast, pure)
    assert (fast[:, 0] == 0).all()
    other_height = furthest_point_sample_numpy(
        points, num_samples, backend='quickfps', quickfps_bucket_height=3)
    np.testing.assert_array_equal(other_height, pure)


@requires_quickfps
def test_quickfps_duplicates_give_same_coordinates():
    # On exact ties quickfps may pick another copy of a point: the sampled
    # coordinates must still be those of the exact FPS.
    rng = np.random.default_rng(6)
    base = rng.random((200, 3)).astype(np.float32)
    cloud = np.concatenate([base, base[::-1], base[:50]])
    fast = furthest_point_sample_numpy(cloud, 200, backend='quickfps')
    pure = furthest_point_sample_numpy(cloud, 200, backend='torch')
    np.testing.assert_array_equal(cloud[fast], cloud[pure])


def test_forced_quickfps_without_package_raises(monkeypatch):
    monkeypatch.setattr(fps_module, 'quickfps_available', lambda: False)
    with pytest.raises(RuntimeError, match='torch_quickfps'):
        furthest_point_sample_numpy(np.zeros((4, 3)), 2, backend='quickfps')


def test_mmcv_branch_returns_int64(fake_mmcv_ops):
    points = torch.rand((2, 300, 3), dtype=torch.float64)
    indices = furthest_point_sample(points, 50)
    assert fake_mmcv_ops == ['furthest_point_sample']
    assert indices.dtype == torch.long
    expected = batched_brute_force(points.float().numpy(), 50)
    np.testing.assert_array_equal(indices.numpy(), expected)
    furthest_point_sample(points, 50, backend='torch')
    assert fake_mmcv_ops == ['furthest_point_sample']


def test_forced_mmcv_on_cpu_raises():
    with pytest.raises(RuntimeError, match="backend='mmcv'"):
        furthest_point_sample(torch.rand(1, 10, 3), 2, backend='mmcv')


def _with_nan():
    points = torch.rand(2, 10, 3)
    points[1, 4, 2] = float('nan')
    return points


def _with_inf():
    points = torch.rand(1, 10, 3)
    points[0, 0, 0] = float('inf')
    return points


@pytest.mark.parametrize('points,num_samples,match', [
    (torch.rand(10, 3), 2, r'`points` must have shape \(B, N, 3\)'),
    (torch.rand(1, 10, 6), 2, r'`points`.*\(1, 10, 6\)'),
    (torch.rand(1, 10, 3), 11, r'`num_samples`=11 exceeds.*\(1, 10, 3\)'),
    (torch.rand(1, 10, 3), 0, '`num_samples` must be at least 1'),
    (torch.rand(1, 10, 3), -3, '`num_samples` must be at least 1'),
    (torch.rand(1, 10, 3), 2.5, '`num_samples` must be an integer'),
    (torch.rand(1, 0, 3), 1, '`points` is empty'),
    (torch.rand(0, 10, 3), 1, '`points` is empty'),
    (torch.ones(1, 10, 3, dtype=torch.long), 2, 'floating point'),
    (_with_nan(), 2, '`points`.*NaN or Inf'),
    (_with_inf(), 2, '`points`.*NaN or Inf'),
])
def test_bad_inputs_raise(points, num_samples, match):
    with pytest.raises(ValueError, match=match):
        furthest_point_sample(points, num_samples)


def test_bad_backend_raises():
    with pytest.raises(ValueError, match='`backend`'):
        furthest_point_sample(torch.rand(1, 10, 3), 2, backend='cuda')
    with pytest.raises(ValueError, match='`backend`'):
        furthest_point_sample_numpy(np.zeros((4, 3)), 2, backend='mmcv')


def sunrgbd_cloud():
    """xyz (N, 3) float32 of the real SUN RGB-D sample of tests/data."""
    path = 'tests/data/mmdet3d_samples/sunrgbd/points/000001.bin'
    return np.fromfile(path, dtype=np.float32).reshape(-1, 6)[:, :3]


@requires_kdtree
@pytest.mark.parametrize('leaf_size', [1, 4, 128])
def test_kdtree_equals_torch_loop_on_real_cloud(leaf_size):
    from projects.pimae.pimae.ops._kdtree_fps import \
        kdtree_furthest_point_sample
    cloud = sunrgbd_cloud()  # the 100 points of the real sample
    for num in (60, len(cloud)):
        expected = furthest_point_sample_numpy(cloud, num, backend='torch')
        got = kdtree_furthest_point_sample(cloud, num, leaf_size=leaf_size)
        np.testing.assert_array_equal(got, expected)


def room_scene(rng, scale=1):
    """A generated room (N, 3): floor, two walls, a box and clutter."""
    floor = np.c_[rng.uniform(-2, 2, (800 * scale, 2)), np.zeros(800 * scale)]
    wall = np.c_[rng.uniform(-2, 2, 500 * scale), np.full(500 * scale, 3.),
                 rng.uniform(0, 2.5, 500 * scale)]
    side = np.c_[np.full(400 * scale, -2.), rng.uniform(0, 3, 400 * scale),
                 rng.uniform(0, 2.5, 400 * scale)]
    box = rng.uniform([0.3, 1., 0.], [0.9, 1.6, 0.7], (300 * scale, 3))
    clutter = rng.normal(0., 1., (200 * scale, 3))
    scene = np.concatenate([floor, wall, side, box, clutter])
    return scene[rng.permutation(len(scene))]


@requires_kdtree
@requires_quickfps
def test_kdtree_equals_quickfps_at_full_size():
    # the pre-training step: 20000 points -> 2048, from a strided (N, 6) view
    rng = np.random.default_rng(5)
    scene = room_scene(rng, scale=10)
    points = np.c_[scene, rng.random((len(scene), 3))].astype(np.float32)
    fast = furthest_point_sample_numpy(points[:, :3], 2048, backend='kdtree')
    reference = furthest_point_sample_numpy(
        points[:, :3], 2048, backend='quickfps')
    np.testing.assert_array_equal(fast, reference)


@requires_kdtree
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_kdtree_equals_torch_loop_on_generated_scenes(dtype):
    scene = room_scene(np.random.default_rng(0)).astype(dtype)
    for cloud in (scene, scene * 1000. + 5., scene[:, [2, 0, 1]]):
        np.testing.assert_array_equal(
            furthest_point_sample_numpy(cloud, 300, backend='kdtree'),
            furthest_point_sample_numpy(cloud, 300, backend='torch'))


@requires_kdtree
def test_kdtree_ties_duplicates_and_planes():
    from projects.pimae.pimae.ops._kdtree_fps import \
        kdtree_furthest_point_sample
    grid = lattice(6)[0].numpy()  # every distance ties many times
    rng = np.random.default_rng(3)
    twice = np.concatenate([grid, grid])[rng.permutation(2 * len(grid))]
    flat = np.c_[rng.random((200, 2)), np.zeros(200)]
    same = np.ones((50, 3))  # every split key equals the pivot
    for cloud, num in ((grid, len(grid)), (twice, len(twice)), (flat, 150),
                       (same, 50), (grid[:1], 1)):
        expected = fps_brute_force(cloud, num)
        for leaf_size in (1, 3, 128):
            got = kdtree_furthest_point_sample(cloud, num, leaf_size)
            np.testing.assert_array_equal(got, expected)
    # all points taken: the rest repeat index 0, as the torch loop does
    np.testing.assert_array_equal(
        kdtree_furthest_point_sample(np.r_[grid[:3], grid[:3]], 6, 1),
        fps_brute_force(np.r_[grid[:3], grid[:3]], 6))


@requires_kdtree
def test_kdtree_batched_and_auto_backend():
    batch = np.random.default_rng(2).random((3, 500, 3))
    expected = batched_brute_force(batch, 60)
    np.testing.assert_array_equal(
        furthest_point_sample_numpy(batch, 60, backend='kdtree'), expected)
    np.testing.assert_array_equal(
        furthest_point_sample_numpy(batch, 60), expected)


@requires_kdtree
@pytest.mark.parametrize('value', [np.nan, np.inf, -np.inf])
def test_kdtree_rejects_non_finite(value):
    points = np.random.default_rng(0).random((2, 300, 3)).astype(np.float32)
    points[1, 123, 1] = value
    with pytest.raises(ValueError, match=r'`points` of shape \(2, 300, 3\) '
                       'contains NaN or Inf'):
        furthest_point_sample_numpy(points, 10, backend='kdtree')


def test_forced_kdtree_without_numba_raises(monkeypatch):
    monkeypatch.setattr(fps_module, 'kdtree_available', lambda: False)
    with pytest.raises(RuntimeError, match='numba'):
        furthest_point_sample_numpy(np.zeros((4, 3)), 2, backend='kdtree')


@pytest.mark.parametrize('points,num_samples,match', [
    (np.zeros(5), 2, r'\(N, 3\) or \(B, N, 3\)'),
    (np.zeros((5, 4)), 2, r'`points`.*exactly 3'),
    (np.zeros((5, 3)), 6, '`num_samples`=6 exceeds'),
    (np.full((5, 3), np.nan), 2, 'NaN or Inf'),
    (np.zeros((0, 3)), 1, '`points` is empty'),
    (np.array([['a', 'b', 'c']]), 1, 'numeric'),
])
@pytest.mark.parametrize('backend', ['torch', 'auto'])
def test_numpy_bad_inputs_raise(points, num_samples, match, backend):
    with pytest.raises(ValueError, match=match):
        furthest_point_sample_numpy(points, num_samples, backend=backend)


@requires_cuda
@pytest.mark.parametrize('backend', ['auto', 'torch'])
def test_cuda_matches_cpu(backend):
    points = torch.rand((4, 2048, 3),
                        generator=torch.Generator().manual_seed(7))
    cpu = furthest_point_sample(points, 128, backend='torch')
    cuda = furthest_point_sample(points.cuda(), 128, backend=backend)
    assert cuda.device.type == 'cuda'
    assert torch.equal(cuda.cpu(), cpu)
