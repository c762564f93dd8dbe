# Copyright (c) OpenMMLab. All rights reserved.
"""Point ops: FPS, KNN, gather and Chamfer distance.

Every op has a pure torch path (used on CPU and as the test oracle); FPS and
KNN use mmcv's CUDA kernels for CUDA tensors when mmcv was built with CUDA,
and the NumPy FPS uses torch_quickfps when installed. Nothing here imports
mmcv or mmdet3d at import time.
"""
from .ball_query import ball_query
from .chamfer_distance import chamfer_distance, chamfer_loss
from .furthest_point_sample import (furthest_point_sample,
                                    furthest_point_sample_numpy,
                                    quickfps_available)
from .gather_points import gather_points
from .knn import knn
from .mmcv_cpu_backend import (mmcv_cpu_ops_registered, register_mmcv_cpu_ops,
                               unregister_mmcv_cpu_ops)

__all__ = [
    'furthest_point_sample', 'furthest_point_sample_numpy',
    'quickfps_available', 'knn', 'gather_points', 'chamfer_distance',
    'chamfer_loss'
]
__all__ += ['ball_query']
__all__ += [
    'register_mmcv_cpu_ops', 'unregister_mmcv_cpu_ops',
    'mmcv_cpu_ops_registered'
]
