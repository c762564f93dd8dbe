"""RandomStateCheckpointHook: generator states survive a safe checkpoint."""
import io
import random
from types import SimpleNamespace

import numpy as np
import torch

from projects.pimae.pimae.engine.hooks import RandomStateCheckpointHook
from projects.pimae.pimae.engine.hooks.random_state_checkpoint_hook import (
    get_random_state, set_random_state)


def draws():
    return (random.random(), float(np.random.rand()), np.random.randn(),
            float(torch.rand(1)))


def test_states_round_trip_through_weights_only_load():
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    np.random.randn()  # leave a cached gaussian in numpy's state
    state = get_random_state()
    expected = draws()
    buffer = io.BytesIO()
    torch.save(dict(rng_state=[state]), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['rng_state'][0]
    draws()  # move every stream on
    set_random_state(loaded)
    assert draws() == expected


def test_hook_restores_only_on_resume_and_after_reseeding():
    hook = RandomStateCheckpointHook()
    checkpoint = {}
    torch.manual_seed(3)
    hook.before_save_checkpoint(None, checkpoint)
    expected = float(torch.rand(1))

    torch.manual_seed(0)
    hook.after_load_checkpoint(SimpleNamespace(_resume=False), checkpoint)
    hook.before_train(None)
    assert float(torch.rand(1)) != expected  # load_from keeps the seed

    hook.after_load_checkpoint(SimpleNamespace(_resume=True), checkpoint)
    torch.manual_seed(0)  # the Runner may re-seed after loading
    hook.before_train(None)
    assert float(torch.rand(1)) == expected
