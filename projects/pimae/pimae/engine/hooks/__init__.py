from .checkpoint_key_check_hook import CheckpointKeyCheckHook
from .early_logging_hook import EarlyLoggingHook
from .random_state_checkpoint_hook import RandomStateCheckpointHook
from .reconstruction_visualization_hook import ReconstructionVisualizationHook
from .stop_on_invalid_loss_hook import InvalidLossError, StopOnInvalidLossHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'CheckpointKeyCheckHook', 'EarlyLoggingHook', 'InvalidLossError',
    'RandomStateCheckpointHook', 'ReconstructionVisualizationHook',
    'StopOnInvalidLossHook', 'WeightsOnlyCheckpointHook'
]
