# Copyright (c) OpenMMLab. All rights reserved.
"""Stack a batch of fixed-size point clouds for a point classifier."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmpretrain.registry import MODELS
from torch import Tensor

from ...utils.sample_naming import describe_sample


@MODELS.register_module()
class PointClsDataPreprocessor(BaseDataPreprocessor):
    """Check, stack and move to the device a batch of point clouds.

    The point counterpart of mmpretrain's ``ClsDataPreprocessor``: the
    pipeline gives every sample an (N, C) tensor (``ResamplePoints`` makes
    N fixed, ``PackInputs(input_key='points')`` packs it); this stacks them
    into (B, N, C) float32. A sample of another shape, with too few
    channels or with NaN / Inf values raises a ``ValueError`` that names it
    (index in the batch, point file), not a shape error inside the model.
    Data samples pass through unchanged.

    Args:
        in_channels (int): Channels per point, xyz first; every sample must
            have exactly these. Defaults to 3.
        non_blocking (bool): Non-blocking host-to-device copies. Defaults
            to False.
    """

    def __init__(self, in_channels: int = 3,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if in_channels < 3:
            raise ValueError(
                f'in_channels must be >= 3 (xyz first), got {in_channels}')
        self.in_channels = in_channels

    def _name(self, data_samples: Optional[Sequence], index: int) -> str:
        meta = {}
        if data_samples is not None and index < len(data_samples):
            meta = data_samples[index].metainfo
        return describe_sample(meta, index)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack ``data['inputs']`` into (B, N, C) on the model's device.

        Args:
            data (dict): ``inputs`` (list of (N, C) tensors, or a stacked
                (B, N, C) tensor) and ``data_samples`` (list).
            training (bool): Unused (no batch augmentation).

        Returns:
            dict: ``inputs`` (Tensor (B, N, C) float32) and
            ``data_samples``.
        """
        inputs = data['inputs']
        data_samples = data.get('data_samples')
        clouds = list(inputs) if isinstance(inputs, (list, tuple)) or (
            isinstance(inputs, Tensor) and inputs.dim() == 3) else None
        if not clouds:
            raise ValueError(
                'PointClsDataPreprocessor expects inputs as a list of (N, C) '
                'point tensors or a (B, N, C) tensor, got '
                f'{type(inputs).__name__} of shape '
                f'{tuple(getattr(inputs, "shape", ()))}')
        expected = None
        for index, cloud in enumerate(clouds):
            if not isinstance(cloud, Tensor) or cloud.dim() != 2 or \
                    cloud.shape[1] != self.in_channels:
                raise ValueError(
                    f'{self._name(data_samples, index)}: points must be an '
                    f'(N, {self.in_channels}) tensor (in_channels='
                    f'{self.in_channels}), got {type(cloud).__name__} of '
                    f'shape {tuple(getattr(cloud, "shape", ()))}')
            if expected is None:
                expected = cloud.shape
            elif cloud.shape != expected:
                raise ValueError(
                    f'{self._name(data_samples, index)} has {len(cloud)} '
                    f'points, sample 0 {expected[0]}: resample every crop '
                    'to the same number (ResamplePoints)')
            if not torch.isfinite(cloud).all():
                raise ValueError(
                    f'{self._name(data_samples, index)}: points contain NaN '
                    'or Inf')
        points = torch.stack(clouds).float()
        return dict(
            inputs=self.cast_data(points),
            data_samples=self.cast_data(data_samples))
