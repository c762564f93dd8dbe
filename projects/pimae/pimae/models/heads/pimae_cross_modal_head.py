# Copyright (c) OpenMMLab. All rights reserved.
"""Cross-modal head: point decoder predicts image-decoder features."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...geometry import project_points, sample_patch_tokens
from ..utils.weight_init import init_pimae_weights
from .pimae_point_head import predict_per_point


@MODELS.register_module()
class PiMAECrossModalHead(BaseModule):
    """Point-to-image feature regression (``loss_cross``).

    A 1x1 ``Conv1d`` (``increase_dim_feat``) maps each masked-group feature
    to ``group_size`` feature vectors; slot ``s`` predicts the image-decoder
    feature at the projection of the group's ``s``-th ground-truth point (KNN
    rank order, centre first). The target is sampled bilinearly from the
    image decoder's output (after its norm) **without gradient**, so this
    loss trains only the point side.

    The ``compat_*`` options reproduce the original's sampling (see
    :func:`pimae.geometry.sample_feature_map`): ``compat_swap_xy=True``,
    ``compat_norm_shape=(530, 730)`` and ``compat_upsample_size=(256, 352)``
    together give the original's numbers; all off samples the patch-grid map
    directly at the exact location. ``compat_upsample_size`` alone is the
    original's (slower, nearly equivalent) upsample-then-sample path.
    The original divides pixels of the *native* image (its camera matrix is
    the native one) by 730 and 530, so with ``compat_norm_shape`` the
    projected pixels of the network input are first mapped back to the
    native frame with each sample's resize factors (``native_scale``, which
    :class:`PiMAE` reads from ``ori_shape`` / ``scale_factor``).

    Args:
        in_channels (int): Point decoder feature dimension. Defaults to 192.
        feat_channels (int): Image decoder feature dimension (the target).
            Defaults to 192.
        group_size (int): Points per group S. Defaults to 32.
        compat_swap_xy (bool): Sample at the transposed normalised location
            like the original. Defaults to False.
        compat_norm_shape (tuple[float, float], optional): ``(height, width)``
            normaliser of the original, (530, 730). Defaults to None.
        compat_upsample_size (tuple[int, int], optional): ``(height, width)``
            to upsample the feature map to before sampling, (256, 352) in the
            original. Defaults to None.
        loss (dict): Loss config. Defaults to
            ``dict(type='mmdet.MSELoss', loss_weight=1.0)`` (mean over all
            elements, as ``nn.MSELoss``).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 192,
                 feat_channels: int = 192,
                 group_size: int = 32,
                 compat_swap_xy: bool = False,
                 compat_norm_shape: Optional[Tuple[float, float]] = None,
                 compat_upsample_size: Optional[Tuple[int, int]] = None,
                 loss: dict = dict(type='mmdet.MSELoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.group_size = group_size
        self.compat_swap_xy = compat_swap_xy
        self.compat_norm_shape = (
            tuple(compat_norm_shape)
            if compat_norm_shape is not None else None)
        self.compat_upsample_size = (
            tuple(compat_upsample_size)
            if compat_upsample_size is not None else None)
        self.increase_dim_feat = nn.Conv1d(in_channels,
                                           feat_channels * group_size, 1)
        self.loss_module = MODELS.build(loss)

    def init_weights(self) -> None:
        """Truncated-normal conv, as the original initialises it."""
        super().init_weights()
        self.apply(init_pimae_weights)

    def forward(self, pts_feat: Tensor) -> Tensor:
        """Predict image features for every point of the masked groups.

        Args:
            pts_feat (Tensor): (B, M, in_channels) masked-group features.

        Returns:
            Tensor: (B, M, S, feat_channels) predictions.
        """
        return predict_per_point(self.increase_dim_feat, pts_feat,
                                 self.group_size, self.feat_channels)

    @torch.no_grad()
    def construct_target(self,
                         img_feat: Tensor,
                         points: Tensor,
                         depth2img: Tensor,
                         grid_size: Sequence[int],
                         img_shape: Sequence[int],
                         native_scale: Optional[Tensor] = None) -> Tensor:
        """Sample the (detached) image features at the points' projections.

        Args:
            img_feat (Tensor): (B, h * w, feat_channels) image decoder
                features in row-major patch order.
            points (Tensor): (B, M, S, 3) absolute xyz (depth frame) of the
                masked groups' ground-truth points, KNN rank order.
            depth2img (Tensor): (B, 3, 3) projection to 1-based pixels of the
                network input image.
            grid_size (Sequence[int]): (h, w) of the patch grid.
            img_shape (Sequence[int]): (H, W) of the network input image.
            native_scale (Tensor, optional): (B, 2) resize factors
                ``(sx, sy)`` from each native image to ``img_shape``;
                required with ``compat_norm_shape`` (pass ones when
                ``depth2img`` already maps to native pixels), unused
                otherwise. Defaults to None.

        Returns:
            Tensor: (B, M, S, feat_channels) targets without gradient, at
            least float32 (half-precision features under autocast are
            sampled and returned in float32). Points projecting outside the
            image get (near) zero targets, as ``grid_sample`` pads with zeros
            (the original's behaviour).
        """
        if img_feat.size(-1) != self.feat_channels:
            raise ValueError(
                f'image features have {img_feat.size(-1)} channels but the '
                f'cross-modal head predicts {self.feat_channels}')
        if self.compat_norm_shape is not None and native_scale is None:
            raise ValueError(
                'compat_norm_shape divides pixels of the native image, so '
                'construct_target needs native_scale (B, 2): the resize '
                'factors from each native image to the network input')
        batch_size, num_masked, group_size = points.shape[:3]
        uv, _ = project_points(
            points.reshape(batch_size, -1, 3).detach(), depth2img)
        feat = img_feat.detach()
        if feat.dtype in (torch.float16, torch.bfloat16):
            # keep the bilinear mix of half-precision features in float32
            feat = feat.float()
        target = sample_patch_tokens(
            feat,
            grid_size,
            uv,
            img_shape,
            compat_swap_xy=self.compat_swap_xy,
            compat_norm_shape=self.compat_norm_shape,
            compat_upsample_size=self.compat_upsample_size,
            native_scale=native_scale)
        return target.reshape(batch_size, num_masked, group_size, -1)

    def loss(self,
             pts_feat: Tensor,
             img_feat: Tensor,
             points: Tensor,
             depth2img: Tensor,
             grid_size: Sequence[int],
             img_shape: Sequence[int],
             native_scale: Optional[Tensor] = None) -> Tensor:
        """Predict image features for the masked groups' points and regress
        the (detached) image decoder features at their projections.

        Args:
            pts_feat (Tensor): (B, M, in_channels) masked-group features.
            img_feat (Tensor): (B, h * w, feat_channels) image decoder
                features, row-major patch order.
            points (Tensor): (B, M, S, 3) absolute ground-truth points of the
                masked groups, KNN rank order.
            depth2img (Tensor): (B, 3, 3) projection to 1-based pixels of the
                network input image.
            grid_size (Sequence[int]): (h, w) of the patch grid.
            img_shape (Sequence[int]): (H, W) of the network input image.
            native_scale (Tensor, optional): (B, 2), see
                :meth:`construct_target`. Defaults to None.

        Returns:
            Tensor: Scalar mean squared error over all elements, computed in
            float32 (also under autocast).
        """
        target = self.construct_target(img_feat, points, depth2img, grid_size,
                                       img_shape, native_scale)
        pred = self(pts_feat)
        if pred.shape != target.shape:
            raise ValueError(f'cross-modal predictions {tuple(pred.shape)} do '
                             f'not match the targets {tuple(target.shape)}')
        return self.loss_module(pred.float(), target.float())
