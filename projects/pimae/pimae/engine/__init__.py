from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403
from ..utils.checkpoint import register_safe_checkpoint_loader

# MMEngine's local checkpoint loader, made to pass weights_only=True.
register_safe_checkpoint_loader()
