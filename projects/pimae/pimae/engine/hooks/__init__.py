from .random_state_checkpoint_hook import RandomStateCheckpointHook
from .reconstruction_visualization_hook import ReconstructionVisualizationHook
from .stop_on_invalid_loss_hook import InvalidLossError, StopOnInvalidLossHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'InvalidLossError', 'RandomStateCheckpointHook',
    'ReconstructionVisualizationHook', 'StopOnInvalidLossHook',
    'WeightsOnlyCheckpointHook'
]
