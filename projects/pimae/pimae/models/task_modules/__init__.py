# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR task utilities, registered into ``mmdet3d.registry.TASK_UTILS``."""
from .generalized_box3d_iou import (box3d_bev_corners,
                                    compat_generalized_box3d_iou,
                                    convex_quad_intersection_area,
                                    generalized_box3d_iou)
from .hungarian_matcher_3d import HungarianMatcher3D
from .threedetr_bbox_coder import ThreeDETRBBoxCoder

__all__ = [
    'HungarianMatcher3D', 'ThreeDETRBBoxCoder', 'box3d_bev_corners',
    'compat_generalized_box3d_iou', 'convex_quad_intersection_area',
    'generalized_box3d_iou'
]
