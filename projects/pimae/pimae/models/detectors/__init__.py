# Copyright (c) OpenMMLab. All rights reserved.
"""Downstream detectors, registered into ``mmdet3d.registry.MODELS``."""
from .threedetr import ThreeDETR

__all__ = ['ThreeDETR']
