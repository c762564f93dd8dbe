# Copyright (c) OpenMMLab. All rights reserved.
from .pimae_encoder import PiMAEEncoder

__all__ = ['PiMAEEncoder']
