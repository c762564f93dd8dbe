# Copyright (c) OpenMMLab. All rights reserved.
"""Point reconstruction head: masked groups -> Chamfer loss."""
from typing import Optional

from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.weight_init import init_pimae_weights


def predict_per_point(conv: nn.Conv1d, feat: Tensor, group_size: int,
                      channels: int) -> Tensor:
    """Apply a 1x1 ``Conv1d`` to group features and split it per point.

    Output channel ``s * channels + c`` is channel ``c`` of point ``s``, the
    original's ``reshape(B * M, -1, channels)``.

    Args:
        conv (nn.Conv1d): Conv with ``group_size * channels`` outputs.
        feat (Tensor): (B, M, C_in) group features.
        group_size (int): Points per group S.
        channels (int): Channels per point.

    Returns:
        Tensor: (B, M, S, channels).
    """
    batch_size, num_groups = feat.shape[:2]
    pred = conv(feat.transpose(1, 2)).transpose(1, 2)
    return pred.reshape(batch_size, num_groups, group_size, channels)


@MODELS.register_module()
class PiMAEPointHead(BaseModule):
    """Predict the points of every masked group (``loss_pts``; see
    projects/pimae/docs/original_code.md, 'Point loss').

    A 1x1 ``Conv1d`` (``increase_dim``) maps each masked-group feature to
    ``group_size`` centre-relative xyz; the loss is the Chamfer distance to
    the ground-truth group (``loss_pts``).

    Args:
        in_channels (int): Decoder feature dimension. Defaults to 192.
        group_size (int): Points per group S. Defaults to 32.
        loss (dict): Loss config. Defaults to
            ``dict(type='ChamferLoss', mode='l2', loss_weight=1.0)``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 192,
                 group_size: int = 32,
                 loss: dict = dict(
                     type='ChamferLoss', mode='l2', loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.group_size = group_size
        self.increase_dim = nn.Conv1d(in_channels, 3 * group_size, 1)
        self.loss_module = MODELS.build(loss)

    def init_weights(self) -> None:
        """Truncated-normal conv (see docs/original_code.md,
        'Initialisation')."""
        super().init_weights()
        self.apply(init_pimae_weights)

    def forward(self, pts_feat: Tensor) -> Tensor:
        """Predict the masked groups.

        Args:
            pts_feat (Tensor): (B, M, in_channels) masked-group features.

        Returns:
            Tensor: (B, M, S, 3) predicted centre-relative points.
        """
        return predict_per_point(self.increase_dim, pts_feat, self.group_size,
                                 3)

    def loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Chamfer loss between predicted and ground-truth groups.

        Args:
            pred (Tensor): (B, M, S, 3) predictions.
            target (Tensor): (B, M, S', 3) centre-relative ground truth.

        Returns:
            Tensor: Scalar loss, averaged over all B * M groups, computed in
            float32 (also under autocast).
        """
        return self.loss_module(
            pred.flatten(0, 1).float(),
            target.flatten(0, 1).float())
