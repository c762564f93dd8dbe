# Copyright (c) OpenMMLab. All rights reserved.
"""Point-MAE style grouping (FPS + KNN) and mini-PointNet group embedding."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...ops import furthest_point_sample, gather_points, knn
from ..utils.weight_init import init_pimae_weights


@MODELS.register_module()
class PointGroupTokenizer(BaseModule):
    """Turn a point cloud into group tokens (see projects/pimae/docs/
    original_code.md, 'Point tokenizer').

    ``num_groups`` centres are picked by furthest point sampling; each centre
    takes its ``group_size`` nearest points (centre first, ascending
    distance) expressed relative to the centre. A two-stage mini-PointNet
    embeds every group into one token and an MLP embeds the centre xyz into
    the position embedding (added once, by the caller).

    The module names follow the original (``first_conv``, ``second_conv``,
    ``pos_embed`` as ``nn.Sequential``) so checkpoints convert by renaming
    prefixes only.

    Args:
        num_groups (int): Number of groups / tokens G. Defaults to 128.
        group_size (int): Points per group S. Defaults to 32.
        in_channels (int): Per-point input channels of the mini-PointNet:
            the centre-relative xyz plus the first ``in_channels - 3`` extra
            point channels (e.g. colour). Defaults to 3 (xyz only).
        embed_dims (int): Token dimension. Defaults to 256.
        pointnet_channels (Sequence[int]): Hidden widths
            ``(c1, c2, c3)`` of the mini-PointNet ``in -> c1 -> c2``,
            ``2 * c2 -> c3 -> embed_dims``. Defaults to (128, 256, 512).
        pos_hidden_dims (int): Hidden width of the centre MLP
            ``3 -> pos_hidden_dims -> embed_dims`` (GELU). Defaults to 128.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_groups: int = 128,
                 group_size: int = 32,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 pointnet_channels: Sequence[int] = (128, 256, 512),
                 pos_hidden_dims: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 3:
            raise ValueError(
                f'in_channels must be >= 3 (xyz first), got {in_channels}')
        if len(pointnet_channels) != 3:
            raise ValueError('pointnet_channels must have 3 entries, got '
                             f'{tuple(pointnet_channels)}')
        self.num_groups = num_groups
        self.group_size = group_size
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        c1, c2, c3 = pointnet_channels
        self.first_conv = nn.Sequential(
            nn.Conv1d(in_channels, c1, 1), nn.BatchNorm1d(c1), nn.ReLU(),
            nn.Conv1d(c1, c2, 1))
        self.second_conv = nn.Sequential(
            nn.Conv1d(2 * c2, c3, 1), nn.BatchNorm1d(c3), nn.ReLU(),
            nn.Conv1d(c3, embed_dims, 1))
        self.pos_embed = nn.Sequential(
            nn.Linear(3, pos_hidden_dims), nn.GELU(),
            nn.Linear(pos_hidden_dims, embed_dims))

    def init_weights(self) -> None:
        """Truncated-normal convs and linears, BN default (see
        docs/original_code.md, 'Initialisation')."""
        super().init_weights()
        self.apply(init_pimae_weights)

    def group(self, points: Tensor) -> Tuple[Tensor, Tensor]:
        """Split the point clouds into overlapping local groups.

        Args:
            points (Tensor): Points of shape (B, N, C), xyz first,
                C >= ``in_channels``.

        Returns:
            tuple[Tensor, Tensor]:

            - neighborhood (Tensor): (B, G, S, in_channels). Channels 0..2
              are xyz relative to the group centre; neighbours are in KNN
              rank order (the centre itself first).
            - center (Tensor): (B, G, 3) absolute centre xyz, in FPS order.
        """
        if points.dim() != 3 or points.size(-1) < self.in_channels:
            raise ValueError(
                f'points must have shape (B, N, C >= {self.in_channels}), '
                f'xyz first, got {tuple(points.shape)}')
        num_points = points.size(1)
        if num_points < max(self.num_groups, self.group_size):
            raise ValueError(
                f'{num_points} points per sample are fewer than the '
                f'{self.num_groups} groups or the group size '
                f'{self.group_size} of the point tokenizer')
        xyz = points[..., :3].contiguous()
        center_idx = furthest_point_sample(xyz, self.num_groups)
        center = gather_points(xyz, center_idx)
        _, neighbor_idx = knn(self.group_size, xyz, center)
        neighborhood = gather_points(
            points[..., :self.in_channels].contiguous(), neighbor_idx)
        relative_xyz = neighborhood[..., :3] - center.unsqueeze(2)
        neighborhood = torch.cat([relative_xyz, neighborhood[..., 3:]], -1)
        return neighborhood, center

    def embed_groups(self, neighborhood: Tensor) -> Tensor:
        """Embed each group with the two-stage mini-PointNet.

        Args:
            neighborhood (Tensor): (B, G', S, in_channels) centre-relative
                groups (any number of groups G').

        Returns:
            Tensor: Group tokens of shape (B, G', embed_dims).
        """
        batch_size, num_groups, group_size, channels = neighborhood.shape
        x = neighborhood.reshape(batch_size * num_groups, group_size,
                                 channels).transpose(1, 2)
        x = self.first_conv(x)  # (B*G', c2, S)
        global_feat = x.max(dim=2, keepdim=True)[0]
        x = torch.cat([global_feat.expand(-1, -1, group_size), x], dim=1)
        x = self.second_conv(x)  # (B*G', D, S)
        return x.max(dim=2)[0].reshape(batch_size, num_groups, -1)

    def embed_pos(self, center: Tensor) -> Tensor:
        """Embed centre coordinates.

        Args:
            center (Tensor): (B, G', 3) absolute centre xyz.

        Returns:
            Tensor: Position embedding of shape (B, G', embed_dims).
        """
        return self.pos_embed(center)

    def forward(self, points: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Group, embed and add the position embedding for all groups.

        Args:
            points (Tensor): (B, N, C) points, xyz first.

        Returns:
            tuple[Tensor, Tensor, Tensor]: tokens (B, G, embed_dims) with the
            position embedding added, neighborhood (B, G, S, in_channels)
            and center (B, G, 3).
        """
        neighborhood, center = self.group(points)
        tokens = self.embed_groups(neighborhood) + self.embed_pos(center)
        return tokens, neighborhood, center
