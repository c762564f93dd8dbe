"""HungarianAssigner3D and the 3D match costs: the same assignment as the
former HungarianMatcher3D (its cost formula kept here as the oracle), and
mmdet's own HungarianAssigner agreeing with the registered 3D costs."""
import math

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment

import projects.pimae.pimae.models  # noqa: F401
from mmdet3d.registry import TASK_UTILS
from projects.pimae.pimae.models.task_modules import (
    compat_generalized_box3d_iou, generalized_box3d_iou)

NUM_CLASSES = 5


def former_matcher_assign(prob, center_normalized, bboxes, gt_labels,
                          gt_center_normalized, gt_bboxes, cost_cls,
                          cost_objectness, cost_center, cost_giou,
                          compat_giou):
    """The former ``HungarianMatcher3D.cost_matrix`` + ``assign``, verbatim:
    class probabilities and objectness from the head's batch softmax."""
    cls_prob, objectness = prob[:, :NUM_CLASSES], 1 - prob[:, -1]
    cost = -cost_cls * cls_prob[:, gt_labels]
    cost = cost - cost_objectness * objectness.unsqueeze(1)
    cost = cost + cost_center * torch.cdist(
        center_normalized, gt_center_normalized, p=1)
    if cost_giou != 0:
        giou_fn = compat_generalized_box3d_iou \
            if compat_giou else generalized_box3d_iou
        cost = cost - cost_giou * giou_fn(bboxes, gt_bboxes)[1]
    query_idx, gt_idx = linear_sum_assignment(cost.float().cpu().numpy())
    return cost, torch.as_tensor(query_idx), torch.as_tensor(gt_idx)


def random_batch(batch_size, num_queries, num_gts, seed):
    """Predictions near the ground truth (ties and close calls happen)."""
    g = torch.Generator().manual_seed(seed)
    gt_boxes = torch.cat([
        torch.rand(batch_size, num_gts, 3, generator=g),
        0.2 + torch.rand(batch_size, num_gts, 3, generator=g),
        (torch.rand(batch_size, num_gts, 1, generator=g) - .5) * 6
    ], -1)
    near = gt_boxes[:, torch.randint(0, max(num_gts, 1), (num_queries, ),
                                     generator=g)] if num_gts else \
        torch.rand(batch_size, num_queries, 7, generator=g)
    boxes = near + 0.1 * torch.randn(near.shape, generator=g)
    boxes[..., 3:6] = boxes[..., 3:6].abs() + 0.05
    logits = 2 * torch.randn(
        batch_size, num_queries, NUM_CLASSES + 1, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (batch_size, num_gts), generator=g)
    return logits, boxes, gt_boxes, labels


WEIGHTS = [
    dict(cost_cls=1., cost_objectness=5., cost_center=5., cost_giou=3.,
         compat_giou=False),  # SUN RGB-D
    dict(cost_cls=1., cost_objectness=5., cost_center=5., cost_giou=3.,
         compat_giou=True),  # the original's SUN RGB-D matching
    dict(cost_cls=1., cost_objectness=0., cost_center=0., cost_giou=2.,
         compat_giou=False),  # ScanNet
    dict(cost_cls=2., cost_objectness=0.5, cost_center=1., cost_giou=0.,
         compat_giou=False),
]


@pytest.mark.parametrize('weights', WEIGHTS)
@pytest.mark.parametrize('num_queries, num_gts', [(1, 1), (8, 3), (9, 9),
                                                  (4, 7), (64, 12),
                                                  (128, 30)])
def test_same_assignment_as_the_former_matcher(weights, num_queries,
                                               num_gts):
    assigner = TASK_UTILS.build(dict(type='HungarianMatcher3D', **weights))
    logits, boxes, gt_boxes, labels = random_batch(2, num_queries, num_gts,
                                                   seed=num_queries + num_gts)
    prob = logits.softmax(-1)  # the former head: one softmax per batch
    for b in range(2):
        pred = InstanceData(
            scores=logits[b], centers_normalized=boxes[b, :, :3],
            bboxes=boxes[b])
        gt = InstanceData(
            labels=labels[b],
            centers_normalized=gt_boxes[b, :, :3],
            bboxes=gt_boxes[b])
        cost, query_idx, gt_idx = former_matcher_assign(
            prob[b], boxes[b, :, :3], boxes[b], labels[b], gt_boxes[b, :, :3],
            gt_boxes[b], **weights)
        # the same costs to the bit, so the same solve
        assert torch.equal(assigner.cost_matrix(pred, gt), cost)
        result = assigner.assign(pred, gt)
        expected = torch.zeros(num_queries, dtype=torch.long)
        expected[query_idx] = gt_idx + 1
        assert torch.equal(result.gt_inds, expected)
        assert result.num_gts == num_gts
        assert torch.equal(result.labels[query_idx], labels[b][gt_idx])


def test_explicit_match_costs_and_mmdets_hungarian_assigner_agree():
    """The 3D costs are plain mmdet match costs: mmdet's HungarianAssigner
    built with them assigns like HungarianAssigner3D and the 3DETR
    matcher."""
    costs = [
        dict(type='mmdet.ClassificationCost', weight=1.),
        dict(type='ObjectnessCost', weight=5.),
        dict(type='CenterL1Cost', weight=5.),
        dict(type='GIoU3DCost', weight=3.)
    ]
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        ours = TASK_UTILS.build(
            dict(type='HungarianAssigner3D', match_costs=costs))
        mmdet = TASK_UTILS.build(
            dict(type='mmdet.HungarianAssigner', match_costs=costs))
    matcher = TASK_UTILS.build(dict(type='HungarianMatcher3D'))
    logits, boxes, gt_boxes, labels = random_batch(1, 32, 9, seed=5)
    pred = InstanceData(
        scores=logits[0], centers_normalized=boxes[0, :, :3],
        bboxes=boxes[0])
    gt = InstanceData(
        labels=labels[0],
        centers_normalized=gt_boxes[0, :, :3],
        bboxes=gt_boxes[0])
    expected = matcher.assign(pred, gt).gt_inds
    assert (expected > 0).sum() == 9
    assert torch.equal(ours.assign(pred, gt).gt_inds, expected)
    assert torch.equal(mmdet.assign(pred, gt).gt_inds, expected)


def test_each_3d_cost_is_its_formula():
    logits = torch.tensor([[1., 0., 2.], [0., 3., -1.]])
    no_object = [
        math.exp(2) / (math.exp(1) + 1 + math.exp(2)),
        math.exp(-1) / (1 + math.exp(3) + math.exp(-1))
    ]
    centers = torch.tensor([[0., 0., 0.], [1., 2., 3.]])
    gt_centers = torch.tensor([[.5, .5, .5], [0., .5, -1.], [2., 2., 2.]])
    boxes = torch.cat([centers, torch.ones(2, 3), torch.zeros(2, 1)], 1)
    gt_boxes = torch.cat([gt_centers, torch.ones(3, 3), torch.zeros(3, 1)],
                         1)
    pred = InstanceData(
        scores=logits, centers_normalized=centers, bboxes=boxes)
    gt = InstanceData(
        labels=torch.tensor([0, 1, 0]),
        centers_normalized=gt_centers,
        bboxes=gt_boxes)
    objectness = TASK_UTILS.build(dict(type='ObjectnessCost', weight=2.))
    torch.testing.assert_close(
        objectness(pred, gt),
        torch.tensor([[-2 * (1 - p)] * 3 for p in no_object]))
    center = TASK_UTILS.build(dict(type='CenterL1Cost', weight=0.5))
    torch.testing.assert_close(
        center(pred, gt), 0.5 * torch.tensor([[1.5, 1.5, 6.], [4.5, 6.5, 2.]]))
    # unit cubes: query 0 and gt 1 touch in z only -> IoU 0, union 2,
    # enclosing 1 x 1.5 x 2 = 3, GIoU -1/3; query 0 and gt 0 overlap
    # 0.5^3 -> IoU 0.125 / 1.875, enclosing 1.5^3
    giou = TASK_UTILS.build(dict(type='GIoU3DCost', weight=3.))
    value = giou(pred, gt)
    torch.testing.assert_close(value[0, 1], torch.tensor(-3 * (-1 / 3)))
    torch.testing.assert_close(
        value[0, 0],
        torch.tensor(-3 * (0.125 / 1.875 - (1.5**3 - 1.875) / 1.5**3)))
