"""Batch the paired points and images of PiMAE pre-training."""
from numbers import Number
from typing import List, Optional, Sequence, Union

import torch

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS


@MODELS.register_module()
class PiMAEDataPreprocessor(Det3DDataPreprocessor):
    """mmdet3d's ``Det3DDataPreprocessor`` that also stacks the points.

    Images are handled exactly as in mmdet3d (BGR -> RGB, ImageNet
    mean / std normalisation, stacked to (B, 3, H, W)); PiMAE's pipeline
    makes every image 256x352, so no padding happens with
    ``pad_size_divisor=1``. Points, which mmdet3d returns as a list, are
    stacked into one (B, N, C) tensor: after FPS every sample has the same
    number of points, and a batch where they differ raises an error naming
    the samples rather than failing deep inside the model. With
    ``expected_img_shape`` set, images of another size are rejected the same
    way.

    The output is ``{'inputs': {'points': Tensor (B, N, C), 'imgs': Tensor
    (B, 3, H, W) float}, 'data_samples': list[Det3DDataSample]}``.

    Args:
        mean (Sequence[Number]): Pixel mean of the R, G, B channels.
            Defaults to ImageNet's (123.675, 116.28, 103.53).
        std (Sequence[Number]): Pixel std of the R, G, B channels. Defaults
            to ImageNet's (58.395, 57.12, 57.375).
        bgr_to_rgb (bool): Convert the BGR images of mmcv's loader to RGB.
            Defaults to True.
        expected_img_shape (Sequence[int], optional): Required ``(H, W)`` of
            every image, e.g. (256, 352); None accepts any equal sizes.
            Defaults to None.
        **kwargs: Other arguments of ``Det3DDataPreprocessor``.
    """

    def __init__(self,
                 mean: Sequence[Number] = (123.675, 116.28, 103.53),
                 std: Sequence[Number] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 expected_img_shape: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb, **kwargs)
        self.expected_img_shape = None if expected_img_shape is None else \
            tuple(int(s) for s in expected_img_shape)

    @staticmethod
    def _names(data_samples: Optional[list], indices: List[int]) -> str:
        """Name samples of the batch by their files, for error messages."""
        names = []
        for i in indices:
            meta = data_samples[i].metainfo if data_samples else {}
            names.append(f'#{i} ({meta.get("lidar_path", "?")}, '
                         f'{meta.get("img_path", "?")})')
        return ', '.join(names)

    def _check_batch(self, data: dict) -> None:
        """Reject batches whose points or images cannot be stacked."""
        inputs = data['inputs']
        samples = data.get('data_samples')
        points = inputs.get('points')
        if points is not None and not isinstance(points, torch.Tensor):
            shapes = [tuple(p.shape) for p in points]
            if len(set(shapes)) > 1:
                odd = [i for i, s in enumerate(shapes) if s != shapes[0]]
                raise ValueError(
                    f'PiMAEDataPreprocessor: point clouds of a batch must '
                    f'have the same shape to be stacked (use '
                    f'FurthestPointSample in the pipeline); sample #0 has '
                    f'{shapes[0]}, but {self._names(samples, odd)} have '
                    f'{[shapes[i] for i in odd]}')
        imgs = inputs.get('img')
        if imgs is not None and self.expected_img_shape is not None:
            shapes = [tuple(img.shape[-2:]) for img in imgs]
            odd = [
                i for i, s in enumerate(shapes) if s != self.expected_img_shape
            ]
            if odd:
                raise ValueError(
                    f'PiMAEDataPreprocessor: expected images of (H, W) = '
                    f'{self.expected_img_shape}, but '
                    f'{self._names(samples, odd)} have '
                    f'{[shapes[i] for i in odd]}')

    def simple_process(self, data: dict, training: bool = False) -> dict:
        """Normalise and stack the images (mmdet3d), stack the points.

        Args:
            data (dict): Pseudo-collated batch ``{'inputs': {'points': list
                [Tensor (N, C)], 'img': list[Tensor (3, H, W) uint8]},
                'data_samples': list}``.
            training (bool): Training mode (batch augments). Defaults to
                False.

        Returns:
            dict: ``{'inputs': {'points': Tensor (B, N, C), 'imgs': Tensor
            (B, 3, H, W)}, 'data_samples': list}``.
        """
        self._check_batch(data)
        result = super().simple_process(data, training)
        points: Union[list, torch.Tensor,
                      None] = result['inputs'].get('points')
        if isinstance(points, (list, tuple)):
            result['inputs']['points'] = torch.stack(list(points))
        return result
