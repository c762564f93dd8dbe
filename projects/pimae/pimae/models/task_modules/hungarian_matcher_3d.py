# Copyright (c) OpenMMLab. All rights reserved.
"""One-to-one matching of box queries to ground truth (3DETR's matcher)."""
from typing import Tuple

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmdet3d.registry import TASK_UTILS
from .generalized_box3d_iou import (compat_generalized_box3d_iou,
                                    generalized_box3d_iou)


@TASK_UTILS.register_module()
class HungarianMatcher3D:
    """Hungarian matching of predicted to ground-truth 3D boxes.

    The cost of assigning query ``q`` to ground truth ``g`` is::

        cost_cls * -p_q(label_g) + cost_objectness * -objectness_q
        + cost_center * |c_q - c_g|_1 + cost_giou * -GIoU(box_q, box_g)

    with ``p_q`` the softmax class probabilities (no-object column
    excluded), ``objectness_q = 1 - p_q(no-object)``, centres normalised to
    the scene range and the rotated-box GIoU of
    :func:`generalized_box3d_iou`. The assignment minimising the total cost
    is found by ``scipy.optimize.linear_sum_assignment`` on the CPU; each
    ground truth gets exactly one query when there are at least as many
    queries as ground truths. The defaults are 3DETR's SUN RGB-D costs.

    ``compat_giou=True`` uses the original's GIoU instead
    (:func:`compat_generalized_box3d_iou`), which is wrong for many rotated
    pairs and for ground-truth boxes after the fourth; it changes the
    assignment of a sizeable share of boxes (on random scenes with
    predictions near the ground truth, about one box in seven) and exists
    only to reproduce the original's SUN RGB-D training.

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
        self.cost_cls = cost_cls
        self.cost_objectness = cost_objectness
        self.cost_center = cost_center
        self.cost_giou = cost_giou
        self.compat_giou = compat_giou

    @torch.no_grad()
    def cost_matrix(self, cls_prob: Tensor, objectness: Tensor,
                    center_normalized: Tensor, bboxes: Tensor,
                    gt_labels: Tensor, gt_center_normalized: Tensor,
                    gt_bboxes: Tensor) -> Tensor:
        """Matching costs of every (query, ground truth) pair of a sample.

        Args:
            cls_prob (Tensor): Class probabilities without the no-object
                column, shape (Q, K).
            objectness (Tensor): Objectness probabilities, shape (Q,).
            center_normalized (Tensor): Normalised centres, shape (Q, 3).
            bboxes (Tensor): Predicted boxes, shape (Q, 7).
            gt_labels (Tensor): Labels in [0, K), int64, shape (G,).
            gt_center_normalized (Tensor): Normalised centres, shape (G, 3).
            gt_bboxes (Tensor): Ground-truth boxes, shape (G, 7).

        Returns:
            Tensor: Costs, shape (Q, G).
        """
        cost = -self.cost_cls * cls_prob[:, gt_labels]
        cost = cost - self.cost_objectness * objectness.unsqueeze(1)
        cost = cost + self.cost_center * torch.cdist(
            center_normalized, gt_center_normalized, p=1)
        if self.cost_giou != 0:
            giou_fn = compat_generalized_box3d_iou \
                if self.compat_giou else generalized_box3d_iou
            _, giou = giou_fn(bboxes, gt_bboxes)
            cost = cost - self.cost_giou * giou
        return cost

    @torch.no_grad()
    def assign(self, cls_prob: Tensor, objectness: Tensor,
               center_normalized: Tensor, bboxes: Tensor, gt_labels: Tensor,
               gt_center_normalized: Tensor,
               gt_bboxes: Tensor) -> Tuple[Tensor, Tensor]:
        """Match the queries of one sample to its ground truths.

        Args:
            cls_prob (Tensor): Class probabilities without the no-object
                column, shape (Q, K).
            objectness (Tensor): Objectness probabilities, shape (Q,).
            center_normalized (Tensor): Normalised centres, shape (Q, 3).
            bboxes (Tensor): Predicted boxes, shape (Q, 7).
            gt_labels (Tensor): Labels in [0, K), int64, shape (G,).
            gt_center_normalized (Tensor): Normalised centres, shape (G, 3).
            gt_bboxes (Tensor): Ground-truth boxes, shape (G, 7).

        Returns:
            tuple[Tensor, Tensor]: Matched query indices and their ground
            truth indices, int64, each of shape (min(Q, G),), on the device
            of ``cls_prob``; empty when G == 0.
        """
        device = cls_prob.device
        if gt_labels.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty.clone()
        cost = self.cost_matrix(cls_prob, objectness, center_normalized,
                                bboxes, gt_labels, gt_center_normalized,
                                gt_bboxes)
        cost = cost.float().cpu()
        if not bool(torch.isfinite(cost).all()):
            raise ValueError(
                'HungarianMatcher3D: the cost matrix has NaN or Inf entries '
                '(non-finite predictions or ground-truth boxes)')
        query_idx, gt_idx = linear_sum_assignment(cost.numpy())
        return (torch.as_tensor(query_idx, dtype=torch.long, device=device),
                torch.as_tensor(gt_idx, dtype=torch.long, device=device))
