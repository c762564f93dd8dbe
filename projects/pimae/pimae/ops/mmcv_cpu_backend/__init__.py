# Copyright (c) OpenMMLab. All rights reserved.
"""A CPU backend for the mmcv point ops that mmdet3d's point detectors call.

mmcv 2.1 has CUDA kernels only for ``furthest_point_sample`` (and its
with-distance variant), ``ball_query`` / ``QueryAndGroup``,
``gather_points``, ``grouping_operation``, ``three_nn``,
``three_interpolate`` and ``points_in_boxes_all`` / ``points_in_boxes_part``,
so VoteNet, H3DNet, GroupFree3D or ImVoteNet cannot run on a CPU.
:func:`register_mmcv_cpu_ops` routes CPU tensors to PyTorch / NumPy kernels
with the semantics of mmcv's CUDA kernels (:mod:`.kernels`) and leaves CUDA
tensors to mmcv, through every name the ops are bound to (:mod:`.register`
explains how). Importing ``projects.pimae.pimae`` calls it; see
``projects/pimae/docs/mmcv_cpu_ops.md``.

Nothing in this package imports mmcv until :func:`register_mmcv_cpu_ops` is
called.
"""
from .register import (mmcv_cpu_ops_registered, register_mmcv_cpu_ops,
                       unregister_mmcv_cpu_ops)

__all__ = [
    'register_mmcv_cpu_ops', 'unregister_mmcv_cpu_ops',
    'mmcv_cpu_ops_registered'
]
