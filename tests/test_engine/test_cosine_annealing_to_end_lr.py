"""CosineAnnealingToEndLR: mmengine's cosine when the phase fits in the
training, no change at all when the training ends before it begins."""
import math

import pytest
import torch
from mmengine.optim.scheduler import CosineAnnealingLR

from projects.pimae.pimae.engine.schedulers import CosineAnnealingToEndLR


def optimizer(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def lrs(scheduler, opt, steps):
    values = []
    for _ in range(steps):
        values.append(opt.param_groups[0]['lr'])
        scheduler.step()
    return values


def test_the_phase_anneals_as_mmengines_cosine():
    ours_opt, ref_opt = optimizer(), optimizer()
    ours = CosineAnnealingToEndLR(ours_opt, eta_min=0.01, begin=2, end=10)
    ref = CosineAnnealingLR(ref_opt, eta_min=0.01, begin=2, end=10)
    assert not ours.never_reached
    got, want = lrs(ours, ours_opt, 12), lrs(ref, ref_opt, 12)
    assert got == pytest.approx(want, rel=1e-12)
    # closed form: 0.01 + 0.09 * (1 + cos(pi * (t - 2) / 8)) / 2 in [2, 10)
    for t in range(2, 10):
        assert got[t] == pytest.approx(
            0.01 + 0.09 * (1 + math.cos(math.pi * (t - 2) / 8)) / 2)


@pytest.mark.parametrize('end', [2, 1])
def test_a_training_that_ends_before_the_phase_is_untouched(end):
    with pytest.raises(ValueError, match='end should be larger'):
        CosineAnnealingLR(optimizer(), eta_min=0.0, begin=2, end=end)
    opt = optimizer(0.3)
    scheduler = CosineAnnealingToEndLR(opt, eta_min=0.0, begin=2, end=end)
    assert scheduler.never_reached
    assert lrs(scheduler, opt, end) == [0.3] * end


def test_built_from_epochs_as_the_runner_does():
    """``convert_to_iter_based``: epochs times the epoch length, and a run
    of 1 epoch against a 2-epoch begin builds."""
    opt = optimizer()
    scheduler = CosineAnnealingToEndLR.build_iter_from_epoch(
        optimizer=opt, eta_min=0.0, begin=2, end=5, epoch_length=4)
    assert (scheduler.begin, scheduler.end, scheduler.T_max) == (8, 20, 12)
    short = CosineAnnealingToEndLR.build_iter_from_epoch(
        optimizer=optimizer(), eta_min=0.0, begin=2, end=1, epoch_length=4)
    assert short.never_reached and short.begin == 8
