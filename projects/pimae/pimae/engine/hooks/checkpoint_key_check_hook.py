"""Refuse a checkpoint that does not fit the model it is loaded into."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS
from ...utils.checkpoint import (check_checkpoint_keys, get_state_dict,
                                 revise_keys)


@HOOKS.register_module()
class CheckpointKeyCheckHook(Hook):
    """Check every checkpoint the Runner loads (``load_from``, ``--resume``,
    ``tools/test.py``) against the model before its weights are copied.

    MMEngine copies whatever keys match and only warns about the rest, so
    the checkpoint of another model "loads" with 0 matched tensors and a run
    evaluates, fine-tunes or draws a randomly initialised model. This hook
    raises :class:`~projects.pimae.pimae.utils.checkpoint.CheckpointError`
    with the key report when fewer than ``min_matched_fraction`` of the
    model's tensors are in the checkpoint, and logs the report when some
    are missing.

    Args:
        min_matched_fraction (float): Smallest accepted fraction of the
            model's state-dict keys found with the right shape. Defaults to
            0.5.
    """

    priority = 'VERY_HIGH'

    def __init__(self, min_matched_fraction: float = 0.5) -> None:
        if not 0. < min_matched_fraction <= 1.:
            raise ValueError('min_matched_fraction must be in (0, 1], got '
                             f'{min_matched_fraction}')
        self.min_matched_fraction = min_matched_fraction

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint's state dict with the model's.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        source = getattr(runner, '_load_from', None) or 'resumed checkpoint'
        report = check_checkpoint_keys(
            model, revise_keys(get_state_dict(checkpoint, source)), source,
            self.min_matched_fraction)
        if report.missing or report.unexpected or report.shape_mismatch:
            print_log(report.format(source), logger='current')
