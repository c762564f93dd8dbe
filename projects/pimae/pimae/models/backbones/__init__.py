# Copyright (c) OpenMMLab. All rights reserved.
from .pimae_encoder import PiMAEEncoder
from .pimae_point_backbone import PiMAEPointBackbone
from .pimae_vision_transformer import PiMAEVisionTransformer
from .threedetr_backbone import ThreeDETRBackbone

__all__ = [
    'PiMAEEncoder', 'PiMAEPointBackbone', 'PiMAEVisionTransformer',
    'ThreeDETRBackbone'
]
