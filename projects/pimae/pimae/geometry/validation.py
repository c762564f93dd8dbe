# Copyright (c) OpenMMLab. All rights reserved.
"""Argument checks shared by the geometry functions.

Every check raises :class:`ValueError` whose message names the offending
argument and, for shape problems, the shape that was received. The checks
here only look at shapes and Python scalars, so they never synchronise a GPU
stream; value checks on matrices live in
:func:`~projects.pimae.pimae.geometry.calibration.check_depth2img`.
"""
import math
import numbers
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def is_array(value: object) -> bool:
    """Whether ``value`` is a numpy array or a torch tensor."""
    return isinstance(value, (np.ndarray, torch.Tensor))


def check_array(value: object, name: str) -> None:
    """Raise if ``value`` is neither a numpy array nor a torch tensor.

    Args:
        value (object): The argument to check.
        name (str): The argument's name, used in the error message.
    """
    if not is_array(value):
        raise ValueError(f'{name} must be a numpy array or a torch tensor, '
                         f'got {type(value).__name__}')


def check_last_dims(value: ArrayLike, name: str, last_dims: Tuple[int, ...],
                    expected: str) -> None:
    """Raise unless ``value`` has shape ``(..., *last_dims)``.

    The array needs at least two dimensions: a point set is ``(N, 3)``,
    never a single ``(3, )`` vector, and a single matrix ``(3, 3)`` is fine.

    Args:
        value (np.ndarray | torch.Tensor): The array to check.
        name (str): The argument's name, used in the error message.
        last_dims (tuple[int]): The required trailing dimensions.
        expected (str): Human-readable expected shape, e.g. ``'(..., N, 3)'``.
    """
    check_array(value, name)
    shape = tuple(value.shape)
    if (len(shape) < max(len(last_dims), 2)
            or shape[len(shape) - len(last_dims):] != tuple(last_dims)):
        raise ValueError(f'{name} must have shape {expected}, got {shape}')


def check_shape(value: ArrayLike, name: str, shape: Tuple[int, ...],
                expected: str) -> None:
    """Raise unless ``value.shape`` matches ``shape`` (-1 matches any size).

    Args:
        value (np.ndarray | torch.Tensor): The array to check.
        name (str): The argument's name, used in the error message.
        shape (tuple[int]): The required shape; ``-1`` is a wildcard.
        expected (str): Human-readable expected shape, e.g. ``'(B, N, 2)'``.
    """
    check_array(value, name)
    got = tuple(value.shape)
    if len(got) != len(shape) or any(
            want not in (-1, size) for want, size in zip(shape, got)):
        raise ValueError(f'{name} must have shape {expected}, got {got}')


def check_img_shape(img_shape: Sequence[int],
                    name: str = 'img_shape') -> Tuple[int, int]:
    """Validate an image shape ``(H, W)`` and return it as two ints.

    Args:
        img_shape (Sequence[int]): Image height and width, both positive
            integers.
        name (str): The argument's name, used in the error message.

    Returns:
        tuple[int, int]: ``(H, W)``.
    """
    if isinstance(img_shape, torch.Tensor):
        img_shape = img_shape.tolist()
    elif isinstance(img_shape, np.ndarray):
        img_shape = img_shape.tolist()
    if (not isinstance(img_shape, Sequence) or isinstance(img_shape, str)
            or len(img_shape) != 2):
        raise ValueError(f'{name} must be a pair (H, W), got {img_shape!r}')
    values = []
    for size in img_shape:
        if isinstance(size, torch.Tensor) and size.ndim == 0 and \
                not size.is_floating_point():
            size = int(size)  # a traced shape (jit tracing, FLOP counting)
        if (isinstance(size, bool) or not isinstance(size, numbers.Integral)
                or size <= 0):
            raise ValueError(
                f'{name} must hold two positive integers (H, W), '
                f'got {tuple(img_shape)!r}')
        values.append(int(size))
    return values[0], values[1]


def check_pair(value: Sequence[float],
               name: str,
               positive: bool = False) -> Tuple[float, float]:
    """Validate a pair of finite real numbers.

    Args:
        value (Sequence[float]): The pair.
        name (str): The argument's name, used in the error message.
        positive (bool): Whether both numbers must be > 0.
            Defaults to False.

    Returns:
        tuple[float, float]: The pair as Python floats.
    """
    if isinstance(value, (np.ndarray, torch.Tensor)):
        value = value.tolist()
    if (not isinstance(value, Sequence) or isinstance(value, str)
            or len(value) != 2):
        raise ValueError(f'{name} must be a pair of numbers, got {value!r}')
    pair = tuple(check_scalar(v, name, positive=positive) for v in value)
    return pair[0], pair[1]


def check_scalar(value: float, name: str, positive: bool = False) -> float:
    """Validate a finite real number (optionally > 0).

    Args:
        value (float): The number.
        name (str): The argument's name, used in the error message.
        positive (bool): Whether the number must be > 0. Defaults to False.

    Returns:
        float: The number as a Python float.
    """
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    elif isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f'{name} must be a real number, got {value!r}')
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'{name} must be finite, got {value!r}')
    if positive and value <= 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    return value


def check_patch_size(patch_size: int, img_shape: Tuple[int, int]) -> int:
    """Validate a square patch size that tiles ``img_shape`` exactly.

    Args:
        patch_size (int): Patch side in pixels.
        img_shape (tuple[int, int]): Validated ``(H, W)``.

    Returns:
        int: ``patch_size``.
    """
    if (isinstance(patch_size, bool)
            or not isinstance(patch_size, numbers.Integral)
            or patch_size <= 0):
        raise ValueError(
            f'patch_size must be a positive integer, got {patch_size!r}')
    height, width = img_shape
    if height % patch_size or width % patch_size:
        raise ValueError(
            f'img_shape (H, W) = {img_shape} must be divisible by '
            f'patch_size = {patch_size}')
    return int(patch_size)


def mask_like(value: Optional[ArrayLike], like: ArrayLike,
              name: str) -> Optional[ArrayLike]:
    """Convert an optional mask to the array type (and device) of ``like``.

    Args:
        value (np.ndarray | torch.Tensor | None): The mask or None.
        like (np.ndarray | torch.Tensor): Reference array.
        name (str): The argument's name, used in the error message.

    Returns:
        np.ndarray | torch.Tensor | None: ``value`` as a boolean array of
        the type of ``like``, or None.
    """
    if value is None:
        return None
    check_array(value, name)
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(value, device=like.device).bool()
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.astype(bool, copy=False)
