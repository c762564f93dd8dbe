"""ThreeDETRHead.loss_by_feat and predict_by_feat on a hand-made case: two
queries, one ground-truth box, every expected number written from its
formula."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.structures import Det3DDataSample, DepthInstance3DBoxes
from .test_threedetr_head import build_head

#: scene range: x, y in [0, 4], z in [0, 2]
LOW, HIGH = torch.zeros(1, 3), torch.tensor([[4., 4., 2.]])
#: ground truth: gravity centre (1, 2, 1), size 1 x 2 x 0.5, yaw 0.6, class 1
GT_BOX = [1., 2., 1., 1., 2., .5, .6]
#: query 0: inside the ground truth (same BEV centre and yaw, smaller, 5 cm
#: higher); query 1: far away
PRED_BOXES = [[1., 2., 1.05, .8, 1.6, .3, .6], [3.5, .5, .3, .5, .5, .5, 0.]]
CLS_LOGITS = [[.2, 2., -1.], [.5, -.5, 2.5]]
ANGLE_LOGITS = [[.1 * i for i in range(12)], [0.] * 12]
RESIDUAL_AT_BIN_1 = .1


def layer_preds():
    boxes = torch.tensor([PRED_BOXES])
    residual = torch.zeros(1, 2, 12)
    residual[0, 0, 1] = RESIDUAL_AT_BIN_1
    return dict(
        cls_logits=torch.tensor([CLS_LOGITS]),
        bboxes=boxes,
        center_normalized=(boxes[..., :3] - LOW) / (HIGH - LOW),
        size_normalized=boxes[..., 3:6] / (HIGH - LOW),
        angle_logits=torch.tensor([ANGLE_LOGITS]),
        angle_residual_normalized=residual)


def ground_truth():
    gt = InstanceData()
    gt.bboxes_3d = DepthInstance3DBoxes(
        torch.tensor([GT_BOX]), origin=(0.5, 0.5, 0.5))
    gt.labels_3d = torch.tensor([1])
    return gt


def cross_entropy(logits, target):
    return math.log(sum(math.exp(v) for v in logits)) - logits[target]


def test_losses_of_two_queries_and_one_box():
    head = build_head(loss_giou=dict(type='GIoU3DLoss', loss_weight=1.0))
    losses = head.loss_by_feat([layer_preds(), layer_preds()], (LOW, HIGH),
                               [ground_truth()], [dict(sample_idx=0)])

    # query 0 is matched (class 1), query 1 is no-object (class 2, weight
    # 0.1); the box losses are sums over the one matched query / 1 box
    expected_cls = (cross_entropy(CLS_LOGITS[0], 1) +
                    0.1 * cross_entropy(CLS_LOGITS[1], 2)) / 1.1
    # centres normalised by the range: (1, 2, 1.05) / (4, 4, 2) vs
    # (1, 2, 1) / (4, 4, 2): |0.525 - 0.5| = 0.025, weight 5
    expected_center = 5 * 0.025
    # sizes normalised: (0.2, 0.4, 0.15) vs (0.25, 0.5, 0.25), weight 1
    expected_size = 0.05 + 0.1 + 0.1
    # yaw 0.6 lies in bin 1 (centred at 30 deg, half width 15 deg)
    expected_angle_cls = 0.1 * cross_entropy(ANGLE_LOGITS[0], 1)
    residual_target = (0.6 - 2 * math.pi / 12) / (math.pi / 12)
    diff = RESIDUAL_AT_BIN_1 - residual_target
    assert abs(diff) < 1  # the quadratic part of the Huber loss
    expected_angle_reg = 0.5 * 0.5 * diff**2
    # nested boxes: IoU = volume ratio; enclosing box = axis-aligned box of
    # the ground truth's yawed BEV rectangle x its height
    iou = (0.8 * 1.6 * 0.3) / (1 * 2 * 0.5)
    cos, sin = math.cos(0.6), math.sin(0.6)
    enclosing = (1 * cos + 2 * sin) * (1 * sin + 2 * cos) * 0.5
    expected_giou = 1 - (iou - (enclosing - 1.0) / enclosing)

    expected = dict(
        loss_cls=expected_cls,
        loss_center=expected_center,
        loss_size=expected_size,
        loss_angle_cls=expected_angle_cls,
        loss_angle_reg=expected_angle_reg,
        loss_giou=expected_giou)
    assert set(losses) == set(expected) | {'d0.' + k for k in expected}
    for key, value in expected.items():
        assert float(losses[key]) == pytest.approx(value, rel=1e-5), key
        assert float(losses['d0.' + key]) == pytest.approx(
            value, rel=1e-5), key


def test_loss_goes_through_loss_by_feat_with_the_samples():
    head = build_head()
    sample = Det3DDataSample(metainfo=dict(sample_idx=0))
    sample.gt_instances_3d = ground_truth()
    sample.ignored_instances = InstanceData()
    feats = dict(
        xyz=torch.rand(1, 8, 3) * 2,
        features=torch.randn(1, 8, 32),
        point_cloud_range=(LOW, HIGH))
    with pytest.raises(ValueError, match='ignored instances'):
        head.loss(feats, [sample])
    del sample.ignored_instances
    with torch.no_grad():
        losses = head.loss(feats, [sample])
        expected = head.loss_by_feat(head(feats), (LOW, HIGH),
                                     [sample.gt_instances_3d],
                                     [sample.metainfo])
    assert losses.keys() == expected.keys()
    for key in losses:
        torch.testing.assert_close(losses[key], expected[key])


def softmax(logits):
    total = sum(math.exp(v) for v in logits)
    return [math.exp(v) / total for v in logits]


@pytest.mark.parametrize('per_class', [True, False])
def test_predict_by_feat_of_two_queries(per_class):
    # query 1: objectness 1 - p(no-object) = 0.156 < score_thr 0.2: dropped
    head = build_head(
        test_cfg=dict(
            nms_thr=0.25, score_thr=0.2, per_class_proposal=per_class))
    results = head.predict_by_feat(
        layer_preds(), [dict(box_type_3d=DepthInstance3DBoxes)])
    assert len(results) == 1
    result = results[0]
    prob = softmax(CLS_LOGITS[0])
    objectness = prob[0] + prob[1]
    assert 1 - softmax(CLS_LOGITS[1])[2] < 0.2 < objectness
    # mmdet3d stores the bottom centre: z = 1.05 - 0.3 / 2
    box = [1., 2., 0.9, .8, 1.6, .3, .6]
    assert isinstance(result.bboxes_3d, DepthInstance3DBoxes)
    if per_class:
        # the kept query once per class, scored p(class) x objectness
        expected_boxes = torch.tensor([box, box])
        expected_scores = [prob[0] * objectness, prob[1] * objectness]
        expected_labels = [0, 1]
    else:
        expected_boxes = torch.tensor([box])
        expected_scores = [objectness]
        expected_labels = [1]  # arg-max class
    torch.testing.assert_close(result.bboxes_3d.tensor, expected_boxes)
    torch.testing.assert_close(result.scores_3d,
                               torch.tensor(expected_scores))
    assert result.labels_3d.tolist() == expected_labels
    # a test config given to predict_by_feat replaces test_cfg
    low_thr = head.predict_by_feat(
        layer_preds(), [dict()],
        cfg=dict(nms_thr=0.25, score_thr=0.1, per_class_proposal=False))[0]
    assert low_thr.scores_3d.tolist() == pytest.approx(
        [objectness, 1 - softmax(CLS_LOGITS[1])[2]])


def test_loss_and_predict_is_loss_plus_predict():
    head = build_head(test_cfg=dict(score_thr=0.0, per_class_proposal=False))
    sample = Det3DDataSample(
        metainfo=dict(sample_idx=0, box_type_3d=DepthInstance3DBoxes))
    sample.gt_instances_3d = ground_truth()
    feats = dict(
        xyz=torch.rand(1, 8, 3) * 2,
        features=torch.randn(1, 8, 32),
        point_cloud_range=(LOW, HIGH))
    with torch.no_grad():
        losses, results = head.loss_and_predict(feats, [sample])
        expected_losses = head.loss(feats, [sample])
        expected = head.predict(feats, [sample])[0]
    assert losses.keys() == expected_losses.keys()
    for key in losses:
        torch.testing.assert_close(losses[key], expected_losses[key])
    torch.testing.assert_close(results[0].bboxes_3d.tensor,
                               expected.bboxes_3d.tensor)
    torch.testing.assert_close(results[0].scores_3d, expected.scores_3d)
    assert len(expected.scores_3d) > 0
