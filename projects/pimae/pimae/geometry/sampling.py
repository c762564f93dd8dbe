# Copyright (c) OpenMMLab. All rights reserved.
"""Bilinear sampling of image feature maps at projected pixels."""
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .projection import full_precision, working_dtype
from .validation import (ArrayLike, check_array, check_img_shape, check_pair,
                         check_shape)

#: ``(height, width)`` by which the official PiMAE divides pixel coordinates
#: (``MAX_WIDTH``, ``MAX_HEIGHT`` in ``Pretrain/models/pimae.py``).
PIMAE_COMPAT_NORM_SHAPE = (530, 730)
#: ``(height, width)`` to which the official PiMAE upsamples the decoder's
#: patch-grid feature map before ``grid_sample``.
PIMAE_COMPAT_UPSAMPLE_SIZE = (256, 352)


def _check_tensor(value: object, name: str) -> None:
    """Raise unless ``value`` is a torch tensor."""
    if not isinstance(value, Tensor):
        raise ValueError(
            f'{name} must be a torch tensor, got {type(value).__name__}')


def native_frame_pixels(uv: ArrayLike, native_scale: ArrayLike) -> ArrayLike:
    """Map 0-based pixels of a resized image back to the image before it.

    The pipeline resizes the native image (e.g. a 730x530 SUN RGB-D frame)
    to the network input (256x352) with per-axis factors
    ``(sx, sy) = (new_W / old_W, new_H / old_H)`` (mmcv ``Resize``'s
    ``scale_factor``), which moves pixel x to ``(x + 0.5) * sx - 0.5`` (see
    :func:`depth2img_after_resize`). This is the inverse,
    ``x_native = (x + 0.5) / sx - 0.5``: the pixel of the native image that
    the original PiMAE code would have computed with the native camera
    matrix. Only the ``compat_norm_shape`` options need it.

    Args:
        uv (np.ndarray | torch.Tensor): 0-based pixels (x, y) of the resized
            image, shape (..., N, 2).
        native_scale (np.ndarray | torch.Tensor): ``(sx, sy)`` of each
            sample, shape (..., 2) with the leading dimensions of ``uv``
            (or (2, ) for all).

    Returns:
        np.ndarray | torch.Tensor: Native-frame pixels, shape (..., N, 2),
        of the type (and, for tensors, dtype) of ``uv``.
    """
    check_array(uv, 'uv')
    check_array(native_scale, 'native_scale')
    if uv.ndim < 2 or uv.shape[-1] != 2:
        raise ValueError(
            f'uv must have shape (..., N, 2), got {tuple(uv.shape)}')
    lead = tuple(uv.shape[:-2])
    if native_scale.shape[-1:] != (2, ) or tuple(
            native_scale.shape[:-1]) not in (lead, ()):
        raise ValueError(
            f'native_scale must have shape {lead + (2, )} (or (2,)) for uv '
            f'of shape {tuple(uv.shape)}, got {tuple(native_scale.shape)}')
    if isinstance(uv, Tensor):
        scale = torch.as_tensor(native_scale, device=uv.device)
        scale = scale.to(uv.dtype if uv.is_floating_point() else torch.float64)
        uv = uv.to(scale.dtype)
    else:
        scale = np.asarray(native_scale, dtype=np.float64)
        uv = np.asarray(uv, dtype=np.float64)
    if not bool((scale > 0).all()):
        raise ValueError(f'native_scale must be positive, got {scale}')
    return (uv + 0.5) / scale[..., None, :] - 0.5


def native_scale_from_metainfo(metainfo: Mapping,
                               img_shape: Sequence[int],
                               name: str = 'sample') -> Tuple[float, float]:
    """The resize factors from a sample's native image to ``img_shape``.

    Read from the metainfo the pipeline packs: ``ori_shape`` (the loaded
    image's (H, W), set by ``LoadImageFromFile``) gives
    ``(W / W_ori, H / H_ori)``; ``scale_factor`` (``(sx, sy)`` of mmcv's
    ``Resize``) is used when ``ori_shape`` is missing, and checked against
    it when both are there. A pipeline that also crops or pads the image
    cannot be mapped back to the original's frame and raises.

    Args:
        metainfo (Mapping): The data sample's metainfo.
        img_shape (Sequence[int]): (H, W) of the network input image.
        name (str): The sample's name for error messages. Defaults to
            'sample'.

    Returns:
        tuple[float, float]: ``(sx, sy)``.

    Raises:
        ValueError: When neither key is present, on non-positive values, or
            when ``ori_shape * scale_factor`` is not ``img_shape``.
    """
    height, width = check_img_shape(img_shape)
    ori_shape = metainfo.get('ori_shape')
    scale_factor = metainfo.get('scale_factor')
    if ori_shape is None and scale_factor is None:
        raise ValueError(
            f'{name}: the compat_norm_shape options map pixels back to the '
            'native image frame and need ori_shape or scale_factor in the '
            f'metainfo (keys: {sorted(metainfo)}); add them to '
            'Pack3DDetInputs.meta_keys')
    if scale_factor is not None:
        factors = np.asarray(scale_factor, dtype=np.float64).reshape(-1)
        if factors.size == 1:
            factors = np.repeat(factors, 2)
        if factors.size < 2 or not np.isfinite(factors[:2]).all() or (
                factors[:2] <= 0).any():
            raise ValueError(f'{name}: scale_factor must hold two positive '
                             f'numbers (sx, sy), got {scale_factor!r}')
        scale = (float(factors[0]), float(factors[1]))
    if ori_shape is not None:
        ori_h, ori_w = check_img_shape(
            tuple(ori_shape)[:2], f'{name}: ori_shape')
        from_shape = (width / ori_w, height / ori_h)
        if scale_factor is None:
            return from_shape
        # mmcv rounds the resized size to whole pixels
        if abs(ori_w * scale[0] - width) > 1 or abs(ori_h * scale[1] -
                                                    height) > 1:
            raise ValueError(
                f'{name}: ori_shape {tuple(ori_shape)[:2]} x scale_factor '
                f'{scale} does not give the image shape {(height, width)}: '
                'the image was cropped or padded besides the resize, which '
                'the compat_norm_shape options cannot map back to the '
                "original's frame")
        return from_shape
    return scale


def pixels_to_grid(uv: Tensor,
                   img_shape: Sequence[int],
                   compat_swap_xy: bool = False,
                   compat_norm_shape: Optional[Tuple[float, float]] = None,
                   align_corners: bool = False,
                   native_scale: Optional[Tensor] = None) -> Tensor:
    """Convert 0-based pixels to the normalised grid of ``F.grid_sample``.

    ``grid_sample`` reads ``grid[..., 0]`` as x (column) and ``grid[..., 1]``
    as y (row), both in [-1, 1]. With ``align_corners=False`` -1 and 1 are
    the outer edges of the border pixels, so pixel x of a W-wide image is at
    ``(x + 0.5) / W * 2 - 1`` (the centre of pixel 0 is ``-1 + 1 / W``).
    With ``align_corners=True`` -1 and 1 are the centres of the border
    pixels: ``x / (W - 1) * 2 - 1``. Either way the result is independent of
    the feature map's resolution, so a patch-grid map covering the image is
    sampled at the right place.

    Args:
        uv (Tensor): 0-based pixel coordinates (x, y), shape (..., 2).
        img_shape (Sequence[int]): ``(H, W)`` of the image ``uv`` refers to.
        compat_swap_xy (bool): Stack the grid as (y, x) like the official
            code (a bug: it samples the transposed location). Defaults to
            False.
        compat_norm_shape (tuple[float, float], optional): ``(height, width)``
            of the official normalisation ``g = round(x) / width``,
            ``grid = 2 * g - 1`` (integer pixels, no half-pixel shift; the
            official value is ``(530, 730)``), applied to pixels of the
            *native* image (the official code projects with the native
            camera matrix). ``img_shape`` is then unused. Defaults to None.
        align_corners (bool): The ``grid_sample`` convention to target when
            ``compat_norm_shape`` is None. Defaults to False.
        native_scale (Tensor, optional): Per-sample resize factors
            ``(sx, sy)`` from the native image to the image ``uv`` refers
            to, shape (..., 2) (see :func:`native_frame_pixels`). With
            ``compat_norm_shape``, ``uv`` is first mapped back to the native
            frame; None means ``uv`` already is native. Unused without
            ``compat_norm_shape`` (exact geometry needs no native frame).
            Defaults to None.

    Returns:
        Tensor: Grid of shape (..., 2), in the dtype of ``uv``.
    """
    height, width = check_img_shape(img_shape)
    if compat_norm_shape is not None and native_scale is not None:
        uv = native_frame_pixels(uv, native_scale)
    x, y = uv[..., 0], uv[..., 1]
    if compat_norm_shape is not None:
        norm_h, norm_w = check_pair(
            compat_norm_shape, 'compat_norm_shape', positive=True)
        grid_x = torch.round(x) / norm_w * 2 - 1
        grid_y = torch.round(y) / norm_h * 2 - 1
    elif align_corners:
        # A size-1 axis has a single sample whatever the grid value.
        grid_x = x / max(width - 1, 1) * 2 - 1
        grid_y = y / max(height - 1, 1) * 2 - 1
    else:
        grid_x = (x + 0.5) / width * 2 - 1
        grid_y = (y + 0.5) / height * 2 - 1
    if compat_swap_xy:
        return torch.stack([grid_y, grid_x], dim=-1)
    return torch.stack([grid_x, grid_y], dim=-1)


def sample_feature_map(
        feat: Tensor,
        uv: Tensor,
        img_shape: Sequence[int],
        compat_swap_xy: bool = False,
        compat_norm_shape: Optional[Tuple[float, float]] = None,
        compat_upsample_size: Optional[Tuple[int, int]] = None,
        align_corners: bool = False,
        mode: str = 'bilinear',
        padding_mode: str = 'zeros',
        native_scale: Optional[Tensor] = None) -> Tensor:
    """Sample a feature map covering an image at 0-based pixels of it.

    ``feat`` may have a lower resolution than the image, e.g. a ViT's
    (H / 16, W / 16) patch grid: both span the same area, so pixel x of the
    image is at continuous feature column ``(x + 0.5) * w / W - 0.5`` and is
    interpolated bilinearly from the neighbouring cell centres (for
    ``align_corners=False``). Samples beyond the outer cell centres blend
    with zeros (``padding_mode='zeros'``), as ``F.grid_sample`` does.

    Gradients flow into ``feat`` (and into ``uv`` unless ``compat_norm_shape``
    rounds it); wrap the call in ``torch.no_grad()`` for a detached target.
    The sampling runs in at least float32 with autocast disabled and the
    result is cast back to ``feat.dtype``.

    The three ``compat_*`` options reproduce the official PiMAE
    ``extract_feat`` exactly when set together to ``compat_swap_xy=True``,
    ``compat_norm_shape=PIMAE_COMPAT_NORM_SHAPE`` (530, 730) and
    ``compat_upsample_size=PIMAE_COMPAT_UPSAMPLE_SIZE`` (256, 352) with the
    default ``align_corners=False``, and ``native_scale`` when ``uv`` are
    pixels of the resized network input rather than of the native image.
    They are off by default.

    Args:
        feat (Tensor): Feature map of shape (B, C, h, w).
        uv (Tensor): 0-based pixel coordinates (x, y) of the image, shape
            (B, N, 2).
        img_shape (Sequence[int]): ``(H, W)`` of the image that ``feat``
            covers and ``uv`` refers to.
        compat_swap_xy (bool): Stack the grid as (y, x) like the official
            code, which samples the transposed normalised location.
            Defaults to False.
        compat_norm_shape (tuple[float, float], optional): ``(height, width)``
            of the official normalisation ``round(x) / width * 2 - 1``
            (integer pixels, fixed divisor, no half-pixel shift). Defaults to
            None.
        compat_upsample_size (tuple[int, int], optional): ``(height, width)``
            to which ``feat`` is first resized with
            ``F.interpolate(mode='bilinear', align_corners=False)``, as the
            official code does before sampling. Defaults to None.
        align_corners (bool): Passed to ``F.grid_sample``; see
            :func:`pixels_to_grid`. Defaults to False.
        mode (str): ``F.grid_sample`` interpolation mode. Defaults to
            'bilinear'.
        padding_mode (str): ``F.grid_sample`` padding mode. Defaults to
            'zeros'.
        native_scale (Tensor, optional): (B, 2) resize factors from each
            native image to ``img_shape``; see :func:`pixels_to_grid`.
            Defaults to None.

    Returns:
        Tensor: Samples of shape (B, N, C), dtype of ``feat``.
    """
    _check_tensor(feat, 'feat')
    _check_tensor(uv, 'uv')
    check_shape(feat, 'feat', (-1, -1, -1, -1), '(B, C, h, w)')
    check_shape(uv, 'uv', (feat.shape[0], -1, 2),
                f'(B, N, 2) with B = {feat.shape[0]} from feat')
    if uv.device != feat.device:
        raise ValueError(f'uv is on {uv.device} but feat is on {feat.device}')
    dtype = working_dtype(feat.dtype)
    with full_precision(feat.device):
        feat_work = feat.to(dtype)
        if compat_upsample_size is not None:
            size = check_img_shape(compat_upsample_size,
                                   'compat_upsample_size')
            feat_work = F.interpolate(
                feat_work, size=size, mode='bilinear', align_corners=False)
        grid = pixels_to_grid(
            uv.to(dtype),
            img_shape,
            compat_swap_xy=compat_swap_xy,
            compat_norm_shape=compat_norm_shape,
            align_corners=align_corners,
            native_scale=native_scale)
        samples = F.grid_sample(
            feat_work,
            grid.unsqueeze(1),
            mode=mode,
            padding_mode=padding_mode,
            align_corners=align_corners)
    return samples.squeeze(2).transpose(1, 2).to(feat.dtype)


def sample_patch_tokens(
        tokens: Tensor,
        grid_size: Sequence[int],
        uv: Tensor,
        img_shape: Sequence[int],
        compat_swap_xy: bool = False,
        compat_norm_shape: Optional[Tuple[float, float]] = None,
        compat_upsample_size: Optional[Tuple[int, int]] = None,
        align_corners: bool = False,
        mode: str = 'bilinear',
        padding_mode: str = 'zeros',
        native_scale: Optional[Tensor] = None) -> Tensor:
    """Sample row-major patch tokens at 0-based pixels of the image.

    The tokens are reshaped to a (B, C, h, w) map (token ``i`` is the patch
    at row ``i // w``, column ``i % w``, as ViT's patch embedding flattens
    them) and sampled with :func:`sample_feature_map`.

    Args:
        tokens (Tensor): Patch tokens of shape (B, h * w, C).
        grid_size (Sequence[int]): ``(h, w)`` of the patch grid.
        uv (Tensor): 0-based pixel coordinates (x, y), shape (B, N, 2).
        img_shape (Sequence[int]): ``(H, W)`` of the image the grid covers.
        compat_swap_xy (bool): See :func:`sample_feature_map`.
        compat_norm_shape (tuple[float, float], optional): See
            :func:`sample_feature_map`.
        compat_upsample_size (tuple[int, int], optional): See
            :func:`sample_feature_map`.
        align_corners (bool): See :func:`sample_feature_map`.
        mode (str): See :func:`sample_feature_map`.
        padding_mode (str): See :func:`sample_feature_map`.
        native_scale (Tensor, optional): See :func:`sample_feature_map`.

    Returns:
        Tensor: Samples of shape (B, N, C), dtype of ``tokens``.
    """
    _check_tensor(tokens, 'tokens')
    grid_h, grid_w = check_img_shape(grid_size, 'grid_size')
    check_shape(tokens, 'tokens', (-1, grid_h * grid_w, -1),
                f'(B, h * w, C) with (h, w) = {(grid_h, grid_w)}')
    batch, _, channels = tokens.shape
    feat = tokens.reshape(batch, grid_h, grid_w, channels).permute(0, 3, 1, 2)
    return sample_feature_map(
        feat,
        uv,
        img_shape,
        compat_swap_xy=compat_swap_xy,
        compat_norm_shape=compat_norm_shape,
        compat_upsample_size=compat_upsample_size,
        align_corners=align_corners,
        mode=mode,
        padding_mode=padding_mode,
        native_scale=native_scale)
