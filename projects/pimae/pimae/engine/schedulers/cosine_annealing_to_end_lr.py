"""A cosine phase that ends where the training ends, however short."""
from mmengine.optim.scheduler import CosineAnnealingLR
from mmengine.optim.scheduler.param_scheduler import INF

from mmdet3d.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingToEndLR(CosineAnnealingLR):
    """MMEngine's ``CosineAnnealingLR`` from ``begin`` to the end of training,
    for the cosine phase after a warm-up.

    Written without ``end`` (nor ``T_max``) in a config, the scheduler gets
    the training's end from MMEngine's Runner (``train_cfg.max_epochs``), so
    a run shortened with ``--cfg-options train_cfg.max_epochs=N`` anneals to
    ``eta_min`` at its own last iteration. MMEngine refuses a scheduler
    whose ``end`` is not after its ``begin``; here a training that ends
    before the cosine phase begins (a short trial run that stops within the
    warm-up) just never reaches the phase: the scheduler changes nothing.

    Args:
        optimizer: Wrapped optimizer.
        *args: ``CosineAnnealingLR``'s ``T_max``, ``eta_min``, ...
        begin (int): First step (epoch or iteration) of the phase.
            Defaults to 0.
        end (int): Step after the last one; the Runner gives the end of
            training when the config leaves it out. Defaults to INF.
        **kwargs: Other arguments of ``CosineAnnealingLR``.
    """

    def __init__(self, optimizer, *args, begin: int = 0, end: int = INF,
                 **kwargs):
        #: True when the training ends before the phase begins
        self.never_reached = end <= begin
        if self.never_reached:
            end = begin + 1  # any end > begin: no step of the run gets here
        super().__init__(optimizer, *args, begin=begin, end=end, **kwargs)
