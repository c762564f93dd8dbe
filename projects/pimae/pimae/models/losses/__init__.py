# Copyright (c) OpenMMLab. All rights reserved.
from .chamfer_loss import ChamferLoss
from .giou_3d_loss import GIoU3DLoss

__all__ = ['ChamferLoss', 'GIoU3DLoss']
