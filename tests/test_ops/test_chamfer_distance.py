# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch

from projects.pimae.pimae.ops import chamfer_distance, chamfer_loss

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')


def chamfer_brute_force(src, dst, mode):
    """Float64 NumPy per-point Chamfer distances and nearest indices."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    dist = ((src[:, :, None, :] - dst[:, None, :, :])**2).sum(axis=-1)
    if mode == 'l1':
        dist = np.sqrt(dist)
    return (dist.min(axis=2), dist.min(axis=1), dist.argmin(axis=2),
            dist.argmin(axis=1))


def random_pair(batch_size, num_src, num_dst, seed, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    src = torch.randn((batch_size, num_src, 3), generator=generator)
    dst = torch.randn((batch_size, num_dst, 3), generator=generator)
    return src.to(dtype), dst.to(dtype)


@pytest.mark.parametrize('batch_size', [1, 4])
@pytest.mark.parametrize('num_src,num_dst', [(32, 32), (17, 40)])
@pytest.mark.parametrize('mode', ['l2', 'l1'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_brute_force(batch_size, num_src, num_dst, mode, dtype):
    src, dst = random_pair(batch_size, num_src, num_dst, num_src, dtype)
    dist_src, dist_dst, idx_src, idx_dst = chamfer_distance(src, dst, mode)
    expected = chamfer_brute_force(src.numpy(), dst.numpy(), mode)
    assert dist_src.shape == idx_src.shape == (batch_size, num_src)
    assert dist_dst.shape == idx_dst.shape == (batch_size, num_dst)
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(dist_src.numpy(), expected[0], rtol=rtol)
    np.testing.assert_allclose(dist_dst.numpy(), expected[1], rtol=rtol)
    np.testing.assert_array_equal(idx_src.numpy(), expected[2])
    np.testing.assert_array_equal(idx_dst.numpy(), expected[3])


@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_reductions_apply_to_each_direction(reduction, mode):
    src, dst = random_pair(3, 10, 14, 13)
    per_point = chamfer_distance(src, dst, mode)
    reduced = chamfer_distance(src, dst, mode, reduction)
    for full, value in zip(per_point[:2], reduced[:2]):
        assert value.dim() == 0
        torch.testing.assert_close(value, getattr(full, reduction)())
    for full_idx, idx in zip(per_point[2:], reduced[2:]):
        assert torch.equal(full_idx, idx)


def test_loss_values_by_hand():
    src = torch.tensor([[[0., 0., 0.], [0., 0., 1.]]])
    dst = torch.tensor([[[3., 4., 0.]]])
    # Squared distances: src -> dst 25 and 26 (mean 25.5); dst -> src 25.
    assert chamfer_loss(src, dst, 'l2').item() == pytest.approx(50.5)
    # Euclidean: 5 and sqrt(26) (mean (5 + 5.099) / 2); back: 5; halved.
    expected_l1 = ((5 + np.sqrt(26)) / 2 + 5) / 2
    assert chamfer_loss(src, dst, 'l1').item() == pytest.approx(expected_l1)


@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_loss_matches_brute_force_batched(mode):
    src, dst = random_pair(8 * 76 // 16, 32, 32, 14)
    dist_src, dist_dst, _, _ = chamfer_brute_force(src.numpy(), dst.numpy(),
                                                   mode)
    expected = dist_src.mean() + dist_dst.mean()
    if mode == 'l1':
        expected /= 2
    assert chamfer_loss(src, dst, mode).item() == pytest.approx(expected)


@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_identical_sets_have_zero_loss_and_finite_gradient(mode):
    src, _ = random_pair(2, 16, 1, 15)
    src.requires_grad_()
    dst = src.detach().flip(1).clone().requires_grad_()
    loss = chamfer_loss(src, dst, mode)
    loss.backward()
    assert loss.item() == 0
    assert torch.isfinite(src.grad).all() and torch.isfinite(dst.grad).all()
    assert (src.grad == 0).all()


def test_duplicate_points_give_a_nearest_index():
    src, dst = random_pair(2, 12, 6, 16)
    dst = torch.cat([dst, dst], dim=1)
    for mode in ('l2', 'l1'):
        dist_src, _, idx_src, _ = chamfer_distance(src, dst, mode)
        expected = chamfer_brute_force(src.numpy(), dst.numpy(), mode)
        np.testing.assert_allclose(dist_src.numpy(), expected[0])
        nearest = torch.gather(dst, 1, idx_src[..., None].expand(-1, -1, 3))
        chosen = (nearest - src).square().sum(-1)
        chosen = chosen if mode == 'l2' else chosen.sqrt()
        torch.testing.assert_close(chosen, dist_src)


@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_gradcheck(mode):
    # Random float64 points: no zero distances, no ties.
    src, dst = random_pair(2, 7, 9, 17)
    src.requires_grad_()
    dst.requires_grad_()

    def per_point(a, b):
        return chamfer_distance(a, b, mode)[:2]

    assert torch.autograd.gradcheck(per_point, (src, dst))
    assert torch.autograd.gradcheck(lambda a, b: chamfer_loss(a, b, mode),
                                    (src, dst))


def test_gradient_matches_closed_form_l2():
    src, dst = random_pair(1, 5, 8, 18)
    src.requires_grad_()
    dist_src, _, idx_src, _ = chamfer_distance(src, dst, 'l2')
    dist_src.sum().backward()
    expected = 2 * (src.detach() - dst[0, idx_src[0]])
    torch.testing.assert_close(src.grad, expected)


def test_equals_mmdet3d_chamfer_distance():
    losses = pytest.importorskip('mmdet3d.models.losses')
    src, dst = random_pair(6, 32, 32, 19, torch.float32)
    src.requires_grad_()
    loss_src, loss_dst = losses.ChamferDistance(
        mode='l2', reduction='mean', loss_src_weight=1.0,
        loss_dst_weight=1.0)(src, dst)
    ours = chamfer_loss(src, dst, 'l2')
    torch.testing.assert_close(ours, loss_src + loss_dst)
    their_grad, = torch.autograd.grad(loss_src + loss_dst, src)
    our_grad, = torch.autograd.grad(ours, src)
    torch.testing.assert_close(our_grad, their_grad)
    src = src.detach()
    theirs = losses.chamfer_distance(src, dst, reduction='none')
    ours = chamfer_distance(src, dst, 'l2', 'none')
    for mine, other in zip(ours, theirs):
        torch.testing.assert_close(mine, other)


@pytest.mark.parametrize('kwargs,match', [
    (dict(src=torch.rand(5, 3)), '`src` must have shape'),
    (dict(dst=torch.rand(2, 5, 4)), 'channel counts differ'),
    (dict(dst=torch.rand(3, 5, 3)), r'batch sizes differ.*\(3, 5, 3\)'),
    (dict(dst=torch.rand(2, 0, 3)), '`dst` is empty'),
    (dict(mode='l3'), '`mode`'),
    (dict(reduction='avg'), '`reduction`'),
])
def test_bad_inputs_raise(kwargs, match):
    args = dict(src=torch.rand(2, 4, 3), dst=torch.rand(2, 5, 3))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        chamfer_distance(**args)


@requires_cuda
@pytest.mark.parametrize('mode', ['l2', 'l1'])
def test_cuda_matches_cpu(mode):
    src, dst = random_pair(8, 32, 32, 20, torch.float32)
    cpu = chamfer_distance(src, dst, mode)
    cuda = chamfer_distance(src.cuda(), dst.cuda(), mode)
    for a, b in zip(cpu, cuda):
        torch.testing.assert_close(b.cpu(), a)
