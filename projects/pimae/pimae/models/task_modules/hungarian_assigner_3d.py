# Copyright (c) OpenMMLab. All rights reserved.
"""One-to-one matching of box queries to ground truth, mmdet style."""
from typing import List, Optional, Union

import torch
from mmdet.models.task_modules.assigners import (AssignResult,
                                                 HungarianAssigner)
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmdet3d.registry import TASK_UTILS
from ...utils.sample_naming import describe_sample
from . import match_costs_3d  # noqa: F401  (registers the 3D costs)


@TASK_UTILS.register_module()
class HungarianAssigner3D(HungarianAssigner):
    """mmdet's ``HungarianAssigner`` for 3D boxes.

    The cost of assigning prediction ``q`` to ground truth ``g`` is the sum
    of ``match_costs`` (mmdet match costs, e.g. ``mmdet.ClassificationCost``
    and the 3D costs of :mod:`.match_costs_3d`, built from
    ``mmdet3d.registry.TASK_UTILS``); the assignment minimising the total
    cost is found by ``scipy.optimize.linear_sum_assignment`` on the CPU,
    each ground truth getting exactly one prediction when there are at least
    as many predictions as ground truths. The result is mmdet's
    ``AssignResult`` (``gt_inds``: 0 unmatched, ``g + 1`` matched to
    ground truth ``g``; ``labels``: the matched ground-truth label or -1).

    ``assign`` is mmdet's with two changes: the costs are summed one term
    at a time in config order and cast to float32 before the solve (a fixed
    arithmetic, whatever torch's reduction order), and a cost matrix with
    NaN or Inf entries is a ``ValueError`` naming the sample instead of
    scipy's anonymous one. mmdet's ``__init__`` is replaced only to build
    the costs from mmdet3d's registry, where the 3D costs live.

    Args:
        match_costs (dict or list[dict]): Match cost configs.
    """

    def __init__(
        self, match_costs: Union[List[Union[dict, ConfigDict]], dict,
                                 ConfigDict]
    ) -> None:
        if isinstance(match_costs, dict):
            match_costs = [match_costs]
        if not match_costs:
            raise ValueError(
                f'{type(self).__name__}: match_costs must not be empty')
        self.match_costs = [TASK_UTILS.build(cost) for cost in match_costs]

    @torch.no_grad()
    def cost_matrix(self,
                    pred_instances: InstanceData,
                    gt_instances: InstanceData,
                    img_meta: Optional[dict] = None) -> Tensor:
        """Sum of the match costs of every (prediction, ground truth) pair.

        Args:
            pred_instances (InstanceData): Predictions, Q entries (the
                fields the costs read, see :mod:`.match_costs_3d`).
            gt_instances (InstanceData): Ground truth, G entries.
            img_meta (dict, optional): The sample's metainfo.

        Returns:
            Tensor: Costs, shape (Q, G).
        """
        cost = None
        for match_cost in self.match_costs:
            term = match_cost(
                pred_instances=pred_instances,
                gt_instances=gt_instances,
                img_meta=img_meta)
            cost = term if cost is None else cost + term
        return cost

    @torch.no_grad()
    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               img_meta: Optional[dict] = None,
               **kwargs) -> AssignResult:
        """Match the predictions of one sample to its ground truths.

        Args:
            pred_instances (InstanceData): Predictions, Q entries.
            gt_instances (InstanceData): Ground truth, G entries, with
                ``labels`` (G, ), int64.
            img_meta (dict, optional): The sample's metainfo, used to name
                it in errors.

        Returns:
            AssignResult: ``num_gts`` = G, ``gt_inds`` (Q, ) (0 unmatched,
            ``g + 1`` matched to ``g``), ``labels`` (Q, ) (-1 unmatched),
            ``max_overlaps`` None.
        """
        gt_labels = gt_instances.labels
        if not isinstance(gt_labels, Tensor):
            raise TypeError(f'{type(self).__name__}: gt_instances.labels '
                            f'must be a Tensor, got {type(gt_labels)}')
        num_gts, num_preds = len(gt_instances), len(pred_instances)
        device = gt_labels.device
        gt_inds = torch.full((num_preds, ),
                             0 if num_gts == 0 else -1,
                             dtype=torch.long,
                             device=device)
        labels = torch.full((num_preds, ), -1, dtype=torch.long, device=device)
        if num_gts == 0 or num_preds == 0:
            return AssignResult(num_gts, gt_inds, None, labels)

        cost = self.cost_matrix(pred_instances, gt_instances,
                                img_meta).float().cpu()
        if not bool(torch.isfinite(cost).all()):
            sample = describe_sample(img_meta) if img_meta else 'a sample'
            raise ValueError(
                f'{type(self).__name__}: the matching cost of {sample} has '
                'NaN or Inf entries (non-finite predictions or ground-truth '
                'boxes)')
        rows, cols = linear_sum_assignment(cost.numpy())
        rows = torch.as_tensor(rows, dtype=torch.long, device=device)
        cols = torch.as_tensor(cols, dtype=torch.long, device=device)
        gt_inds[:] = 0
        gt_inds[rows] = cols + 1
        labels[rows] = gt_labels[cols]
        return AssignResult(num_gts, gt_inds, None, labels)
