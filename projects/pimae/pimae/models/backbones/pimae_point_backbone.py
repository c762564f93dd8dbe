# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE's point encoder as a seed backbone for mmdet3d's indoor heads."""
from typing import Dict, List, Optional

import torch
from mmcv.cnn import ConvModule
from torch import Tensor

from mmdet3d.models.backbones.base_pointnet import BasePointNet
from mmdet3d.registry import MODELS
from ..layers.detr_style_encoder import DETRStyleEncoder  # noqa: F401
from ..layers.pointnet_set_abstraction import \
    PointNetSetAbstraction  # noqa: F401


@MODELS.register_module()
class PiMAEPointBackbone(BasePointNet):
    """A set-abstraction pre-encoder and PiMAE's point encoder, with the
    outputs of mmdet3d's ``PointNet2SASSG``.

    ``pre_encoder`` (:class:`PointNetSetAbstraction`) samples ``num_points``
    seeds by furthest point sampling and pools a ball around each;
    ``encoder`` (:class:`DETRStyleEncoder`, PiMAE's layer type) lets the
    seeds attend to each other. With the defaults the encoder has PiMAE's
    3 point-specific + 3 shared layers (256-d, 4 heads, FFN 128), so a PiMAE
    checkpoint loads one to one into ``encoder.layers.0..5``: with this
    backbone in a detector, ``init_cfg=dict(type='PiMAEPretrained',
    checkpoint=...)`` on the detector (target prefix
    ``backbone.encoder.layers.``) initialises them.

    The returned dict is the one ``PointNet2SASSG`` returns, so mmdet3d's
    ``VoteHead`` and ``GroupFree3DHead`` read it unchanged: they take the
    seeds from ``fp_xyz[-1]``, ``fp_features[-1]`` and ``fp_indices[-1]``,
    and use the indices to gather each seed's vote targets from the
    per-point targets of the input cloud. The defaults give what VoteNet's
    head expects (1024 seeds of 256 channels); GroupFree3D's head reads 288
    channels, which ``out_channels=288`` provides through a 1x1 convolution
    (Conv1d, BN, ReLU).

    Args:
        in_channels (int): Channels of the input points, xyz first (e.g. 4
            for xyz plus the height feature of VoteNet's pipelines).
            Defaults to 3.
        pre_encoder (dict): Config of the set-abstraction layer;
            ``in_channels`` (the point features besides xyz) is filled in.
            Its ``num_points`` is the number of seeds. Defaults to 1024
            centres, radius 0.2, 64 samples, MLP 64-128-256 (3DETR's
            pre-encoder with VoteNet's seed count).
        encoder (dict): Config of the transformer encoder. Defaults to 6
            PiMAE layers.
        out_channels (int, optional): Channels of the seed features. None
            (the default) keeps the encoder width; another value adds a
            1x1 ConvModule (Conv1d, BN1d, ReLU) from the encoder width.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 pre_encoder: dict = dict(
                     type='PointNetSetAbstraction',
                     num_points=1024,
                     radius=0.2,
                     num_samples=64,
                     mlp_channels=(64, 128, 256)),
                 encoder: dict = dict(
                     type='DETRStyleEncoder',
                     num_layers=6,
                     layer_cfg=dict(
                         embed_dims=256,
                         num_heads=4,
                         feedforward_channels=128,
                         dropout=0.1)),
                 out_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 3:
            raise ValueError(f'{type(self).__name__}: in_channels must be '
                             f'>= 3 (xyz first), got {in_channels}')
        self.in_channels = in_channels
        self.pre_encoder = MODELS.build(
            dict(pre_encoder, in_channels=in_channels - 3))
        self.encoder = MODELS.build(encoder)
        embed_dims = encoder.get('layer_cfg', {}).get('embed_dims', 256)
        if self.pre_encoder.out_channels != embed_dims:
            raise ValueError(
                f'{type(self).__name__}: the pre-encoder outputs '
                f'{self.pre_encoder.out_channels} channels but the encoder '
                f'layers have embed_dims={embed_dims}; make the last '
                'pre_encoder.mlp_channels equal them')
        if out_channels is None or out_channels == embed_dims:
            self.out_proj = None
            self.out_channels = embed_dims
        else:
            self.out_proj = ConvModule(
                embed_dims,
                out_channels,
                kernel_size=1,
                conv_cfg=dict(type='Conv1d'),
                norm_cfg=dict(type='BN1d'),
                act_cfg=dict(type='ReLU'))
            self.out_channels = out_channels

    @property
    def num_seeds(self) -> int:
        """int: Number of seed points (FPS centres of the pre-encoder)."""
        return self.pre_encoder.num_points

    def forward(self, points: Tensor) -> Dict[str, List[Optional[Tensor]]]:
        """Encode a batch of point clouds into seeds.

        Args:
            points (Tensor): Points, shape (B, N, in_channels), xyz first.

        Returns:
            dict[str, list[Tensor]]: As ``PointNet2SASSG``, with M seeds and
            C = ``out_channels``:

            - sa_xyz (list[Tensor]): Input coordinates (B, N, 3) and seed
              coordinates (B, M, 3).
            - sa_features (list[Tensor | None]): Input point features
              (B, in_channels - 3, N), None for xyz only, and the pooled
              set-abstraction features (B, 256, M).
            - sa_indices (list[Tensor]): ``arange(N)`` and the seeds'
              indices in the input, int64, (B, N) and (B, M).
            - fp_xyz (list[Tensor]): The seed coordinates (B, M, 3) for the
              set-abstraction level and for the encoder output.
            - fp_features (list[Tensor]): The set-abstraction features
              (B, 256, M), then the seed features the heads read
              (B, C, M).
            - fp_indices (list[Tensor]): The seeds' indices into the input
              points (B, M), int64, for both entries.
        """
        if points.dim() != 3 or points.shape[-1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects points of shape (B, N, '
                f'{self.in_channels}) (in_channels={self.in_channels}, xyz '
                f'first), got {tuple(points.shape)}')
        xyz, features = self._split_point_feats(points)
        batch_size, num_points = xyz.shape[:2]
        input_indices = torch.arange(
            num_points,
            device=xyz.device).unsqueeze(0).expand(batch_size,
                                                   -1).contiguous()
        point_features = (None if features is None else features.transpose(
            1, 2).contiguous())
        seed_xyz, tokens, seed_indices = self.pre_encoder(xyz, point_features)
        encoded = self.encoder(tokens).transpose(1, 2).contiguous()
        if self.out_proj is not None:
            encoded = self.out_proj(encoded)
        sa_features = tokens.transpose(1, 2).contiguous()
        return dict(
            sa_xyz=[xyz, seed_xyz],
            sa_features=[features, sa_features],
            sa_indices=[input_indices, seed_indices],
            fp_xyz=[seed_xyz, seed_xyz],
            fp_features=[sa_features, encoded],
            fp_indices=[seed_indices, seed_indices])
