# Copyright (c) OpenMMLab. All rights reserved.
"""Detection heads, registered into ``mmdet3d.registry.MODELS``."""
from .threedetr_head import ThreeDETRHead

__all__ = ['ThreeDETRHead']
