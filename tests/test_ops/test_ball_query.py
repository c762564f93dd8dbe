# Copyright (c) OpenMMLab. All rights reserved.
import importlib
import sys
import types

import numpy as np
import pytest
import torch

from projects.pimae.pimae.ops import ball_query, furthest_point_sample

# the package attribute `ball_query` is the function; this is its module
ball_query_module = importlib.import_module(
    'projects.pimae.pimae.ops.ball_query')


def ball_query_brute_force(radius, num_samples, ref, query):
    """Float64 NumPy loop with pointnet2 / mmcv's kernel semantics."""
    ref = np.asarray(ref, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    out = np.zeros((ref.shape[0], query.shape[1], num_samples), np.int64)
    for b in range(ref.shape[0]):
        for m in range(query.shape[1]):
            count = 0
            for n in range(ref.shape[1]):
                sq = ((ref[b, n] - query[b, m])**2).sum()
                if sq == 0 or sq < radius**2:
                    if count == 0:
                        out[b, m, :] = n
                    out[b, m, count] = n
                    count += 1
                    if count >= num_samples:
                        break
    return out


@pytest.mark.parametrize('batch_size,num_ref,num_query,num_samples,radius',
                         [(2, 200, 30, 8, .4), (1, 50, 10, 64, .8),
                          (3, 40, 5, 1, .3), (1, 30, 6, 4, 1e-3)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_brute_force(batch_size, num_ref, num_query, num_samples,
                             radius, dtype):
    generator = torch.Generator().manual_seed(num_ref + num_samples)
    ref = torch.rand((batch_size, num_ref, 3), generator=generator,
                     dtype=torch.float64)
    query = torch.rand((batch_size, num_query, 3), generator=generator,
                       dtype=torch.float64)
    ref, query = ref.to(dtype), query.to(dtype)
    idx = ball_query(radius, num_samples, ref, query)
    assert idx.shape == (batch_size, num_query, num_samples)
    assert idx.dtype == torch.long
    expected = ball_query_brute_force(radius, num_samples, ref.numpy(),
                                      query.numpy())
    np.testing.assert_array_equal(idx.numpy(), expected)


def test_fill_rule_and_empty_balls():
    ref = torch.tensor([[[0., 0., 0.], [5., 0., 0.], [0.1, 0., 0.],
                         [0.2, 0., 0.], [9., 9., 9.]]])
    query = torch.tensor([[[0.15, 0., 0.], [5., 0., 0.], [-7., 0., 0.]]])
    idx = ball_query(0.12, 4, ref, query)
    # in radius of query 0: indices 2 and 3 (index 0 is at 0.15 > 0.12);
    # the first one fills the empty slots
    assert idx[0, 0].tolist() == [2, 3, 2, 2]
    # a query on a reference point is in its own ball
    assert idx[0, 1].tolist() == [1, 1, 1, 1]
    # nothing in radius: all zeros, as the zero-initialised kernels give
    assert idx[0, 2].tolist() == [0, 0, 0, 0]
    # the radius is strict
    assert ball_query(0.1, 2, ref, ref[:, 2:3] - torch.tensor(
        [[[0.1, 0., 0.]]]))[0, 0].tolist() == [0, 0]


def test_fps_centres_always_find_themselves():
    generator = torch.Generator().manual_seed(3)
    points = torch.rand((2, 300, 3), generator=generator) * 10
    centres_idx = furthest_point_sample(points, 32)
    centres = torch.gather(points, 1, centres_idx[..., None].expand(-1, -1,
                                                                    3))
    idx = ball_query(1e-3, 5, points, centres)
    # far apart points: each ball holds only its own centre
    assert torch.equal(idx, centres_idx[..., None].expand(-1, -1, 5))


def test_chunked_path_equals_single_chunk(monkeypatch):
    generator = torch.Generator().manual_seed(7)
    ref = torch.rand((2, 64, 3), generator=generator)
    query = torch.rand((2, 37, 3), generator=generator)
    whole = ball_query(.3, 6, ref, query)
    monkeypatch.setattr(ball_query_module, 'MAX_PAIRS_PER_CHUNK', 200)
    assert torch.equal(ball_query(.3, 6, ref, query), whole)


@pytest.mark.parametrize('kwargs,message', [
    (dict(radius=0.), '`radius` must be positive'),
    (dict(radius=float('nan')), '`radius` must be positive'),
    (dict(num_samples=0), '`num_samples` must be at least 1'),
    (dict(num_samples=2.5), '`num_samples` must be an integer'),
    (dict(ref=torch.zeros(1, 5, 4)), 'exactly 3 coordinates'),
    (dict(query=torch.zeros(2, 5, 3)), 'batch sizes differ'),
    (dict(query=torch.zeros(1, 5, 3, dtype=torch.float64)), 'dtypes differ'),
    (dict(backend='cuda'), '`backend` must be one of'),
])
def test_bad_input(kwargs, message):
    args = dict(radius=.2, num_samples=4, ref=torch.zeros(1, 5, 3),
                query=torch.zeros(1, 2, 3))
    args.update(kwargs)
    backend = args.pop('backend', 'auto')
    with pytest.raises(ValueError, match=message):
        ball_query(args['radius'], args['num_samples'], args['ref'],
                   args['query'], backend=backend)


def test_mmcv_branch_calling_convention(monkeypatch):
    """The mmcv branch passes (min_radius=0, radius, n, ref, query) as
    contiguous float32 and converts the int32 result to int64."""
    calls = []

    def fake_kernel(min_radius, max_radius, num_samples, xyz, center_xyz):
        assert xyz.dtype == center_xyz.dtype == torch.float32
        assert xyz.is_contiguous() and center_xyz.is_contiguous()
        calls.append((min_radius, max_radius, num_samples))
        return torch.from_numpy(
            ball_query_brute_force(max_radius, num_samples, xyz.numpy(),
                                   center_xyz.numpy())).int()

    ops_module = types.ModuleType('mmcv.ops')
    ops_module.ball_query = fake_kernel
    package = types.ModuleType('mmcv')
    package.__path__ = []
    package.ops = ops_module
    monkeypatch.setitem(sys.modules, 'mmcv', package)
    monkeypatch.setitem(sys.modules, 'mmcv.ops', ops_module)
    monkeypatch.setattr(ball_query_module, 'use_mmcv',
                        lambda op, tensor, backend: backend != 'torch')
    generator = torch.Generator().manual_seed(1)
    ref = torch.rand((2, 60, 3), generator=generator, dtype=torch.float64)
    query = ref[:, ::3].transpose(1, 2).contiguous().transpose(1, 2)
    idx = ball_query(.25, 8, ref, query)
    assert calls == [(0., .25, 8)]
    assert idx.dtype == torch.long
    assert torch.equal(idx, ball_query(.25, 8, ref, query, backend='torch'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_torch():
    generator = torch.Generator().manual_seed(2)
    ref = torch.rand((2, 2000, 3), generator=generator)
    centres = ref[:, torch.randperm(2000, generator=generator)[:256]]
    expected = ball_query(.2, 64, ref, centres, backend='torch')
    got = ball_query(.2, 64, ref.cuda(), centres.cuda())
    assert torch.equal(got.cpu(), expected)
