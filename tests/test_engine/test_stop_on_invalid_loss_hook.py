from types import SimpleNamespace

import pytest
import torch

from projects.pimae.pimae.engine.hooks import (InvalidLossError,
                                               StopOnInvalidLossHook)


def runner():
    return SimpleNamespace(iter=41, epoch=2, work_dir='/tmp/work')


def test_finite_losses_pass():
    StopOnInvalidLossHook().after_train_iter(
        runner(), 3, outputs=dict(loss=torch.tensor(1.0), loss_pts=0.5,
                                  mask_overlap=float('nan')))


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_loss_names_iteration_and_term(value):
    outputs = dict(loss=torch.tensor(value), loss_pts=torch.tensor(0.1),
                   loss_img=torch.tensor(value))
    with pytest.raises(InvalidLossError) as info:
        StopOnInvalidLossHook().after_train_iter(runner(), 3, outputs=outputs)
    message = str(info.value)
    assert 'iteration 42' in message and 'epoch 3' in message
    assert 'loss_img=' in message and 'loss_pts' not in message
    assert '/tmp/work' in message
