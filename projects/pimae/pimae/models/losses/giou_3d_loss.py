# Copyright (c) OpenMMLab. All rights reserved.
"""Generalized IoU loss of yaw-rotated 3D boxes (3DETR's ``loss_giou``)."""
from typing import Optional

from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..task_modules.generalized_box3d_iou import generalized_box3d_iou


@MODELS.register_module()
class GIoU3DLoss(nn.Module):
    """``1 - GIoU`` of aligned pairs of 3D boxes.

    The GIoU is :func:`generalized_box3d_iou` (exact rotated intersection,
    3DETR's axis-aligned enclosing box); it is differentiable, so the loss
    also trains yaw-rotated boxes.

    Args:
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'unknown reduction {reduction!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted boxes (gravity centre, size, yaw),
                shape (N, 7).
            target (Tensor): Target boxes, shape (N, 7). Give masked-out
                pairs a box of positive size, not zeros, so that no NaN
                enters the weighted sum.
            weight (Tensor, optional): Per-pair weights, shape (N,).
            avg_factor (float, optional): Divisor of the sum for 'mean'.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss (a scalar unless the reduction is 'none').
        """
        reduction = reduction_override or self.reduction
        _, giou = generalized_box3d_iou(pred, target, aligned=True)
        loss = weight_reduce_loss(1 - giou, weight, reduction, avg_factor)
        return self.loss_weight * loss
