# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch

from projects.pimae.pimae.ops import furthest_point_sample, gather_points, knn

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')


def knn_brute_force(k, ref, query):
    """Float64 NumPy KNN: sort by (squared distance, index)."""
    ref = np.asarray(ref, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    sq = ((query[:, :, None, :] - ref[:, None, :, :])**2).sum(axis=-1)
    order = np.argsort(sq, axis=-1, kind='stable')[..., :k]
    return np.take_along_axis(sq, order, axis=-1), order


def lattice(size):
    axis = torch.arange(size, dtype=torch.float64)
    grid = torch.meshgrid(axis, axis, axis, indexing='ij')
    return torch.stack(grid, dim=-1).reshape(1, -1, 3)


def assert_matches_brute_force(k, ref, query):
    sq_dist, idx = knn(k, ref, query)
    expected_sq, expected_idx = knn_brute_force(k, ref.numpy(), query.numpy())
    assert sq_dist.shape == idx.shape == (ref.shape[0], query.shape[1], k)
    assert idx.dtype == torch.long and sq_dist.dtype == ref.dtype
    np.testing.assert_array_equal(idx.numpy(), expected_idx)
    np.testing.assert_allclose(sq_dist.numpy(), expected_sq, rtol=1e-6)


@pytest.mark.parametrize('batch_size', [1, 3])
@pytest.mark.parametrize('num_ref,num_query,k', [(300, 40, 16), (20, 7, 20),
                                                 (50, 5, 1)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_brute_force(batch_size, num_ref, num_query, k, dtype):
    generator = torch.Generator().manual_seed(num_ref + batch_size)
    ref = torch.randn((batch_size, num_ref, 3), generator=generator)
    query = torch.randn((batch_size, num_query, 3), generator=generator)
    assert_matches_brute_force(k, ref.to(dtype), query.to(dtype))


def test_ties_are_ordered_by_index():
    # Integer lattice: many references share a distance, including at the
    # k-th place, where only the lowest indices may be kept.
    ref = lattice(5)
    query = torch.tensor(
        [[[2., 2., 2.], [0.5, 0.5, 0.5], [4., 0., 2.], [2.5, 1., 3.]]],
        dtype=torch.float64)
    # Shuffled, so that index order is unrelated to position.
    shuffled = ref[:,
                   torch.
                   randperm(125, generator=torch.Generator().manual_seed(0))]
    for k in (1, 5, 7, 19, 20, 27, 33, 57):
        assert_matches_brute_force(k, ref, query)
        # One query at a time too: a boundary tie in any row changes the
        # selection path of the whole call.
        for row in range(query.shape[1]):
            assert_matches_brute_force(k, shuffled, query[:, row:row + 1])


def test_small_neighbourhoods_far_from_origin_float32():
    # Centimetre neighbourhoods 20 m from the origin: the matmul form of the
    # distance (|a|^2 + |b|^2 - 2ab) loses them to cancellation in float32.
    generator = torch.Generator().manual_seed(21)
    ref = 20 + 0.2 * torch.rand((2, 500, 3), generator=generator)
    assert_matches_brute_force(32, ref, ref[:, ::10])


def test_duplicate_references():
    generator = torch.Generator().manual_seed(8)
    base = torch.rand((2, 60, 3), generator=generator, dtype=torch.float64)
    ref = torch.cat([base, base.flip(1), base[:, :10]], dim=1)
    query = base[:, ::7]
    assert_matches_brute_force(9, ref, query)
    _, idx = knn(3, ref, query)
    # Each query is a reference with copies: the lowest-index copy first.
    expected_first = torch.arange(0, 60, 7).expand(2, -1)
    assert torch.equal(idx[..., 0], expected_first)


def test_centre_comes_first():
    # PiMAE groups: centres are FPS samples of the cloud itself.
    generator = torch.Generator().manual_seed(9)
    cloud = torch.rand((4, 2048, 3), generator=generator) * 6 - 3
    centre_idx = furthest_point_sample(cloud, 128)
    centres = gather_points(cloud, centre_idx)
    sq_dist, idx = knn(32, cloud, centres)
    assert torch.equal(idx[..., 0], centre_idx)
    assert (sq_dist[..., 0] == 0).all()
    assert (sq_dist.diff(dim=-1) >= 0).all()
    assert (sq_dist[..., 1:] > 0).all()


def test_all_references():
    generator = torch.Generator().manual_seed(10)
    ref = torch.rand((2, 16, 3), generator=generator, dtype=torch.float64)
    query = torch.rand((2, 5, 3), generator=generator, dtype=torch.float64)
    assert_matches_brute_force(16, ref, query)


def test_squared_distances_are_differentiable():
    generator = torch.Generator().manual_seed(11)
    ref = torch.rand((1, 30, 3), generator=generator, dtype=torch.float64)
    query = torch.rand((1, 4, 3), generator=generator, dtype=torch.float64)
    ref.requires_grad_()
    query.requires_grad_()
    sq_dist, idx = knn(5, ref, query)
    sq_dist.sum().backward()
    neighbours = ref.detach()[0, idx[0]]
    expected = 2 * (query.detach()[0, :, None] - neighbours).sum(dim=1)
    torch.testing.assert_close(query.grad[0], expected)
    assert not idx.requires_grad


def test_mmcv_branch_is_transposed_and_reordered(fake_mmcv_ops):
    # The fake kernel returns (B, k, M) int32 with ties in reverse order.
    ref = lattice(5).float(
    )[:, torch.randperm(125, generator=torch.Generator().manual_seed(1))]
    query = torch.tensor([[[2., 2., 2.], [0.5, 0.5, 0.5], [4., 0., 2.]]])
    assert_matches_brute_force(20, ref, query)
    assert fake_mmcv_ops == ['knn']
    sq_dist, idx = knn(7, ref.double(), query.double())
    assert sq_dist.dtype == torch.float64 and idx.dtype == torch.long
    assert fake_mmcv_ops == ['knn', 'knn']


def test_mmcv_branch_limits_k(fake_mmcv_ops):
    ref = torch.rand(1, 150, 3)
    sq_dist, _ = knn(120, ref, ref[:, :2])
    assert fake_mmcv_ops == [] and sq_dist.shape == (1, 2, 120)
    with pytest.raises(ValueError, match='k <= 99'):
        knn(120, ref, ref[:, :2], backend='mmcv')
    knn(3, ref, ref[:, :2], backend='torch')
    assert fake_mmcv_ops == []


def test_forced_mmcv_on_cpu_raises():
    with pytest.raises(RuntimeError, match="backend='mmcv'"):
        knn(2, torch.rand(1, 10, 3), torch.rand(1, 2, 3), backend='mmcv')


def _nan_cloud(shape):
    cloud = torch.rand(shape)
    cloud[0, -1, 1] = float('nan')
    return cloud


def _inf_cloud(shape):
    cloud = torch.rand(shape)
    cloud[-1, 0, 0] = -float('inf')
    return cloud


R = (2, 10, 3)
Q = (2, 4, 3)


@pytest.mark.parametrize('k,ref,query,match', [
    (11, torch.rand(R), torch.rand(Q), r'`k`=11 exceeds.*\(2, 10, 3\)'),
    (0, torch.rand(R), torch.rand(Q), '`k` must be at least 1'),
    (2, torch.rand(10, 3), torch.rand(Q), r'`ref` must have shape'),
    (2, torch.rand(R), torch.rand(2, 4, 4), r'`query`.*\(2, 4, 4\)'),
    (2, torch.rand(R), torch.rand(3, 4, 3), r'batch sizes differ.*`query`'),
    (2, _nan_cloud(R), torch.rand(Q), '`ref`.*NaN or Inf'),
    (2, torch.rand(R), _inf_cloud(Q), '`query`.*NaN or Inf'),
    (2, torch.rand(R), torch.rand(2, 0, 3), '`query` is empty'),
    (2, torch.rand(R), torch.rand(Q, dtype=torch.float64), 'dtypes differ'),
])
def test_bad_inputs_raise(k, ref, query, match):
    with pytest.raises(ValueError, match=match):
        knn(k, ref, query)


def test_bad_backend_raises():
    with pytest.raises(ValueError, match='`backend`'):
        knn(2, torch.rand(R), torch.rand(Q), backend='faiss')


@requires_cuda
@pytest.mark.parametrize('backend', ['auto', 'torch'])
def test_cuda_matches_cpu(backend):
    generator = torch.Generator().manual_seed(12)
    cloud = torch.rand((4, 2048, 3), generator=generator)
    centres = cloud[:, ::16]
    cpu_sq, cpu_idx = knn(32, cloud, centres)
    cuda_sq, cuda_idx = knn(32, cloud.cuda(), centres.cuda(), backend=backend)
    assert torch.equal(cuda_idx.cpu(), cpu_idx)
    torch.testing.assert_close(cuda_sq.cpu(), cpu_sq)
