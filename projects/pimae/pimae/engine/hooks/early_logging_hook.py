"""Log the first iterations of a run early, then at the configured pace."""
from typing import Optional

from mmengine.hooks import Hook, LoggerHook

from mmdet3d.registry import HOOKS


@HOOKS.register_module()
class EarlyLoggingHook(Hook):
    """Make the ``LoggerHook`` log iterations 1, 2, 4, 8, ... of the first
    epoch of a run, until its configured ``interval`` is reached.

    With ``interval=50`` and a few seconds per iteration (a CPU, or a large
    batch) the first loss line of a run would come after minutes, and a
    short epoch would be logged only at its end; a user cannot tell a slow
    start from a hung one. With this hook the first loss line follows the
    first iteration. Later epochs log as configured.
    """

    priority = 'LOW'  # after LoggerHook ('BELOW_NORMAL')

    def __init__(self) -> None:
        self._logger_hook: Optional[LoggerHook] = None
        self._interval = 0
        self._active = False

    def before_train(self, runner) -> None:
        """Find the logger hook and start with an interval of 1."""
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook):
                self._logger_hook = hook
                self._interval = hook.interval
                self._active = hook.interval > 1
                if self._active:
                    hook.interval = 1
                return

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Double the interval after each iteration the logger logged.

        Runs after ``LoggerHook.after_train_iter`` (lower priority), so
        the iteration just finished was logged with the old interval.
        """
        hook = self._logger_hook
        if not self._active or hook is None:
            return
        if (batch_idx + 1) % hook.interval == 0:
            hook.interval = min(2 * hook.interval, self._interval)
            self._active = hook.interval < self._interval

    def after_train_epoch(self, runner) -> None:
        """Restore the configured interval after the first epoch."""
        if self._logger_hook is not None:
            self._logger_hook.interval = self._interval
        self._active = False
