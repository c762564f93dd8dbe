# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR task utilities, registered into ``mmdet3d.registry.TASK_UTILS``."""
from .generalized_box3d_iou import (box3d_bev_corners,
                                    compat_generalized_box3d_iou,
                                    convex_quad_intersection_area,
                                    generalized_box3d_iou)
from .hungarian_assigner_3d import HungarianAssigner3D
from .hungarian_matcher_3d import HungarianMatcher3D
from .match_costs_3d import CenterL1Cost, GIoU3DCost, ObjectnessCost
from .threedetr_bbox_coder import ThreeDETRBBoxCoder

__all__ = [
    'CenterL1Cost', 'GIoU3DCost', 'HungarianAssigner3D', 'HungarianMatcher3D',
    'ObjectnessCost', 'ThreeDETRBBoxCoder', 'box3d_bev_corners',
    'compat_generalized_box3d_iou', 'convex_quad_intersection_area',
    'generalized_box3d_iou'
]
