# Copyright (c) OpenMMLab. All rights reserved.
"""Random Fourier feature position embedding of 3D points (3DETR)."""
import math
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS


@MODELS.register_module()
class FourierPointEmbedding(BaseModule):
    """Fourier position embedding of point coordinates.

    Coordinates are first normalised to [0, 1] by the range of the scene's
    point cloud (per sample), then projected by a fixed Gaussian matrix
    ``B`` (``in_channels x embed_dims / 2``, drawn once at construction and
    stored as a buffer, so checkpoints keep it)::

        emb = [sin(2 pi x B), cos(2 pi x B)]

    As in 3DETR, the embedding carries no gradient to the coordinates.

    Args:
        embed_dims (int): Output dimension (even). Defaults to 256.
        in_channels (int): Coordinate dimension. Defaults to 3.
        gauss_scale (float): Standard deviation of ``B``. Defaults to 1.0.
        normalize (bool): Normalise coordinates by the point-cloud range
            before projecting. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 in_channels: int = 3,
                 gauss_scale: float = 1.0,
                 normalize: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % 2:
            raise ValueError(f'embed_dims must be even, got {embed_dims}')
        self.embed_dims = embed_dims
        self.normalize = normalize
        self.register_buffer(
            'gauss_b',
            torch.randn(in_channels, embed_dims // 2) * gauss_scale)

    def forward(self,
                xyz: Tensor,
                point_cloud_range: Optional[Tuple[Tensor, Tensor]] = None
                ) -> Tensor:
        """Embed coordinates.

        Args:
            xyz (Tensor): Coordinates, shape (B, N, in_channels).
            point_cloud_range (tuple[Tensor, Tensor], optional): Per-sample
                minimum and maximum coordinates, each of shape
                (B, in_channels); required when ``normalize``.

        Returns:
            Tensor: Embeddings, shape (B, N, embed_dims).
        """
        with torch.no_grad():
            if self.normalize:
                if point_cloud_range is None:
                    raise ValueError(
                        'FourierPointEmbedding(normalize=True) needs the '
                        'point cloud range')
                low, high = point_cloud_range
                xyz = (xyz - low.unsqueeze(1)) / (
                    high - low).clamp(min=1e-6).unsqueeze(1)
            projected = (2 * math.pi * xyz) @ self.gauss_b.to(xyz.dtype)
            return torch.cat([projected.sin(), projected.cos()], dim=-1)
