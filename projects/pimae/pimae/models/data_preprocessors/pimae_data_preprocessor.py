"""Batch the paired points and images of PiMAE pre-training."""
from numbers import Number
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from ...utils.sample_naming import describe_sample
from ..utils.pimae_structures import PiMAEInputs


def _metainfo(data_samples: Optional[Sequence], index: int) -> dict:
    return data_samples[index].metainfo if data_samples else {}


def _odd_samples(data_samples: Optional[Sequence], shapes: list,
                 expected: tuple) -> str:
    """Name the samples whose shape is not ``expected``, with their shapes."""
    odd = [i for i, shape in enumerate(shapes) if shape != expected]
    names = ', '.join(
        describe_sample(_metainfo(data_samples, i), i) for i in odd)
    return f'{names} have {[shapes[i] for i in odd]}'


def stack_points(points: Sequence[Tensor],
                 data_samples: Optional[Sequence] = None) -> Tensor:
    """Stack the (N, C) point clouds of a batch into one (B, N, C) tensor.

    Args:
        points (Sequence[Tensor]): B clouds of shape (N, C).
        data_samples (Sequence[Det3DDataSample], optional): The batch's
            samples, to name the odd ones in the error.

    Returns:
        Tensor: (B, N, C).

    Raises:
        ValueError: If the clouds differ in shape; the message names the
            samples by their files.
    """
    shapes = [tuple(p.shape) for p in points]
    if len(shapes[0]) != 2 or len(set(shapes)) > 1:
        raise ValueError(
            'the point clouds of a batch must have shape (N, C) with the '
            'same N and C to be stacked (sample a fixed number of points in '
            'the pipeline, e.g. FurthestPointSample); '
            f'{describe_sample(_metainfo(data_samples, 0), 0)} has '
            f'{shapes[0]}, but {_odd_samples(data_samples, shapes, shapes[0])}'
        )
    return torch.stack(list(points))


def collect_depth2img(data_samples: Optional[Sequence],
                      img_shape: Tuple[int, int], required: bool,
                      device: torch.device) -> Optional[Tensor]:
    """Stack the samples' ``depth2img`` for the images of a batch.

    Each matrix must project to pixels of the network input image, so a
    sample's ``img_shape``, when present, must equal the network input size.
    The matrices themselves were checked by ``CheckDepth2Img`` in the
    pipeline.

    Args:
        data_samples (Sequence[Det3DDataSample], optional): The B samples.
        img_shape (tuple[int, int]): (H, W) of the network input.
        required (bool): Raise when a sample has no ``depth2img``; else
            return None.
        device (torch.device): Device of the result.

    Returns:
        Tensor | None: (B, 3, 3) float32, or None when not required and
        missing.
    """
    if data_samples is None:
        if required:
            raise ValueError('the projection needs data_samples with '
                             'depth2img in their metainfo, got None')
        return None
    matrices = []
    for i, sample in enumerate(data_samples):
        meta = sample.metainfo
        if 'img_shape' in meta and tuple(meta['img_shape'][:2]) != img_shape:
            raise ValueError(
                f'{describe_sample(meta, i)}: img_shape '
                f'{tuple(meta["img_shape"][:2])} differs from the network '
                f'input size {img_shape}; depth2img must refer to the '
                'network input image')
        if 'depth2img' not in meta:
            if not required:
                return None
            raise ValueError(f'{describe_sample(meta, i)} has no depth2img '
                             f'in its metainfo (keys: {sorted(meta)})')
        matrix = meta['depth2img']
        if isinstance(matrix, Tensor):
            matrix = matrix.cpu()
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.shape != (3, 3):
            raise ValueError(f'{describe_sample(meta, i)}: depth2img must be '
                             f'3x3, got shape {matrix.shape}')
        matrices.append(matrix)
    return torch.from_numpy(np.stack(matrices)).to(device)


def collect_native_scale(data_samples: Sequence, img_shape: Tuple[int, int],
                         device: torch.device) -> Tensor:
    """Resize factors from each sample's native image to the network input.

    The original PiMAE normalises pixels of the native image (see
    projects/pimae/docs/original_code.md, 'Cross-modal loss'); its
    ``compat_norm_size`` options need these factors to map projections onto
    the network input back to the native frame.

    Args:
        data_samples (Sequence[Det3DDataSample]): The B samples, with
            ``ori_shape`` (the native (H, W)) in their metainfo.
        img_shape (tuple[int, int]): (H, W) of the network input.
        device (torch.device): Device of the result.

    Returns:
        Tensor: (B, 2) float32 factors ``(sx, sy)``.
    """
    scales = []
    for i, sample in enumerate(data_samples):
        meta = sample.metainfo
        if 'ori_shape' not in meta:
            raise ValueError(
                f'{describe_sample(meta, i)} has no ori_shape in its '
                'metainfo; compat_norm_size needs the native image size')
        height, width = meta['ori_shape'][:2]
        scales.append((img_shape[1] / width, img_shape[0] / height))
    return torch.tensor(scales, dtype=torch.float32, device=device)


def unpack_inputs(inputs: dict, data_samples: Optional[Sequence],
                  img_size: Tuple[int, int], need_depth2img: bool,
                  need_native_scale: bool) -> PiMAEInputs:
    """Turn a preprocessed batch into :class:`PiMAEInputs`.

    Args:
        inputs (dict): ``points`` (B, N, C) or B (N, C) tensors, stacked
            here, and ``imgs`` (B, 3, H, W).
        data_samples (Sequence[Det3DDataSample], optional): The B samples.
        img_size (tuple[int, int]): (H, W) of the network input.
        need_depth2img (bool): Raise when ``depth2img`` is missing.
        need_native_scale (bool): Collect the native scales too (for the
            ``compat_norm_size`` options), when ``depth2img`` is present.

    Returns:
        PiMAEInputs: The batch.
    """
    if not isinstance(inputs, dict) or not {'points', 'imgs'} <= set(inputs):
        got = sorted(inputs) if isinstance(inputs, dict) else type(inputs)
        raise ValueError("PiMAE needs inputs = {'points': ..., 'imgs': ...}"
                         f', got {got}')
    points, imgs = inputs['points'], inputs['imgs']
    if isinstance(points, (list, tuple)):
        points = stack_points(points, data_samples)
    if len(points) != len(imgs):
        raise ValueError(f'{len(points)} point clouds but {len(imgs)} '
                         'images in the batch')
    depth2img = collect_depth2img(data_samples, img_size, need_depth2img,
                                  imgs.device)
    native_scale = None
    if need_native_scale and depth2img is not None:
        native_scale = collect_native_scale(data_samples, img_size,
                                            imgs.device)
    return PiMAEInputs(points, imgs, depth2img, native_scale)


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

    def _check_img_shapes(self, data: dict) -> None:
        """Reject images that are not of ``expected_img_shape``."""
        imgs = data['inputs'].get('img')
        if imgs is None or self.expected_img_shape is None:
            return
        shapes = [tuple(img.shape[-2:]) for img in imgs]
        if any(shape != self.expected_img_shape for shape in shapes):
            raise ValueError(
                f'PiMAEDataPreprocessor: expected images of (H, W) = '
                f'{self.expected_img_shape}, but ' + _odd_samples(
                    data.get('data_samples'), shapes, self.expected_img_shape))

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
        self._check_img_shapes(data)
        result = super().simple_process(data, training)
        points = result['inputs'].get('points')
        if isinstance(points, (list, tuple)):
            result['inputs']['points'] = stack_points(
                points, result.get('data_samples'))
        return result
