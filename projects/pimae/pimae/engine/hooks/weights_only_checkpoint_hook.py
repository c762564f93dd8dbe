"""Keep the checkpoints a run writes loadable with ``weights_only=True``."""
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmdet3d.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'
_ARRAY_TAG = '__ndarray__'


def to_plain(obj: Any) -> Any:
    """Recursively replace non-plain objects by plain, tagged equivalents.

    ``HistoryBuffer`` becomes a tagged dict of tensors, ``np.ndarray`` a tagged
    tensor and numpy scalars Python scalars. Containers keep their type
    (dict, OrderedDict, list, tuple); everything else is returned unchanged.
    """
    if isinstance(obj, HistoryBuffer):
        return {
            _BUFFER_TAG: True,
            'log_history': torch.from_numpy(np.asarray(obj._log_history)),
            'count_history': torch.from_numpy(
                np.asarray(obj._count_history)),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        return {_ARRAY_TAG: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, to_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj: Any) -> Any:
    """Invert :func:`to_plain` (tagged dicts back to their original types)."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG) is True:
            buffer = HistoryBuffer(max_length=obj['max_length'])
            buffer._log_history = obj['log_history'].numpy()
            buffer._count_history = obj['count_history'].numpy()
            return buffer
        if set(obj) == {_ARRAY_TAG}:
            return obj[_ARRAY_TAG].numpy()
        return type(obj)((k, from_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_plain(v) for v in obj)
    return obj


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Write checkpoints that hold only tensors and plain Python values.

    torch >= 2.6 loads files with ``weights_only=True`` by default, which
    refuses the ``HistoryBuffer`` objects and numpy arrays MMEngine 0.10.7
    puts into the message hub, so ``--resume`` fails out of the box
    (mmengine issue 1655). Allow-listing those classes would also require
    ``builtins.getattr`` and defeat the safety of ``weights_only``. Instead,
    this hook converts them to tagged plain values right before a checkpoint
    is saved and back right after one is loaded, so every checkpoint loads
    safely and resume restores the full training state.
    """

    priority = 'VERY_LOW'  # convert after every other hook edited the dict

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert the checkpoint dict in place to plain values."""
        checkpoint.update(to_plain(dict(checkpoint)))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the objects :meth:`before_save_checkpoint` converted."""
        checkpoint.update(from_plain(dict(checkpoint)))
