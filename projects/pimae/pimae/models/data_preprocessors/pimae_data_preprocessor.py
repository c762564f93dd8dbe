"""Batch the paired points and images of PiMAE pre-training."""
from numbers import Number
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from ...ops import furthest_point_sample, furthest_point_sample_numpy
from ...utils.sample_naming import describe_sample
from ..utils.pimae_structures import MODALITIES, PiMAEInputs


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
    ``compat_norm_shape`` options need these factors to map projections onto
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
                'metainfo; compat_norm_shape needs the native image size')
        height, width = meta['ori_shape'][:2]
        scales.append((img_shape[1] / width, img_shape[0] / height))
    return torch.tensor(scales, dtype=torch.float32, device=device)


def unpack_inputs(inputs: dict,
                  data_samples: Optional[Sequence],
                  img_size: Optional[Tuple[int, int]],
                  need_depth2img: bool,
                  need_native_scale: bool,
                  modalities: Sequence[str] = MODALITIES) -> PiMAEInputs:
    """Turn a preprocessed batch into :class:`PiMAEInputs`.

    Args:
        inputs (dict): ``points`` (B, N, C) or B (N, C) tensors, stacked
            here, and ``imgs`` (B, 3, H, W); only those of ``modalities``
            are read.
        data_samples (Sequence[Det3DDataSample], optional): The B samples.
        img_size (tuple[int, int], optional): (H, W) of the network input;
            None without images.
        need_depth2img (bool): Raise when ``depth2img`` is missing.
        need_native_scale (bool): Collect the native scales too (for the
            ``compat_norm_shape`` options), when ``depth2img`` is present.
        modalities (Sequence[str]): The model's modalities; with one only,
            ``depth2img`` (which pairs them) is not read. Defaults to both.

    Returns:
        PiMAEInputs: The batch; None for an absent modality.
    """
    keys = [dict(points='points', images='imgs')[m] for m in modalities]
    if not isinstance(inputs, dict) or not set(keys) <= set(inputs):
        got = sorted(inputs) if isinstance(inputs, dict) else type(inputs)
        wanted = ', '.join(f"'{key}': ..." for key in keys)
        raise ValueError(f'PiMAE needs inputs = {{{wanted}}}, got {got}')
    points, imgs = (inputs[key] if key in keys else None
                    for key in ('points', 'imgs'))
    if isinstance(points, (list, tuple)):
        points = stack_points(points, data_samples)
    if points is None or imgs is None:
        return PiMAEInputs(points, imgs)
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

    With ``fps_num_points`` set, the furthest point sampling runs here, on
    the model's device and batched, instead of in the data workers (as the
    original PiMAE does in its training step): the pipeline then ends with
    the 20000 randomly sampled points (no ``FurthestPointSample``), and each
    cloud is reduced to its ``fps_num_points`` FPS points, in FPS order,
    start index 0, i.e. the points ``FurthestPointSample`` would have kept
    (the same indices on CPU, where the same FPS runs; see
    ``fps_backend``). The data workers then spend no time on FPS.

    The output is ``{'inputs': {'points': Tensor (B, N, C), 'imgs': Tensor
    (B, 3, H, W) float}, 'data_samples': list[Det3DDataSample]}``, with
    N = ``fps_num_points`` when it is set.

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
        fps_num_points (int, optional): Furthest-point-sample every cloud
            to this many points here (e.g. 2048); None keeps the points of
            the pipeline. Defaults to None.
        fps_backend (str): FPS implementation with ``fps_num_points``:
            'auto' runs mmcv's CUDA kernel on CUDA tensors and, on CPU, the
            data workers' FPS (``furthest_point_sample_numpy``: the k-d
            tree, quickfps or the torch loop, the first available); 'torch'
            runs the pure torch loop on any device (strict lowest-index
            rule on exact ties). Defaults to 'auto'.
        **kwargs: Other arguments of ``Det3DDataPreprocessor``.
    """

    def __init__(self,
                 mean: Sequence[Number] = (123.675, 116.28, 103.53),
                 std: Sequence[Number] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 expected_img_shape: Optional[Sequence[int]] = None,
                 fps_num_points: Optional[int] = None,
                 fps_backend: str = 'auto',
                 **kwargs) -> None:
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb, **kwargs)
        self.expected_img_shape = None if expected_img_shape is None else \
            tuple(int(s) for s in expected_img_shape)
        if fps_num_points is not None and (
                isinstance(fps_num_points, bool)
                or not isinstance(fps_num_points, int) or fps_num_points < 1):
            raise ValueError('PiMAEDataPreprocessor: fps_num_points must be '
                             f'a positive int or None, got {fps_num_points!r}')
        if fps_backend not in ('auto', 'torch'):
            raise ValueError("PiMAEDataPreprocessor: fps_backend must be "
                             f"'auto' or 'torch', got {fps_backend!r}")
        self.fps_num_points = fps_num_points
        self.fps_backend = fps_backend

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
            points = stack_points(points, result.get('data_samples'))
        if points is not None and self.fps_num_points is not None:
            points = self._furthest_point_sample(points)
        if points is not None:
            result['inputs']['points'] = points
        return result

    def _furthest_point_sample(self, points: Tensor) -> Tensor:
        """Keep the ``fps_num_points`` FPS points of every cloud.

        Args:
            points (Tensor): (B, N, C) clouds, xyz in the first 3 channels.

        Returns:
            Tensor: (B, fps_num_points, C), rows in FPS order.
        """
        num = points.shape[1]
        if num < self.fps_num_points:
            raise ValueError(
                f'PiMAEDataPreprocessor: the clouds have {num} points, fewer '
                f'than fps_num_points={self.fps_num_points}; sample at least '
                'that many in the pipeline (LoggedPointSample)')
        xyz = points[..., :3]
        if points.device.type == 'cpu' and self.fps_backend == 'auto':
            indices = torch.from_numpy(
                furthest_point_sample_numpy(xyz.numpy(), self.fps_num_points))
        else:
            indices = furthest_point_sample(
                xyz, self.fps_num_points, backend=self.fps_backend)
        return points.gather(
            1, indices.unsqueeze(-1).expand(-1, -1, points.shape[-1]))
