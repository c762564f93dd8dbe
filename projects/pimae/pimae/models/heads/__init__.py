# Copyright (c) OpenMMLab. All rights reserved.
from .pimae_cross_modal_head import PiMAECrossModalHead
from .pimae_image_head import PiMAEImageHead
from .pimae_point_head import PiMAEPointHead

__all__ = ['PiMAEPointHead', 'PiMAEImageHead', 'PiMAECrossModalHead']
