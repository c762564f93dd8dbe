# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch

from projects.pimae.pimae.ops import gather_points

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')


def gather_brute_force(points, idx):
    return np.stack([points[b][idx[b]] for b in range(len(points))])


@pytest.mark.parametrize('batch_size', [1, 3])
@pytest.mark.parametrize('idx_shape', [(5, ), (4, 6), (2, 3, 2)])
@pytest.mark.parametrize('channels', [3, 7])
@pytest.mark.parametrize('idx_dtype', [torch.long, torch.int32])
def test_matches_brute_force(batch_size, idx_shape, channels, idx_dtype):
    generator = torch.Generator().manual_seed(batch_size + channels)
    points = torch.randn((batch_size, 20, channels), generator=generator)
    idx = torch.randint(0, 20, (batch_size, *idx_shape), generator=generator)
    out = gather_points(points, idx.to(idx_dtype))
    assert out.shape == (batch_size, *idx_shape, channels)
    assert out.dtype == points.dtype
    np.testing.assert_array_equal(
        out.numpy(), gather_brute_force(points.numpy(), idx.numpy()))


def test_gradient_accumulates_over_repeated_indices():
    points = torch.rand((2, 6, 3), dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([[[0, 0], [5, 2]], [[1, 1], [1, 4]]])
    gather_points(points, idx).sum().backward()
    counts = np.stack(
        [np.bincount(row, minlength=6) for row in idx.reshape(2, -1).numpy()])
    np.testing.assert_array_equal(points.grad.numpy(),
                                  np.repeat(counts[..., None], 3, axis=-1))
    torch.autograd.gradcheck(lambda p: gather_points(p, idx),
                             (points.detach().requires_grad_(), ))


def test_empty_index_set():
    out = gather_points(torch.rand(2, 5, 3), torch.zeros((2, 0), dtype=int))
    assert out.shape == (2, 0, 3)


@pytest.mark.parametrize('points,idx,match', [
    (torch.rand(5, 3), torch.zeros(1, 2, dtype=int), '`points` must have'),
    (torch.rand(2, 5, 3), torch.zeros(2, dtype=int), '`idx` must have'),
    (torch.rand(2, 5, 3), torch.zeros(2, 3), '`idx` must be an integer'),
    (torch.rand(2, 5, 3), torch.zeros(2, 3,
                                      dtype=bool), '`idx` must be an integer'),
    (torch.rand(2, 5, 3), torch.zeros(
        3, 3, dtype=int), r'batch sizes differ.*\(3, 3\)'),
    (torch.rand(2, 0, 3), torch.zeros(2, 3, dtype=int), '`points` is empty'),
])
def test_bad_inputs_raise(points, idx, match):
    with pytest.raises(ValueError, match=match):
        gather_points(points, idx)


@pytest.mark.parametrize('bad_index', [5, -1])
def test_out_of_range_index_is_not_silent(bad_index):
    idx = torch.tensor([[0, bad_index]])
    with pytest.raises(RuntimeError):
        gather_points(torch.rand(1, 5, 3), idx)


@requires_cuda
def test_cuda_matches_cpu():
    points = torch.rand(2, 50, 4)
    idx = torch.randint(0, 50, (2, 8, 3))
    out = gather_points(points.cuda(), idx.cuda())
    assert torch.equal(out.cpu(), gather_points(points, idx))
