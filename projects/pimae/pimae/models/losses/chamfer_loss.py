# Copyright (c) OpenMMLab. All rights reserved.
"""Chamfer reconstruction loss of Point-MAE / PiMAE."""
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ...ops import chamfer_loss


@MODELS.register_module()
class ChamferLoss(nn.Module):
    """Weighted Chamfer loss between predicted and target point sets.

    ``'l2'`` (PiMAE's ``ChamferDistanceL2``): ``mean(d_src) + mean(d_dst)``
    of squared nearest-neighbour distances over all points of the batch.
    ``'l1'`` (Point-MAE's ``ChamferDistanceL1``): half the sum of the means
    of Euclidean distances. See :func:`pimae.ops.chamfer_loss`.

    Unlike mmdet3d's ``ChamferDistance`` (which returns the two directions
    separately), this returns one scalar.

    Args:
        mode (str): 'l2' or 'l1'. Defaults to 'l2'.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, mode: str = 'l2', loss_weight: float = 1.0) -> None:
        super().__init__()
        if mode not in ('l1', 'l2'):
            raise ValueError(f"mode must be 'l1' or 'l2', got {mode!r}")
        self.mode = mode
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N, P, 3) predicted point sets.
            target (Tensor): (N, Q, 3) target point sets.

        Returns:
            Tensor: Scalar loss.
        """
        return self.loss_weight * chamfer_loss(pred, target, mode=self.mode)
