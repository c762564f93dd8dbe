# Copyright (c) OpenMMLab. All rights reserved.
"""Lazy detection of mmcv's compiled CUDA point ops, and the fallback notice.

mmcv 2.1.0 has no CPU kernels for ``furthest_point_sample`` or ``knn``, and
importing ``mmcv.ops`` loads the whole compiled extension. So ``mmcv.ops`` is
imported here only when a tensor is already on a GPU, once per process.

Where a GPU is visible but mmcv's CUDA kernels are not (a CPU-only mmcv
wheel on a CUDA build of torch, or an mmcv whose extension does not load),
the ops take their pure torch path on the GPU and the mmcv CPU backend runs
its kernels for CUDA tensors. Both say so once per op and process
(:func:`warn_fallback_once`), at WARNING level through MMEngine's logger.
"""
import functools
import logging
from typing import Set, Tuple

import torch
from torch import Tensor

#: Keys of the fallback notices already logged in this process.
_WARNED: Set[str] = set()


@functools.lru_cache(maxsize=None)
def mmcv_cuda_ops_status() -> Tuple[bool, str]:
    """Whether mmcv's CUDA point ops can run here, and why (not).

    The probe runs once per process and is cached. It never raises: a missing
    or broken mmcv build simply means "not available".

    Returns:
        tuple[bool, str]: True when a GPU is visible and ``mmcv.ops`` reports
        a CUDA version it was compiled against; and the reason, e.g.
        ``'mmcv.ops was compiled without CUDA ...'``.
    """
    if not torch.cuda.is_available():
        return False, 'no CUDA device is visible'
    try:
        from mmcv.ops import get_compiling_cuda_version
        version = get_compiling_cuda_version()
    except (ImportError, OSError, RuntimeError, AttributeError) as error:
        return False, (f'mmcv.ops does not load ({type(error).__name__}: '
                       f'{error})')
    if not isinstance(version, str) or version == 'not available':
        return False, ('mmcv.ops was compiled without CUDA (a CPU-only mmcv '
                       'build; install one built with CUDA, e.g. '
                       'tools/setup_env.sh --mmcv-wheel PATH)')
    return True, f'mmcv.ops was compiled with CUDA {version}'


def mmcv_cuda_ops_available() -> bool:
    """Whether ``mmcv.ops`` is importable and was compiled with CUDA.

    Returns:
        bool: The first item of :func:`mmcv_cuda_ops_status` (cached).
    """
    return mmcv_cuda_ops_status()[0]


def warn_fallback_once(key: str, message: str) -> bool:
    """Log ``message`` at WARNING level the first time ``key`` is seen.

    Args:
        key (str): What the notice is about, e.g. ``'ops.knn'``; each key is
            logged at most once per process.
        message (str): The notice.

    Returns:
        bool: True when this call logged the message.
    """
    if key in _WARNED:
        return False
    _WARNED.add(key)
    from mmengine.logging import print_log
    print_log(message, logger='current', level=logging.WARNING)
    return True


def _is_cuda(tensor: Tensor) -> bool:
    """Whether ``tensor`` lives on a CUDA device (one place to fake it)."""
    return tensor.is_cuda


def use_mmcv(op: str, tensor: Tensor, backend: str) -> bool:
    """Decide whether an op call goes to the mmcv CUDA kernel.

    With ``backend='auto'``, a CUDA input while mmcv's CUDA kernels are
    absent takes the pure torch path and logs why, once per ``op``.

    Args:
        op (str): Name of the calling op, used in the messages.
        tensor (Tensor): An input of the call; its device decides.
        backend (str): 'auto' (mmcv when ``tensor`` is on a GPU and mmcv has
            CUDA ops, else pure torch), 'mmcv' (required, error otherwise)
            or 'torch' (always pure torch).

    Returns:
        bool: True for the mmcv kernel, False for the pure torch path.
    """
    if backend == 'torch':
        return False
    on_cuda = _is_cuda(tensor)
    available = on_cuda and mmcv_cuda_ops_available()
    if backend == 'mmcv' and not available:
        raise RuntimeError(
            f"{op}: backend='mmcv' needs the input on a CUDA device and mmcv "
            f'built with CUDA ops (got device {tensor.device}, mmcv CUDA ops '
            f'available: {mmcv_cuda_ops_available()})')
    if on_cuda and not available:
        warn_fallback_once(
            f'ops.{op}',
            f'{op}: the input is on {tensor.device} but mmcv\'s CUDA kernels '
            f'are not available ({mmcv_cuda_ops_status()[1]}); using the '
            'pure torch path on the GPU (same results, slower). This is '
            'logged once per process.')
    return available
