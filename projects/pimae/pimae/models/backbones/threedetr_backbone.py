# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR's point backbone: PointNet++ set abstraction + transformer encoder."""
from typing import Dict, Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..layers.detr_style_encoder import DETRStyleEncoder  # noqa: F401
from ..layers.pointnet_set_abstraction import \
    PointNetSetAbstraction  # noqa: F401


@MODELS.register_module()
class ThreeDETRBackbone(BaseModule):
    """The 3DETR encoder side: ``pre_encoder`` then ``encoder``.

    ``pre_encoder`` is a :class:`PointNetSetAbstraction` (2048 FPS centres,
    radius 0.2, 64 samples, MLP 3-64-128-256 by default) and ``encoder`` a
    :class:`DETRStyleEncoder` of PiMAE's point layers (pre-norm, 4 heads,
    FFN 128, dropout 0.1, no position embedding, no final norm). Because the
    encoder is PiMAE's own layer class, PiMAE's 3 point-specific + 3 shared
    layers load one to one into a 6-layer encoder, under the keys
    ``backbone.encoder.layers.{0..5}.*`` of the detector (see
    ``PiMAEPretrained`` and ``tools/model_converters/pimae_to_3detr.py
    --prefix backbone.encoder.layers.``). The 3-layer encoder is the vanilla
    3DETR.

    Args:
        in_channels (int): Channels of the input points: 3 (xyz) plus any
            point features (e.g. 1 for a height channel). Defaults to 3.
        pre_encoder (dict): Config of the set-abstraction layer;
            ``in_channels`` is filled in. Defaults to the 3DETR layer.
        encoder (dict): Config of the transformer encoder. Defaults to the
            3-layer vanilla 3DETR encoder.
        xavier_init_encoder (bool): Re-initialise every encoder matrix with
            xavier-uniform after the layers' own initialisation, as 3DETR's
            encoder does at construction. Pretrained weights loaded by the
            detector's ``init_cfg`` override it. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 pre_encoder: dict = dict(
                     type='PointNetSetAbstraction',
                     num_points=2048,
                     radius=0.2,
                     num_samples=64,
                     mlp_channels=(64, 128, 256)),
                 encoder: dict = dict(
                     type='DETRStyleEncoder',
                     num_layers=3,
                     layer_cfg=dict(
                         embed_dims=256,
                         num_heads=4,
                         feedforward_channels=128,
                         dropout=0.1)),
                 xavier_init_encoder: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 3:
            raise ValueError(f'in_channels must be >= 3 (xyz first), got '
                             f'{in_channels}')
        self.in_channels = in_channels
        self.xavier_init_encoder = xavier_init_encoder
        pre_encoder = dict(pre_encoder, in_channels=in_channels - 3)
        self.pre_encoder = MODELS.build(pre_encoder)
        self.encoder = MODELS.build(encoder)
        embed_dims = encoder.get('layer_cfg', {}).get('embed_dims', 256)
        if self.pre_encoder.out_channels != embed_dims:
            raise ValueError(
                f'the pre-encoder outputs {self.pre_encoder.out_channels} '
                f'channels but the encoder layers have embed_dims='
                f'{embed_dims}; make the last mlp_channels equal them')
        self.out_channels = embed_dims

    @property
    def num_encoder_layers(self) -> int:
        """int: Number of transformer encoder layers."""
        return len(self.encoder.layers)

    def init_weights(self) -> None:
        """Initialise the layers, then 3DETR's xavier reset of the
        encoder."""
        super().init_weights()
        if self.xavier_init_encoder:
            for param in self.encoder.parameters():
                if param.dim() > 1:
                    nn.init.xavier_uniform_(param)

    def forward(self, points: Tensor) -> Dict[str, Tensor]:
        """Encode a batch of point clouds.

        Args:
            points (Tensor): Points, shape (B, N, in_channels), xyz first.

        Returns:
            dict[str, Tensor]:

            - xyz (Tensor): Encoder token coordinates, shape (B, M, 3).
            - features (Tensor): Encoder tokens, shape (B, M, C).
            - indices (Tensor): Indices of the tokens' points in
              ``points``, int64, shape (B, M).
        """
        if points.dim() != 3 or points.shape[-1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects points of shape (B, N, '
                f'{self.in_channels}), got {tuple(points.shape)}')
        xyz = points[..., :3].contiguous()
        features = points[..., 3:] if self.in_channels > 3 else None
        xyz, tokens, indices = self.pre_encoder(xyz, features)
        return dict(xyz=xyz, features=self.encoder(tokens), indices=indices)
