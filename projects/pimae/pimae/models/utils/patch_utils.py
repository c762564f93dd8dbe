# Copyright (c) OpenMMLab. All rights reserved.
"""Image sizes, patchify / unpatchify for rectangular images (MAE patch
layout)."""
from typing import Sequence, Tuple, Union

from torch import Tensor


def check_img_size(img_size: Union[int, Sequence[int]],
                   patch_size: int,
                   name: str = 'img_size') -> Tuple[int, int]:
    """An image size as ``(H, W)``, each side a multiple of ``patch_size``.

    Args:
        img_size (int | Sequence[int]): ``H = W`` or ``(H, W)``.
        patch_size (int): Patch side.
        name (str): Argument name for the error message.

    Returns:
        tuple[int, int]: ``(H, W)``.
    """
    if isinstance(img_size, int):
        size = (img_size, img_size)
    elif len(img_size) == 2:
        size = (int(img_size[0]), int(img_size[1]))
    else:
        raise ValueError(f'{name} must be an int or (H, W), got {img_size}')
    for side in size:
        if side <= 0 or side % patch_size:
            raise ValueError(
                f'{name} {size[0]}x{size[1]} is not divisible by patch_size '
                f'{patch_size}: {side} % {patch_size} = {side % patch_size}')
    return size


def patchify(imgs: Tensor, patch_size: int) -> Tensor:
    """Cut images into flattened patches, row-major, layout (p, q, c).

    This is MAE's ``einsum('nchpwq->nhwpqc')`` for any H, W divisible by
    ``patch_size`` (mmpretrain's ``MAEPretrainHead.patchify`` requires
    square images).

    Args:
        imgs (Tensor): (B, C, H, W) images.
        patch_size (int): Patch side p.

    Returns:
        Tensor: (B, (H / p) * (W / p), p * p * C) patches.
    """
    batch_size, channels, height, width = imgs.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {(height, width)} is not divisible by '
                         f'the patch size {patch_size}')
    h, w, p = height // patch_size, width // patch_size, patch_size
    x = imgs.reshape(batch_size, channels, h, p, w, p)
    x = x.permute(0, 2, 4, 3, 5, 1)
    return x.reshape(batch_size, h * w, p * p * channels)


def unpatchify(patches: Tensor, patch_size: int,
               grid_size: Sequence[int]) -> Tensor:
    """Inverse of :func:`patchify`.

    Args:
        patches (Tensor): (B, h * w, p * p * C) patches.
        patch_size (int): Patch side p.
        grid_size (Sequence[int]): Patch grid (h, w).

    Returns:
        Tensor: (B, C, h * p, w * p) images.
    """
    batch_size = patches.size(0)
    (h, w), p = grid_size, patch_size
    x = patches.reshape(batch_size, h, w, p, p, -1)
    x = x.permute(0, 5, 1, 3, 2, 4)
    return x.reshape(batch_size, -1, h * p, w * p)
