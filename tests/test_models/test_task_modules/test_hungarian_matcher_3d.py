"""HungarianMatcher3D (3DETR's costs on HungarianAssigner3D) against a
brute-force search over assignments."""
import itertools
import math

import pytest
import torch
from mmengine.structures import InstanceData

from projects.pimae.pimae.models.task_modules import (
    HungarianMatcher3D, compat_generalized_box3d_iou, generalized_box3d_iou)


def random_case(num_queries, num_gts, num_classes=4, seed=0):
    """Class logits (no-object last), normalised centres, boxes, labels."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_queries, num_classes + 1, generator=g)
    centers = torch.rand(num_queries, 3, generator=g)
    sizes = 0.2 + torch.rand(num_queries, 3, generator=g)
    yaws = (torch.rand(num_queries, 1, generator=g) - .5) * 6
    boxes = torch.cat([centers, sizes, yaws], dim=1)
    gt_centers = torch.rand(num_gts, 3, generator=g)
    gt_boxes = torch.cat([
        gt_centers, 0.2 + torch.rand(num_gts, 3, generator=g),
        (torch.rand(num_gts, 1, generator=g) - .5) * 6
    ],
                         dim=1)
    gt_labels = torch.randint(0, num_classes, (num_gts, ), generator=g)
    # normalised = raw here (unit scene), so the centre cost is simple
    return logits, centers, boxes, gt_labels, gt_centers, gt_boxes


def instances(case):
    logits, centers, boxes, labels, gt_centers, gt_boxes = case
    return (InstanceData(
        scores=logits, centers_normalized=centers, bboxes=boxes),
            InstanceData(
                labels=labels,
                centers_normalized=gt_centers,
                bboxes=gt_boxes))


def assign(matcher, case, meta=None):
    """(query indices, gt indices) of the matched pairs, by query."""
    result = matcher.assign(*instances(case), meta)
    query_idx = (result.gt_inds > 0).nonzero(as_tuple=True)[0]
    gt_idx = result.gt_inds[query_idx] - 1
    torch.testing.assert_close(result.labels[query_idx], case[3][gt_idx])
    assert (result.labels[result.gt_inds == 0] == -1).all()
    return query_idx, gt_idx


def brute_force_cost(weights, case):
    """Explicit per-pair cost, written from the formula."""
    logits, centers, boxes, labels, gt_centers, gt_boxes = case
    prob = logits.double().softmax(-1)
    cost = torch.zeros(len(centers), len(gt_centers), dtype=torch.float64)
    for q in range(len(centers)):
        for g in range(len(gt_centers)):
            _, giou = generalized_box3d_iou(boxes[q:q + 1], gt_boxes[g:g + 1])
            cost[q, g] = (-weights['cost_cls'] * prob[q, labels[g]] -
                          weights['cost_objectness'] * (1 - prob[q, -1]) +
                          weights['cost_center'] *
                          (centers[q] - gt_centers[g]).abs().sum() -
                          weights['cost_giou'] * giou[0, 0])
    return cost


SUNRGBD = dict(cost_cls=1., cost_objectness=5., cost_center=5., cost_giou=3.)


@pytest.mark.parametrize('num_queries, num_gts, seed', [(5, 3, 0), (6, 6, 1),
                                                        (4, 1, 2), (7, 4, 3)])
def test_assignment_is_the_brute_force_optimum(num_queries, num_gts, seed):
    matcher = HungarianMatcher3D(**SUNRGBD)
    case = random_case(num_queries, num_gts, seed=seed)
    cost = brute_force_cost(SUNRGBD, case)
    torch.testing.assert_close(
        matcher.cost_matrix(*instances(case)).double(),
        cost,
        atol=1e-5,
        rtol=1e-5)

    best = min(
        itertools.permutations(range(num_queries), num_gts),
        key=lambda queries: sum(cost[q, g] for g, q in enumerate(queries)))
    query_idx, gt_idx = assign(matcher, case)
    assert sorted(gt_idx.tolist()) == list(range(num_gts))  # one query each
    assert len(set(query_idx.tolist())) == num_gts
    got = {int(g): int(q) for q, g in zip(query_idx, gt_idx)}
    assert [got[g] for g in range(num_gts)] == list(best)


def test_more_gts_than_queries_matches_every_query_once():
    matcher = HungarianMatcher3D()
    case = random_case(3, 5, seed=4)
    cost = brute_force_cost(SUNRGBD, case)
    best = min(
        itertools.permutations(range(5), 3),
        key=lambda gts: sum(cost[q, g] for q, g in enumerate(gts)))
    query_idx, gt_idx = assign(matcher, case)
    assert dict(zip(query_idx.tolist(),
                    gt_idx.tolist())) == dict(enumerate(best))


def test_no_ground_truth_gives_empty_assignment():
    result = HungarianMatcher3D().assign(*instances(random_case(4, 0)))
    assert result.num_gts == 0
    assert result.gt_inds.tolist() == [0] * 4  # all background
    assert result.labels.tolist() == [-1] * 4


def test_non_finite_cost_is_a_clear_error_naming_the_sample():
    case = list(random_case(4, 2))
    case[1] = case[1].clone()
    case[1][1, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN or Inf'):
        HungarianMatcher3D().assign(*instances(case))
    meta = dict(sample_idx=3, lidar_path='points/000003.bin')
    with pytest.raises(
            ValueError,
            match=r'sample 3 \(points: points/000003.bin\) has NaN or Inf'):
        HungarianMatcher3D().assign(*instances(case), meta)


def test_zero_weights_leave_the_cost_out_and_all_zero_is_an_error():
    scannet = HungarianMatcher3D(
        cost_cls=1., cost_objectness=0., cost_center=0., cost_giou=2.)
    assert [type(c).__name__ for c in scannet.match_costs] == \
        ['ClassificationCost', 'GIoU3DCost']
    with pytest.raises(ValueError, match='every cost weight is 0'):
        HungarianMatcher3D(0., 0., 0., 0.)


def test_compat_giou_changes_the_assignment():
    """One 2 x 1 ground truth at yaw -45 degrees; query 0 is identical to
    it, query 1 an axis-aligned 1.8 x 1.8 box inside its enclosing box. The
    exact GIoU prefers query 0; the original's prefers query 1, since its
    proxy finds no overlap with the turned box at all: GIoU
    ``(v1 + v2) / enclosing - 1`` = -1/9 for query 0 and 0.24 / 4.5 + 1/9
    for query 1 (enclosing 4.5, the axis-aligned box around the turned
    one)."""
    gt = torch.tensor([[0., 0., 0., 2., 1., 1., -math.pi / 4]])
    boxes = torch.cat([gt, torch.tensor([[0., 0., 0., 1.8, 1.8, 1., 0.]])])
    case = (torch.zeros(2, 4), boxes[:, :3], boxes,
            torch.zeros(1, dtype=torch.long), gt[:, :3], gt)
    exact = HungarianMatcher3D(
        cost_cls=0., cost_objectness=0., cost_center=0., cost_giou=1.)
    compat = HungarianMatcher3D(
        cost_cls=0.,
        cost_objectness=0.,
        cost_center=0.,
        cost_giou=1.,
        compat_giou=True)
    torch.testing.assert_close(
        compat.cost_matrix(*instances(case)),
        -compat_generalized_box3d_iou(boxes, gt)[1])
    torch.testing.assert_close(
        compat.cost_matrix(*instances(case))[:, 0],
        -torch.tensor([-1 / 9, (2 + 1.8 * 1.8) / 4.5 - 1]),
        atol=1e-5,
        rtol=0)
    exact_cost = exact.cost_matrix(*instances(case))[:, 0]
    assert exact_cost[0] < exact_cost[1]
    assert assign(exact, case)[0].tolist() == [0]
    assert assign(compat, case)[0].tolist() == [1]
