# Copyright (c) OpenMMLab. All rights reserved.
from .pimae import PiMAE

__all__ = ['PiMAE']
