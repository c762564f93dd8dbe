# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR's matching costs as mmdet match costs (``BaseMatchCost``).

Together with mmdet's ``ClassificationCost`` (``-softmax(logits)[:, label]``,
which is 3DETR's class cost since labels never index the no-object column)
they make 3DETR's matching cost for :class:`HungarianAssigner3D`. Each cost
reads the fields below from the ``InstanceData`` it is given and returns a
(num_preds, num_gts) matrix already multiplied by its ``weight``:

- predictions: ``scores`` class logits with the no-object column last
  (Q, K + 1), ``centers_normalized`` (Q, 3), ``bboxes`` (Q, 7);
- ground truth: ``labels`` (G, ), ``centers_normalized`` (G, 3),
  ``bboxes`` (G, 7);

with boxes ``(x, y, z, dx, dy, dz, yaw)`` (gravity centre, mmdet3d's
counter-clockwise depth-box yaw) and centres normalised to the scene range.
"""
from typing import Optional, Union

import torch
from mmdet.models.task_modules.assigners.match_cost import BaseMatchCost
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet3d.registry import TASK_UTILS
from .generalized_box3d_iou import (compat_generalized_box3d_iou,
                                    generalized_box3d_iou)


@TASK_UTILS.register_module()
class ObjectnessCost(BaseMatchCost):
    """``-objectness * weight``, objectness = 1 - p(no-object).

    The probabilities are the softmax of ``pred_instances.scores`` (Q, K + 1)
    whose last column is no-object; the cost does not depend on the ground
    truth, so every column of the (Q, G) matrix is the same.

    Args:
        weight (float): Cost weight. Defaults to 1.
    """

    def __init__(self, weight: Union[float, int] = 1.) -> None:
        super().__init__(weight=weight)

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Compute the cost.

        Args:
            pred_instances (InstanceData): ``scores``, logits (Q, K + 1).
            gt_instances (InstanceData): Any field; only its length G is
                used.
            img_meta (dict, optional): Unused.

        Returns:
            Tensor: Costs, shape (Q, G).
        """
        objectness = 1 - pred_instances.scores.softmax(-1)[:, -1]
        return -(self.weight * objectness).unsqueeze(1).expand(
            -1, len(gt_instances))


@TASK_UTILS.register_module()
class CenterL1Cost(BaseMatchCost):
    """L1 distance of box centres, ``|c_q - c_g|_1 * weight``.

    3DETR matches on centres normalised to the scene's point-cloud range
    (``centers_normalized`` of predictions and ground truth, (N, 3)).

    Args:
        weight (float): Cost weight. Defaults to 1.
    """

    def __init__(self, weight: Union[float, int] = 1.) -> None:
        super().__init__(weight=weight)

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Compute the cost.

        Args:
            pred_instances (InstanceData): ``centers_normalized`` (Q, 3).
            gt_instances (InstanceData): ``centers_normalized`` (G, 3).
            img_meta (dict, optional): Unused.

        Returns:
            Tensor: Costs, shape (Q, G).
        """
        return torch.cdist(
            pred_instances.centers_normalized,
            gt_instances.centers_normalized,
            p=1) * self.weight


@TASK_UTILS.register_module()
class GIoU3DCost(BaseMatchCost):
    """``-GIoU(box_q, box_g) * weight`` of yaw-rotated 3D boxes.

    The GIoU is :func:`generalized_box3d_iou` (exact rotated intersection);
    ``compat_giou=True`` uses the original 3DETR's matcher GIoU instead
    (:func:`compat_generalized_box3d_iou`), which is wrong for many rotated
    pairs and for ground-truth boxes after the fourth; it changes the
    assignment of a sizeable share of boxes (on random scenes with
    predictions near the ground truth, about one box in seven) and exists
    only to reproduce the original's SUN RGB-D training.

    Args:
        weight (float): Cost weight. Defaults to 1.
        compat_giou (bool): Use the original 3DETR's (inexact) GIoU.
            Defaults to False.
    """

    def __init__(self,
                 weight: Union[float, int] = 1.,
                 compat_giou: bool = False) -> None:
        super().__init__(weight=weight)
        self.compat_giou = compat_giou

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Compute the cost.

        Args:
            pred_instances (InstanceData): ``bboxes`` (Q, 7).
            gt_instances (InstanceData): ``bboxes`` (G, 7).
            img_meta (dict, optional): Unused.

        Returns:
            Tensor: Costs, shape (Q, G).
        """
        giou_fn = compat_generalized_box3d_iou \
            if self.compat_giou else generalized_box3d_iou
        _, giou = giou_fn(pred_instances.bboxes, gt_instances.bboxes)
        return -giou * self.weight
