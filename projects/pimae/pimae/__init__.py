"""PiMAE for OpenMMLab.

Importing this package registers its modules into mmdet3d's registries, e.g.
``custom_imports = dict(imports=['projects.pimae.pimae'],
allow_failed_imports=False)`` in a config.
"""
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .ops import register_mmcv_cpu_ops

register_mmcv_cpu_ops()  # mmcv's CUDA-only point ops also take CPU tensors
