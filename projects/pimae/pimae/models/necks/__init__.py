# Copyright (c) OpenMMLab. All rights reserved.
from .pimae_decoder import PiMAEDecoder

__all__ = ['PiMAEDecoder']
