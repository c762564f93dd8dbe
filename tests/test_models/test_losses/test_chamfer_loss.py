"""ChamferLoss against hand-computed cases and a brute-force oracle."""
import itertools

import pytest
import torch

from projects.pimae.pimae.models.losses import ChamferLoss


def brute_force(pred, target, mode):
    """Chamfer loss by explicit loops over every pair of points."""
    src_terms, dst_terms = [], []
    for b in range(pred.size(0)):
        for p in pred[b]:
            src_terms.append(min(((p - q)**2).sum() for q in target[b]))
        for q in target[b]:
            dst_terms.append(min(((p - q)**2).sum() for p in pred[b]))
    src, dst = torch.stack(src_terms), torch.stack(dst_terms)
    if mode == 'l2':
        return src.mean() + dst.mean()
    return (src.sqrt().mean() + dst.sqrt().mean()) / 2


def test_hand_computed_case():
    pred = torch.tensor([[[0., 0., 0.], [1., 0., 0.]]])
    target = torch.tensor([[[0., 0., 0.], [0., 3., 0.]]])
    # pred -> target: 0 and 1; target -> pred: 0 and 9
    assert ChamferLoss('l2')(
        pred, target).item() == pytest.approx((0 + 1) / 2 + (0 + 9) / 2)
    assert ChamferLoss('l1')(pred, target).item() == pytest.approx(
        ((0 + 1) / 2 + (0 + 3) / 2) / 2)
    assert ChamferLoss('l2', loss_weight=2.5)(pred, target).item() == \
        pytest.approx(2.5 * 5.)


@pytest.mark.parametrize('mode', ['l1', 'l2'])
def test_matches_brute_force_over_the_batch(mode):
    generator = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 5, 3, generator=generator, dtype=torch.float64)
    target = torch.randn(3, 7, 3, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(
        ChamferLoss(mode)(pred, target), brute_force(pred, target, mode))


@pytest.mark.parametrize('mode', ['l1', 'l2'])
def test_gradient_matches_brute_force(mode):
    generator = torch.Generator().manual_seed(1)
    pred = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64)
    target = torch.randn(2, 6, 3, generator=generator, dtype=torch.float64)
    grads = []
    for loss_fn in (ChamferLoss(mode), lambda p, t: brute_force(p, t, mode)):
        p, t = pred.clone().requires_grad_(), target.clone().requires_grad_()
        loss_fn(p, t).backward()
        grads.append((p.grad, t.grad))
    for ours, oracle in zip(*grads):
        torch.testing.assert_close(ours, oracle)


def test_zero_for_equal_sets_in_any_order():
    points = torch.randn(2, 6, 3)
    for perm in itertools.islice(itertools.permutations(range(6)), 3):
        shuffled = points[:, list(perm)]
        assert ChamferLoss('l2')(points, shuffled).item() == 0.
        assert ChamferLoss('l1')(points, shuffled).item() == 0.


def test_unknown_mode():
    with pytest.raises(ValueError, match="'l1' or 'l2'"):
        ChamferLoss('l3')
