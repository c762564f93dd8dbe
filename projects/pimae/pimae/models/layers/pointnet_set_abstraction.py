# Copyright (c) OpenMMLab. All rights reserved.
"""PointNet++ set abstraction (single scale), the 3DETR pre-encoder."""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ...ops import ball_query, furthest_point_sample, gather_points


#: Squared distance to the origin within which the original pointnet2 FPS
#: kernel (3DETR's) never picks a point, ``|p|^2 <= 1e-3`` (about 3.2 cm).
POINTNET2_FPS_SKIP_SQ_NORM = 1e-3


def fps_coords_skipping_origin(
        xyz: Tensor,
        min_sq_norm: float = POINTNET2_FPS_SKIP_SQ_NORM) -> Tensor:
    """Coordinates on which plain FPS picks what pointnet2's kernel picks.

    The original pointnet2 FPS kernel skips every point with
    ``|p|^2 <= min_sq_norm`` (a guard against zero padding): such a point is
    never sampled, except point 0, which always seeds FPS. Moving those
    points onto point 0 has the same effect on any FPS that seeds at point
    0: their distance to the samples is 0 from the first step on, so they
    are never the farthest point (unless every remaining point coincides
    with a sample). Use the result only to choose the indices; gather the
    samples from ``xyz``.

    Args:
        xyz (Tensor): Coordinates, shape (B, N, 3).
        min_sq_norm (float): Squared radius of the skipped ball around the
            origin. Defaults to 1e-3.

    Returns:
        Tensor: Coordinates for FPS, shape (B, N, 3).
    """
    skip = xyz.square().sum(dim=-1) <= min_sq_norm
    skip[:, 0] = False
    return torch.where(skip.unsqueeze(-1), xyz[:, :1].expand_as(xyz), xyz)


@MODELS.register_module()
class PointNetSetAbstraction(BaseModule):
    """One single-scale PointNet++ set-abstraction layer.

    FPS picks ``num_points`` centres; a ball query of ``radius`` groups up to
    ``num_samples`` points around each (pointnet2 semantics, see
    :func:`~projects.pimae.pimae.ops.ball_query`); the centre-relative
    coordinates (divided by ``radius`` when ``normalize_xyz``) and the point
    features go through a shared MLP (1x1 Conv2d, BN, ReLU) and are
    max-pooled over the group. With the defaults this is 3DETR's pre-encoder
    (``PointnetSAModuleVotes(radius=0.2, nsample=64, npoint=2048,
    mlp=[3, 64, 128, 256], normalize_xyz=True)``).

    Unlike mmdet3d's ``PointSAModule`` it runs on the CPU too: FPS and the
    ball query use this project's ops, which dispatch to mmcv's CUDA kernels
    for CUDA tensors only.

    Args:
        num_points (int): Number of FPS centres M. Defaults to 2048.
        radius (float): Ball-query radius. Defaults to 0.2.
        num_samples (int): Points grouped per centre S. Defaults to 64.
        in_channels (int): Channels of the per-point features (0 for
            coordinates only). Defaults to 0.
        mlp_channels (Sequence[int]): Output channels of the shared MLP
            layers; its input has ``3 + in_channels`` channels.
            Defaults to (64, 128, 256).
        normalize_xyz (bool): Divide the relative coordinates by
            ``radius``. Defaults to True.
        norm_cfg (dict): Norm layer of the MLP. Defaults to
            ``dict(type='BN2d')``.
        act_cfg (dict): Activation of the MLP. Defaults to
            ``dict(type='ReLU')``.
        compat_fps_skip_origin (bool): Never pick points within about 3 cm
            of the origin as centres (except point 0), as the original
            pointnet2 FPS kernel does (see
            :func:`fps_coords_skipping_origin`). Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_points: int = 2048,
                 radius: float = 0.2,
                 num_samples: int = 64,
                 in_channels: int = 0,
                 mlp_channels: Sequence[int] = (64, 128, 256),
                 normalize_xyz: bool = True,
                 norm_cfg: dict = dict(type='BN2d'),
                 act_cfg: dict = dict(type='ReLU'),
                 compat_fps_skip_origin: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.compat_fps_skip_origin = compat_fps_skip_origin
        if not mlp_channels:
            raise ValueError('mlp_channels must name at least one layer')
        self.num_points = num_points
        self.radius = radius
        self.num_samples = num_samples
        self.in_channels = in_channels
        self.normalize_xyz = normalize_xyz
        self.out_channels = mlp_channels[-1]
        layers = []
        channels = 3 + in_channels
        for out_channels in mlp_channels:
            layers.append(
                ConvModule(
                    channels,
                    out_channels,
                    kernel_size=1,
                    conv_cfg=dict(type='Conv2d'),
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            channels = out_channels
        self.mlp = nn.Sequential(*layers)

    def forward(self,
                xyz: Tensor,
                features: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Sample centres, group their neighbourhoods and pool them.

        Args:
            xyz (Tensor): Point coordinates, shape (B, N, 3).
            features (Tensor, optional): Per-point features, shape
                (B, N, in_channels); required iff ``in_channels > 0``.

        Returns:
            tuple[Tensor, Tensor, Tensor]:

            - new_xyz (Tensor): Centre coordinates, shape (B, M, 3).
            - new_features (Tensor): Pooled features, shape
              (B, M, mlp_channels[-1]).
            - indices (Tensor): Indices of the centres in ``xyz``, int64,
              shape (B, M).
        """
        num_input = xyz.shape[1]
        if num_input < self.num_points:
            raise ValueError(
                f'{type(self).__name__}: the point cloud has {num_input} '
                f'points but num_points={self.num_points} centres are '
                'sampled from it; sample at least that many points in the '
                'pipeline (PointSample) or lower num_points')
        feature_channels = 0 if features is None else features.shape[-1]
        if feature_channels != self.in_channels:
            raise ValueError(
                f'{type(self).__name__}: expects {self.in_channels} feature '
                f'channels besides xyz, got {feature_channels}')
        indices = furthest_point_sample(
            fps_coords_skipping_origin(xyz)
            if self.compat_fps_skip_origin else xyz, self.num_points)
        new_xyz = gather_points(xyz, indices)
        group_idx = ball_query(self.radius, self.num_samples, xyz, new_xyz)
        grouped = gather_points(xyz, group_idx) - new_xyz.unsqueeze(2)
        if self.normalize_xyz:
            grouped = grouped / self.radius
        if features is not None:
            grouped = torch.cat(
                [grouped, gather_points(features, group_idx)], dim=-1)
        # (B, M, S, C) -> (B, C, M, S) for the 1x1 convolutions
        pooled = self.mlp(grouped.permute(0, 3, 1, 2)).max(dim=-1).values
        return new_xyz, pooled.transpose(1, 2).contiguous(), indices
