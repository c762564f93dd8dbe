# Copyright (c) OpenMMLab. All rights reserved.
"""Carry the random number generators' states through checkpoints."""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from mmdet3d.registry import HOOKS

#: Key of the states in the checkpoint dict.
CHECKPOINT_KEY = 'rng_state'


def get_random_state() -> dict:
    """The states of Python's, NumPy's and torch's (CPU, CUDA) generators,
    as tensors and plain Python values.

    Returns:
        dict: ``python``, ``numpy`` and ``torch`` (and ``cuda``, a list of
        per-device states, when CUDA is initialised).
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            name=name,
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Restore the states :func:`get_random_state` returned.

    Args:
        state (dict): The states.
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['name'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'], np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateCheckpointHook(Hook):
    """Save the generators' states of every process with each checkpoint
    and restore them on ``--resume``.

    MMEngine seeds the generators once at start-up, so a resumed run
    otherwise replays the random streams of epoch 1 (masks, dropout, point
    sampling, augmentation) instead of continuing them, and its weights
    drift from those of an uninterrupted run. With this hook a run stopped
    after epoch k and resumed ends with the weights of the uninterrupted run
    (given deterministic kernels and ``num_workers=0``, or data workers that
    are seeded per epoch). Each rank restores its own state; when the world
    size changed, the states are left as seeded and a warning says so.
    States are stored as tensors and plain values, so checkpoints still load
    with ``torch.load(weights_only=True)``. ``load_from`` (fine-tuning from
    weights) never touches the generators.
    """

    # LOW: gathers before CheckpointHook (VERY_LOW) saves in the same
    # after_train_* call; restores after the usual before_train hooks
    priority = 'LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[List[dict]] = None

    def _gather(self) -> None:
        """Collect every rank's states; a collective, so it runs in hooks
        that every rank calls (checkpoints are saved by rank 0 only)."""
        self._gathered = all_gather_object(get_random_state())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Gather the states when an iteration-based checkpoint follows."""
        if get_world_size() == 1:
            return
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch:
                continue
            if hook.every_n_train_iters(
                    runner, hook.interval,
                    hook.save_begin) or (hook.save_last
                                         and hook.is_last_train_iter(runner)):
                self._gather()
                return

    def after_train_epoch(self, runner) -> None:
        """Gather the states at the end of every epoch (once per epoch)."""
        if get_world_size() > 1:
            self._gather()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store every rank's states in ``checkpoint['rng_state']``."""
        if get_world_size() == 1:
            states = [get_random_state()]
        elif self._gathered is not None:
            states = self._gathered
        else:  # a save outside the train loop's hooks: rank 0 only
            states = [get_random_state()]
        self._gathered = None
        checkpoint[CHECKPOINT_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep this rank's states when the run resumes; they are restored
        in :meth:`before_train`, after the Runner's own (re-)seeding."""
        if not getattr(runner, '_resume', False):
            return  # load_from: weights only
        states: Optional[List[dict]] = checkpoint.get(CHECKPOINT_KEY)
        if not states:
            print_log(
                'the resumed checkpoint has no random states (written '
                'without RandomStateCheckpointHook); random streams restart '
                'from the seed',
                logger='current',
                level=logging.WARNING)
        elif len(states) != get_world_size():
            print_log(
                f'the resumed checkpoint holds random states of '
                f'{len(states)} processes but this run has '
                f'{get_world_size()}; random streams restart from the seed',
                logger='current',
                level=logging.WARNING)
        else:
            self._pending = states[get_rank()]

    def before_train(self, runner) -> None:
        """Continue the random streams of the resumed run."""
        if self._pending is not None:
            set_random_state(self._pending)
            self._pending = None
            print_log(
                'restored the random states of the resumed checkpoint',
                logger='current')
