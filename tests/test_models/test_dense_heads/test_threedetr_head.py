"""ThreeDETRHead: 3DETR's empty-box removal before the NMS and the
original's query sampling."""
import math

import pytest
import torch
from scipy.spatial import Delaunay

from mmdet3d.structures import DepthInstance3DBoxes
from projects.pimae.pimae.models.dense_heads.threedetr_head import \
    count_points_in_boxes

HEAD = dict(
    type='ThreeDETRHead',
    num_classes=2,
    in_channels=32,
    embed_dims=32,
    num_queries=4,
    decoder=dict(
        type='ThreeDETRDecoder',
        num_layers=1,
        layer_cfg=dict(embed_dims=32, num_heads=2, feedforward_channels=32)),
    test_cfg=dict(nms_thr=0.25, score_thr=0.0, per_class_proposal=False))


def build_head(**overrides):
    import projects.pimae.pimae.models  # noqa: F401
    from mmengine.registry import DefaultScope

    from mmdet3d.registry import MODELS
    cfg = dict(HEAD, **overrides)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        head = MODELS.build(cfg)
    head.init_weights()
    return head.eval()


def points_in_box(box, local):
    """Depth-frame points at box-local coordinates (fractions of the size)."""
    local = torch.as_tensor(local, dtype=torch.float32) * box[3:6]
    cos, sin = math.cos(box[6]), math.sin(box[6])
    x = box[0] + local[:, 0] * cos - local[:, 1] * sin
    y = box[1] + local[:, 0] * sin + local[:, 1] * cos
    return torch.stack([x, y, box[2] + local[:, 2]], 1)


#: box A (rotated 30 deg) holds 4 points, box B 5, box D overlaps B
BOX_A = torch.tensor([0., 0., 1., 1.0, 0.5, 1.0, math.pi / 6])
BOX_B = torch.tensor([3., 0., 1., 1.0, 1.0, 1.0, 0.])
BOX_D = torch.tensor([3.15, 0., 1., 1.0, 1.0, 1.0, 0.])
INSIDE = [[0.4, 0.4, 0.4], [-0.4, 0.3, -0.2], [0.1, -0.45, 0.3],
          [-0.3, -0.2, -0.45], [0., 0., 0.]]


def scene():
    points = torch.cat([
        points_in_box(BOX_A, INSIDE[:4]),
        points_in_box(BOX_B, INSIDE[:5]),
        # near box A but outside it (beyond its rotated short side)
        points_in_box(BOX_A, [[0., 0.6, 0.], [0.7, 0., 0.]]),
        torch.tensor([[10., 10., 10.]])
    ])
    return points


def predict(head, bboxes, objectness, points):
    cls_prob = torch.tensor([[0.9, 0.1]]).expand(len(bboxes), 2)
    return head._predict_by_feat_single(
        bboxes, cls_prob, objectness, dict(box_type_3d=DepthInstance3DBoxes),
        head.test_cfg, points)


def kept_boxes(result):
    return result.bboxes_3d.gravity_center[:, 0].tolist()


def test_count_points_in_boxes_matches_the_convex_hull_of_the_corners():
    torch.manual_seed(0)
    boxes = torch.cat([
        torch.rand(6, 3) * 2, 0.3 + torch.rand(6, 3),
        torch.rand(6, 1) * 2 * math.pi - math.pi
    ], 1)
    points = torch.rand(3000, 3) * 3 - 0.5
    counts = count_points_in_boxes(points, boxes, chunk_size=4)
    corners = DepthInstance3DBoxes(boxes, origin=(0.5, 0.5, 0.5)).corners
    expected = [
        int((Delaunay(c.numpy()).find_simplex(points.numpy()) >= 0).sum())
        for c in corners
    ]
    assert counts.tolist() == expected
    assert min(expected) > 0
    assert count_points_in_boxes(points, boxes[:0]).shape == (0, )


def test_box_with_4_points_is_dropped_and_with_5_kept():
    points = scene()
    assert count_points_in_boxes(points,
                                 torch.stack([BOX_A,
                                              BOX_B])).tolist() == [4, 5]
    bboxes = torch.stack([BOX_A, BOX_B])
    objectness = torch.tensor([0.9, 0.6])
    keep_all = build_head()
    assert kept_boxes(predict(keep_all, bboxes, objectness, points)) == \
        pytest.approx([0., 3.])
    remove = build_head(test_cfg=dict(HEAD['test_cfg'], remove_empty_box=True))
    assert kept_boxes(predict(remove, bboxes, objectness, points)) == \
        pytest.approx([3.])
    # the threshold is configurable
    remove4 = build_head(
        test_cfg=dict(
            HEAD['test_cfg'], remove_empty_box=True, empty_box_min_points=4))
    assert sorted(kept_boxes(predict(remove4, bboxes, objectness,
                                     points))) == pytest.approx([0., 3.])


def test_empty_boxes_are_removed_before_the_nms():
    points = scene()
    # D overlaps B (IoU 0.74), is more confident, but holds only 4 points
    assert count_points_in_boxes(points, BOX_D[None]).tolist() == [4]
    bboxes = torch.stack([BOX_D, BOX_B])
    objectness = torch.tensor([0.95, 0.6])
    # without the removal D suppresses B; with it B survives
    assert kept_boxes(predict(build_head(), bboxes, objectness,
                              points)) == pytest.approx([3.15])
    remove = build_head(test_cfg=dict(HEAD['test_cfg'], remove_empty_box=True))
    assert kept_boxes(predict(remove, bboxes, objectness,
                              points)) == pytest.approx([3.])


def test_when_every_box_is_empty_the_most_confident_is_kept():
    remove = build_head(test_cfg=dict(HEAD['test_cfg'], remove_empty_box=True))
    far = torch.full((20, 3), 50.)
    bboxes = torch.stack([BOX_A, BOX_B])
    result = predict(remove, bboxes, torch.tensor([0.3, 0.7]), far)
    assert kept_boxes(result) == pytest.approx([3.])


def test_remove_empty_box_needs_the_points():
    remove = build_head(test_cfg=dict(HEAD['test_cfg'], remove_empty_box=True))
    preds = dict(
        cls_logits=torch.zeros(1, 2, 3),
        bboxes=torch.stack([BOX_A, BOX_B])[None])
    with pytest.raises(ValueError, match="feats\\['points'\\]"):
        remove.predict_by_feat(preds, [dict()])
    results = remove.predict_by_feat(preds, [dict()], scene()[None])
    assert len(results[0].bboxes_3d) == 1


def test_queries_skip_points_near_the_origin_with_the_compat_option():
    torch.manual_seed(0)
    # 16 tokens within 0.1 m of (2, 0, 0) and token 5 at the origin: plain
    # FPS (seeded at token 0) picks the origin second, the original's FPS
    # never picks it
    xyz = torch.tensor([2., 0., 0.]) + torch.rand(16, 3) * 0.1
    xyz[5] = torch.tensor([0.01, 0.02, 0.])  # |p| < sqrt(1e-3)
    feats = dict(
        xyz=xyz[None],
        features=torch.randn(1, 16, 32),
        point_cloud_range=(xyz.amin(0)[None], xyz.amax(0)[None]))
    with torch.no_grad():
        plain = build_head()(feats)[-1]['query_xyz'][0]
        compat = build_head(
            compat_fps_skip_origin=True)(feats)[-1]['query_xyz'][0]
    torch.testing.assert_close(plain[1], xyz[5])
    assert ((compat - xyz[5]).norm(dim=1) > 1).all()
    torch.testing.assert_close(compat[0], xyz[0])


def test_detector_passes_the_input_points():
    from ..test_detectors.test_threedetr import build, make_samples
    model = build(
        **{
            'test_cfg':
            dict(
                nms_thr=0.25,
                score_thr=0.0,
                per_class_proposal=False,
                remove_empty_box=True)
        })
    model.eval()
    inputs, samples = make_samples([1, 1])
    with torch.no_grad():
        results = model.predict(inputs, samples)
    for points, result in zip(inputs['points'], results):
        boxes = result.pred_instances_3d.bboxes_3d
        counts = count_points_in_boxes(
            points, torch.cat([boxes.gravity_center, boxes.tensor[:, 3:]], 1))
        # every kept box holds >= 5 input points, or it is the single most
        # confident box kept because all were empty
        assert len(boxes) > 0
        assert (counts >= 5).all() or len(boxes) == 1
