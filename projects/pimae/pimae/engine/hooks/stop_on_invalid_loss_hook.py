"""Stop training with a clear message when a loss becomes NaN or Inf."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS


class InvalidLossError(RuntimeError):
    """A loss term became NaN or Inf."""


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Raise :class:`InvalidLossError` naming the iteration and the loss terms.

    Checked every iteration on the already-reduced log values (no extra
    synchronisation). Checkpoints saved before the failure are kept, so a
    run can be resumed from the last good epoch after fixing the cause.

    Used instead of mmdet's ``CheckInvalidLossHook``, which looks only at the
    total ``loss`` and only every ``interval`` (50) iterations, through an
    ``assert`` that ``python -O`` removes and whose error carries no message
    (it logs a fixed line), so it names neither the loss term nor where to
    resume.
    """

    priority = 'HIGHEST'  # before the logger and checkpoint hooks

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        values = {
            key: float(value.detach()) if isinstance(value, torch.Tensor)
            else float(value)
            for key, value in outputs.items() if key.startswith('loss')
        }
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{key}={value}' for key, value in bad.items())
            raise InvalidLossError(
                f'Non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}, batch {batch_idx + 1}): {terms}. '
                f'Training stopped; checkpoints in {runner.work_dir} are '
                'kept, resume with --resume after fixing the cause.')
