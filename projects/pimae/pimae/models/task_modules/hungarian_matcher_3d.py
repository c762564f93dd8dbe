# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR's matcher: :class:`HungarianAssigner3D` with 3DETR's four costs."""
from mmdet3d.registry import TASK_UTILS
from .hungarian_assigner_3d import HungarianAssigner3D


@TASK_UTILS.register_module()
class HungarianMatcher3D(HungarianAssigner3D):
    """3DETR's Hungarian matcher, configured by its four cost weights.

    A thin alias of :class:`HungarianAssigner3D` kept because the configs
    (and configs saved with checkpoints) name it with 3DETR's arguments; it
    builds the match costs::

        cost_cls * -p_q(label_g) + cost_objectness * -objectness_q
        + cost_center * |c_q - c_g|_1 + cost_giou * -GIoU(box_q, box_g)

    i.e. ``mmdet.ClassificationCost`` (softmax class probabilities),
    :class:`ObjectnessCost` (``1 - p_q(no-object)``), :class:`CenterL1Cost`
    (centres normalised to the scene range) and :class:`GIoU3DCost`
    (rotated-box GIoU, or the original's with ``compat_giou``). Costs of
    weight 0 are left out (they add nothing). The defaults are 3DETR's
    SUN RGB-D costs.

    Args:
        cost_cls (float): Weight of the class cost. Defaults to 1.
        cost_objectness (float): Weight of the objectness cost.
            Defaults to 5.
        cost_center (float): Weight of the centre L1 cost. Defaults to 5.
        cost_giou (float): Weight of the GIoU cost. Defaults to 3.
        compat_giou (bool): Match with the original 3DETR's (inexact) GIoU.
            Defaults to False (the exact rotated-box GIoU).
    """

    def __init__(self,
                 cost_cls: float = 1.,
                 cost_objectness: float = 5.,
                 cost_center: float = 5.,
                 cost_giou: float = 3.,
                 compat_giou: bool = False) -> None:
        costs = [
            dict(type='mmdet.ClassificationCost', weight=cost_cls),
            dict(type='ObjectnessCost', weight=cost_objectness),
            dict(type='CenterL1Cost', weight=cost_center),
            dict(type='GIoU3DCost', weight=cost_giou, compat_giou=compat_giou)
        ]
        costs = [cost for cost in costs if cost['weight'] != 0]
        if not costs:
            raise ValueError(
                f'{type(self).__name__}: every cost weight is 0 (cost_cls, '
                'cost_objectness, cost_center, cost_giou); the matching '
                'would be arbitrary')
        super().__init__(costs)
