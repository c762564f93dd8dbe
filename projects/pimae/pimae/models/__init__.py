# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE and 3DETR models; importing registers them into mmdet3d's
``MODELS``, ``TASK_UTILS`` and ``WEIGHT_INITIALIZERS`` registries."""
from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .initializers import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .tokenizers import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
