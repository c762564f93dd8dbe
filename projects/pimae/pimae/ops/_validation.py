# Copyright (c) OpenMMLab. All rights reserved.
"""Cheap input checks shared by the point ops.

Every check raises ``ValueError`` (``TypeError`` for a non-tensor) with a
message that names the op, the argument and the shape it got, so that a bad
sample fails at the op boundary instead of deep inside ``cdist`` or a CUDA
kernel.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

BACKENDS = ('auto', 'mmcv', 'torch')


def check_tensor(op: str, name: str, value: object) -> Tensor:
    """Check that ``value`` is a tensor.

    Args:
        op (str): Name of the calling op, used in the message.
        name (str): Name of the checked argument.
        value (object): The argument.

    Returns:
        Tensor: ``value`` itself.
    """
    if not isinstance(value, Tensor):
        raise TypeError(f'{op}: `{name}` must be a torch.Tensor, '
                        f'got {type(value).__name__}')
    return value


def check_cloud(op: str,
                name: str,
                cloud: Tensor,
                channels: Optional[int] = 3,
                check_finite: bool = False) -> Tuple[int, int, int]:
    """Check a batched point cloud of shape (B, N, C).

    Args:
        op (str): Name of the calling op, used in the message.
        name (str): Name of the checked argument.
        cloud (Tensor): The cloud, expected shape (B, N, C).
        channels (int, optional): Required size of the last dimension,
            or None to accept any C >= 1. Defaults to 3.
        check_finite (bool): Whether to reject NaN / Inf values, with one
            ``torch.isfinite(...).all()`` reduction: a ``ValueError`` for a
            CPU tensor, a device-side assert (no host sync) for a CUDA
            tensor. Defaults to False.

    Returns:
        tuple[int, int, int]: B, N and C.
    """
    check_tensor(op, name, cloud)
    expected = f'(B, N, {channels if channels is not None else "C"})'
    shape = tuple(cloud.shape)
    if cloud.dim() != 3:
        raise ValueError(f'{op}: `{name}` must have shape {expected}, '
                         f'got a {cloud.dim()}-d tensor of shape {shape}')
    if channels is not None and shape[2] != channels:
        raise ValueError(
            f'{op}: `{name}` must have shape {expected} with exactly '
            f'{channels} coordinates in the last dimension, got {shape}; '
            f'pass `{name}[..., :{channels}]` to drop extra channels')
    if min(shape) == 0:
        raise ValueError(f'{op}: `{name}` is empty, got shape {shape}; '
                         f'every cloud needs at least one point')
    if not cloud.is_floating_point():
        raise ValueError(f'{op}: `{name}` must be a floating point tensor, '
                         f'got dtype {cloud.dtype}')
    if check_finite:
        message = f'{op}: `{name}` of shape {shape} contains NaN or Inf ' \
            'coordinates'
        finite = torch.isfinite(cloud).all()
        if cloud.is_cuda:  # checked on the device: no host sync per call
            torch._assert_async(finite, message)
        elif not bool(finite):
            raise ValueError(message)
    return shape


def check_cloud_pair(op: str, name_a: str, a: Tensor, name_b: str,
                     b: Tensor) -> None:
    """Check that two clouds share batch size, dtype and device.

    Args:
        op (str): Name of the calling op, used in the message.
        name_a (str): Name of the first argument.
        a (Tensor): First cloud, shape (B, N, C).
        name_b (str): Name of the second argument.
        b (Tensor): Second cloud, shape (B, M, C).
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(f'{op}: batch sizes differ: `{name_a}` has shape '
                         f'{tuple(a.shape)} and `{name_b}` has shape '
                         f'{tuple(b.shape)}')
    if a.shape[2] != b.shape[2]:
        raise ValueError(f'{op}: channel counts differ: `{name_a}` has shape '
                         f'{tuple(a.shape)} and `{name_b}` has shape '
                         f'{tuple(b.shape)}')
    if a.dtype != b.dtype:
        raise ValueError(f'{op}: dtypes differ: `{name_a}` is {a.dtype} and '
                         f'`{name_b}` is {b.dtype}')
    if a.device != b.device:
        raise ValueError(f'{op}: devices differ: `{name_a}` is on {a.device} '
                         f'and `{name_b}` is on {b.device}')


def check_count(op: str, name: str, value: object, upper: int,
                upper_desc: str) -> int:
    """Check an integer count such as ``num_samples`` or ``k``.

    Args:
        op (str): Name of the calling op, used in the message.
        name (str): Name of the checked argument.
        value (object): The count; a Python or NumPy integer.
        upper (int): Largest allowed value.
        upper_desc (str): What ``upper`` is, e.g. "the number of points N
            of `points` with shape (2, 100, 3)".

    Returns:
        int: The count as a Python int.
    """
    if isinstance(value, bool) or not hasattr(value, '__index__'):
        raise ValueError(f'{op}: `{name}` must be an integer, '
                         f'got {value!r}')
    count = int(value)
    if count < 1:
        raise ValueError(f'{op}: `{name}` must be at least 1, got {count}')
    if count > upper:
        raise ValueError(f'{op}: `{name}`={count} exceeds {upper_desc} '
                         f'({upper})')
    return count


def check_backend(op: str, backend: str, choices=BACKENDS) -> str:
    """Check a ``backend`` argument.

    Args:
        op (str): Name of the calling op, used in the message.
        backend (str): Requested backend.
        choices (tuple[str]): Accepted values.

    Returns:
        str: ``backend`` itself.
    """
    if backend not in choices:
        raise ValueError(f'{op}: `backend` must be one of {choices}, '
                         f'got {backend!r}')
    return backend
