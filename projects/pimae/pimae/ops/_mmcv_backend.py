# Copyright (c) OpenMMLab. All rights reserved.
"""Lazy detection of mmcv's compiled CUDA point ops.

mmcv 2.1.0 has no CPU kernels for ``furthest_point_sample`` or ``knn``, and
importing ``mmcv.ops`` loads the whole compiled extension. So ``mmcv.ops`` is
imported here only when a tensor is already on a GPU, once per process.
"""
import functools

import torch
from torch import Tensor


@functools.lru_cache(maxsize=None)
def mmcv_cuda_ops_available() -> bool:
    """Whether ``mmcv.ops`` is importable and was compiled with CUDA.

    The probe runs once per process and is cached. It never raises: a missing
    or broken mmcv build simply means "not available".

    Returns:
        bool: True when a GPU is visible and ``mmcv.ops`` reports a CUDA
        version it was compiled against.
    """
    if not torch.cuda.is_available():
        return False
    try:
        from mmcv.ops import get_compiling_cuda_version
        version = get_compiling_cuda_version()
    except (ImportError, OSError, RuntimeError, AttributeError):
        return False
    return isinstance(version, str) and version != 'not available'


def use_mmcv(op: str, tensor: Tensor, backend: str) -> bool:
    """Decide whether an op call goes to the mmcv CUDA kernel.

    Args:
        op (str): Name of the calling op, used in the message.
        tensor (Tensor): An input of the call; its device decides.
        backend (str): 'auto' (mmcv when ``tensor`` is on a GPU and mmcv has
            CUDA ops, else pure torch), 'mmcv' (required, error otherwise)
            or 'torch' (always pure torch).

    Returns:
        bool: True for the mmcv kernel, False for the pure torch path.
    """
    if backend == 'torch':
        return False
    available = tensor.is_cuda and mmcv_cuda_ops_available()
    if backend == 'mmcv' and not available:
        raise RuntimeError(
            f"{op}: backend='mmcv' needs the input on a CUDA device and mmcv "
            f'built with CUDA ops (got device {tensor.device}, mmcv CUDA ops '
            f'available: {mmcv_cuda_ops_available()})')
    return available
