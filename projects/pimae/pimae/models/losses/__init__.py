# Copyright (c) OpenMMLab. All rights reserved.
from .chamfer_loss import ChamferLoss

__all__ = ['ChamferLoss']
