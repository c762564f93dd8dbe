# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR's box parametrisation: scene-normalised centres and sizes, yaw as
bin classification plus residual."""
import math
from typing import Dict, Tuple

import torch
from torch import Tensor

from mmdet3d.registry import TASK_UTILS


@TASK_UTILS.register_module()
class ThreeDETRBBoxCoder:
    """Encode / decode 3DETR boxes.

    A prediction is made relative to its query point and to the scene's
    point-cloud range ``[low, high]`` (per sample, per axis):

    - centre = query_xyz + sigmoid(offset_logits) - 0.5 (metres);
      normalised centre = (centre - low) / (high - low);
    - size = sigmoid(size_logits) * max(high - low, min_scene_size); the
      normalised size is the sigmoid itself;
    - yaw = bin * 2 pi / num_bins + residual_normalised[bin] * pi /
      num_bins, with bin the arg-max of the bin logits, wrapped into
      (-pi, pi]. With a single bin (axis-aligned datasets such as ScanNet)
      the yaw is 0, computed as ``0 * logits`` so that the heads stay in the
      autograd graph.

    Ground-truth yaws are encoded like 3DETR's ``angle2class``: bin
    ``floor(((yaw mod 2 pi) + pi / num_bins) / (2 pi / num_bins)) mod
    num_bins`` and residual = the rest, in [-pi / num_bins, pi / num_bins).

    Args:
        num_angle_bins (int): Yaw bins; 1 for axis-aligned boxes.
            Defaults to 12.
        min_scene_size (float): Lower bound of the scene extent used to
            scale sizes (3DETR clamps it at 0.1). Defaults to 0.1.
    """

    def __init__(self,
                 num_angle_bins: int = 12,
                 min_scene_size: float = 0.1) -> None:
        if num_angle_bins < 1:
            raise ValueError(
                f'num_angle_bins must be >= 1, got {num_angle_bins}')
        self.num_angle_bins = num_angle_bins
        self.min_scene_size = min_scene_size

    @property
    def with_rot(self) -> bool:
        """bool: Whether boxes have a yaw (more than one angle bin)."""
        return self.num_angle_bins > 1

    @property
    def bin_size(self) -> float:
        """float: Angle covered by one bin, in radians."""
        return 2 * math.pi / self.num_angle_bins

    def scene_size(self, low: Tensor, high: Tensor) -> Tensor:
        """Clamped extent of the scene.

        Args:
            low (Tensor): Minimum coordinates, shape (..., 3).
            high (Tensor): Maximum coordinates, shape (..., 3).

        Returns:
            Tensor: ``max(high - low, min_scene_size)``, shape (..., 3).
        """
        return (high - low).clamp(min=self.min_scene_size)

    def normalize_centers(self, centers: Tensor, low: Tensor,
                          high: Tensor) -> Tensor:
        """Map centres to the unit cube of the scene range (no clamping).

        Args:
            centers (Tensor): Centres, shape (B, K, 3).
            low (Tensor): Minimum coordinates, shape (B, 3).
            high (Tensor): Maximum coordinates, shape (B, 3).

        Returns:
            Tensor: Normalised centres, shape (B, K, 3).
        """
        return (centers - low.unsqueeze(1)) / (
            high - low).clamp(min=1e-6).unsqueeze(1)

    def normalize_sizes(self, sizes: Tensor, low: Tensor,
                        high: Tensor) -> Tensor:
        """Divide sizes by the clamped scene extent.

        Args:
            sizes (Tensor): Sizes, shape (B, K, 3).
            low (Tensor): Minimum coordinates, shape (B, 3).
            high (Tensor): Maximum coordinates, shape (B, 3).

        Returns:
            Tensor: Normalised sizes, shape (B, K, 3).
        """
        return sizes / self.scene_size(low, high).unsqueeze(1)

    def encode_angle(self, yaw: Tensor) -> Tuple[Tensor, Tensor]:
        """Yaw -> (bin, residual in radians).

        Args:
            yaw (Tensor): Yaws in radians, any shape.

        Returns:
            tuple[Tensor, Tensor]: Bin indices (int64) and residuals, each
            of the shape of ``yaw``. With one bin both are 0.
        """
        if not self.with_rot:
            return torch.zeros_like(yaw, dtype=torch.long), torch.zeros_like(
                yaw)
        shifted = torch.remainder(
            torch.remainder(yaw, 2 * math.pi) + self.bin_size / 2,
            2 * math.pi)
        bins = torch.div(shifted, self.bin_size, rounding_mode='floor')
        bins = bins.long().clamp(max=self.num_angle_bins - 1)
        residual = shifted - (bins * self.bin_size + self.bin_size / 2)
        return bins, residual

    def decode_angle(self, bin_logits: Tensor,
                     residual_normalized: Tensor) -> Tensor:
        """(bin logits, normalised residuals) -> yaw in (-pi, pi].

        Args:
            bin_logits (Tensor): Bin scores, shape (..., num_angle_bins).
            residual_normalized (Tensor): Residuals divided by
                ``pi / num_angle_bins``, shape (..., num_angle_bins).

        Returns:
            Tensor: Yaws, shape (...).
        """
        if not self.with_rot:
            return (bin_logits * 0 + residual_normalized * 0).sum(dim=-1)
        bins = bin_logits.argmax(dim=-1, keepdim=True)
        residual = residual_normalized.gather(-1, bins).squeeze(-1) * (
            math.pi / self.num_angle_bins)
        yaw = bins.squeeze(-1) * self.bin_size + residual
        return torch.where(yaw > math.pi, yaw - 2 * math.pi, yaw)

    def decode(self, center_logits: Tensor, size_logits: Tensor,
               angle_logits: Tensor, angle_residual_normalized: Tensor,
               query_xyz: Tensor, low: Tensor,
               high: Tensor) -> Dict[str, Tensor]:
        """Turn raw head outputs into boxes.

        Args:
            center_logits (Tensor): Centre offset logits, shape (B, Q, 3).
            size_logits (Tensor): Size logits, shape (B, Q, 3).
            angle_logits (Tensor): Bin logits, shape (B, Q, num_angle_bins).
            angle_residual_normalized (Tensor): Normalised residuals,
                shape (B, Q, num_angle_bins).
            query_xyz (Tensor): Query coordinates, shape (B, Q, 3).
            low (Tensor): Minimum scene coordinates, shape (B, 3).
            high (Tensor): Maximum scene coordinates, shape (B, 3).

        Returns:
            dict[str, Tensor]: ``center`` (B, Q, 3) in metres,
            ``center_normalized`` (B, Q, 3), ``size`` (B, Q, 3) in metres,
            ``size_normalized`` (B, Q, 3), ``yaw`` (B, Q) and ``bboxes``
            (B, Q, 7) = (gravity centre, size, yaw).
        """
        center = query_xyz + center_logits.sigmoid() - 0.5
        size_normalized = size_logits.sigmoid()
        size = size_normalized * self.scene_size(low, high).unsqueeze(1)
        yaw = self.decode_angle(angle_logits, angle_residual_normalized)
        return dict(
            center=center,
            center_normalized=self.normalize_centers(center, low, high),
            size=size,
            size_normalized=size_normalized,
            yaw=yaw,
            bboxes=torch.cat([center, size, yaw.unsqueeze(-1)], dim=-1))
