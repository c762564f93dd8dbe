# Copyright (c) OpenMMLab. All rights reserved.
from .pimae_encoder import PiMAEEncoder
from .threedetr_backbone import ThreeDETRBackbone

__all__ = ['PiMAEEncoder', 'ThreeDETRBackbone']
