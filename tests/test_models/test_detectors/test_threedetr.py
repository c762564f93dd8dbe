"""ThreeDETR: losses, empty ground truth, predictions, layer depths."""
import copy

import pytest
import torch

TINY = dict(
    type='ThreeDETR',
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    backbone=dict(
        type='ThreeDETRBackbone',
        in_channels=3,
        pre_encoder=dict(
            type='PointNetSetAbstraction',
            num_points=32,
            radius=0.4,
            num_samples=8,
            mlp_channels=(16, 32)),
        encoder=dict(
            type='DETRStyleEncoder',
            num_layers=2,
            layer_cfg=dict(
                embed_dims=32,
                num_heads=2,
                feedforward_channels=16,
                dropout=0.1))),
    bbox_head=dict(
        type='ThreeDETRHead',
        num_classes=3,
        embed_dims=32,
        num_queries=8,
        decoder=dict(
            type='ThreeDETRDecoder',
            num_layers=2,
            layer_cfg=dict(
                embed_dims=32, num_heads=2, feedforward_channels=32))),
    train_cfg=dict(assigner=dict(type='HungarianMatcher3D')),
    test_cfg=dict(nms_thr=0.25, score_thr=0.0, per_class_proposal=True))


def build(**overrides):
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = copy.deepcopy(TINY)
    for key, value in overrides.items():
        node = cfg
        *path, last = key.split('.')
        for part in path:
            node = node[part]
        node[last] = value
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_samples(box_counts, num_classes=3, seed=0):
    from mmengine.structures import InstanceData

    from mmdet3d.structures import Det3DDataSample, DepthInstance3DBoxes
    g = torch.Generator().manual_seed(seed)
    points, samples = [], []
    for i, count in enumerate(box_counts):
        points.append(torch.rand(96, 3, generator=g) * 2)
        sample = Det3DDataSample()
        sample.set_metainfo(
            dict(box_type_3d=DepthInstance3DBoxes, sample_idx=i))
        boxes = torch.cat([
            torch.rand(count, 3, generator=g) * 2,
            0.3 + torch.rand(count, 3, generator=g),
            torch.rand(count, 1, generator=g) * 3
        ],
                          dim=1)
        gt = InstanceData()
        gt.bboxes_3d = DepthInstance3DBoxes(boxes)
        gt.labels_3d = torch.randint(0, num_classes, (count, ), generator=g)
        sample.gt_instances_3d = gt
        samples.append(sample)
    return dict(points=points), samples


def test_losses_of_every_layer_and_every_parameter_gets_a_gradient():
    model = build()
    model.train()
    inputs, samples = make_samples([3, 1])
    losses = model.loss(inputs, samples)
    expected = {
        'loss_cls', 'loss_center', 'loss_size', 'loss_angle_cls',
        'loss_angle_reg'
    }
    assert {k for k in losses if not k.startswith('d')} == expected
    assert {k
            for k in losses
            if k.startswith('d0.')} == {'d0.' + k
                                        for k in expected}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_a_sample_without_ground_truth_trains():
    model = build()
    model.train()
    inputs, samples = make_samples([0, 2])
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    # a batch with no box at all still reaches every parameter (DDP safe)
    model.zero_grad()
    inputs, samples = make_samples([0, 0])
    losses = model.loss(inputs, samples)
    assert losses['loss_center'] == 0
    assert losses['loss_cls'] > 0  # every query is pushed to no-object
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_giou_loss_when_weighted():
    """loss_giou = sum over matched pairs of (1 - GIoU) / number of boxes,
    with the pairs found independently of the head: 3DETR's matching cost
    written out (class 1, objectness 5, centre 5, GIoU 3) and scipy."""
    from scipy.optimize import linear_sum_assignment

    from projects.pimae.pimae.models.task_modules import \
        generalized_box3d_iou
    model = build(
        **{'bbox_head.loss_giou': dict(type='GIoU3DLoss', loss_weight=2.0)})
    model.eval()  # no dropout: the same predictions in both passes
    inputs, samples = make_samples([2, 3])
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        feats = model.extract_feat(inputs)
        layers = model.bbox_head(feats)
    low, high = feats['point_cloud_range']
    for key, preds in (('loss_giou', layers[-1]), ('d0.loss_giou',
                                                   layers[0])):
        total = 0.
        for b, sample in enumerate(samples):
            gt = sample.gt_instances_3d
            gt_boxes = torch.cat([
                gt.bboxes_3d.gravity_center, gt.bboxes_3d.tensor[:, 3:7]
            ], 1)
            gt_centers = (gt_boxes[:, :3] - low[b]) / (high[b] - low[b])
            prob = preds['cls_logits'][b].softmax(-1)
            giou = generalized_box3d_iou(preds['bboxes'][b], gt_boxes)[1]
            cost = (-prob[:, gt.labels_3d] - 5 * (1 - prob[:, -1:]) +
                    5 * (preds['center_normalized'][b, :, None] -
                         gt_centers[None]).abs().sum(-1) - 3 * giou)
            queries, gts = linear_sum_assignment(cost.numpy())
            total += float((1 - giou[queries, gts]).sum())
        expected = 2.0 * total / 5
        assert 0 < expected < 2 * 2
        assert float(losses[key]) == pytest.approx(expected, rel=1e-5)


def test_losses_fall_when_overfitting_one_batch():
    torch.manual_seed(0)
    model = build()
    model.train()
    inputs, samples = make_samples([2, 3], seed=1)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(60):
        losses = model.loss(inputs, samples)
        history.append({k: float(v) for k, v in losses.items()})
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    first, last = history[0], history[-1]
    # centres are bounded to +-0.5 m around the queries (3DETR), so the
    # centre loss of random boxes cannot vanish; the others fall fast
    assert sum(last.values()) < 0.8 * sum(first.values())
    for key in ('loss_cls', 'loss_size', 'loss_angle_cls', 'loss_angle_reg'):
        assert last[key] < 0.7 * first[key], key


def test_predict_returns_depth_boxes_for_indoor_metric():
    from mmdet3d.structures import DepthInstance3DBoxes
    model = build()
    model.eval()
    inputs, samples = make_samples([1, 1])
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    pred = results[0].pred_instances_3d
    assert isinstance(pred.bboxes_3d, DepthInstance3DBoxes)
    n = len(pred.bboxes_3d)
    # per-class proposals: each kept query is repeated for every class
    assert n % 3 == 0 and n > 0
    assert pred.scores_3d.shape == (n, ) and pred.labels_3d.shape == (n, )
    assert set(pred.labels_3d.tolist()) == {0, 1, 2}
    assert (pred.scores_3d >= 0).all() and (pred.scores_3d <= 1).all()


def test_label_outside_the_configured_classes_names_the_sample():
    model = build()
    inputs, samples = make_samples([2, 2], num_classes=5, seed=3)
    samples[0].gt_instances_3d.labels_3d[:] = 2
    samples[1].gt_instances_3d.labels_3d[:] = 4
    with pytest.raises(ValueError, match='num_classes=3.*sample_idx=1'):
        model.loss(inputs, samples)


def test_point_clouds_of_different_sizes_fail_clearly():
    model = build()
    inputs, samples = make_samples([1, 1])
    inputs['points'][1] = inputs['points'][1][:50]
    with pytest.raises(ValueError, match='PointSample'):
        model.loss(inputs, samples)


def test_too_few_points_for_the_pre_encoder():
    model = build()
    inputs, samples = make_samples([1, 1])
    inputs['points'] = [p[:20] for p in inputs['points']]
    with pytest.raises(ValueError, match='num_points=32'):
        model.loss(inputs, samples)


def test_layer_depths_drive_mmpretrain_layer_decay():
    import mmpretrain.engine  # noqa: F401  (registers the constructor)
    from mmengine.optim import build_optim_wrapper
    model = build()
    depth = model.get_layer_depth
    assert depth('backbone.pre_encoder.mlp.0.conv.weight') == (0, 4)
    assert depth('backbone.encoder.layers.0.linear1.weight') == (1, 4)
    assert depth('backbone.encoder.layers.1.norm1.bias') == (2, 4)
    assert depth('bbox_head.cls_head.4.weight') == (3, 4)
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.1),
            constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.5)))
    scale = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            scale[id(param)] = group['lr'] / 1e-3
    named = dict(model.named_parameters())
    assert scale[id(named['bbox_head.cls_head.4.weight'])] == 1.0
    assert scale[id(named['backbone.encoder.layers.1.linear1.weight'])] == \
        pytest.approx(0.5)
    assert scale[id(named['backbone.encoder.layers.0.linear1.weight'])] == \
        pytest.approx(0.25)
    assert scale[id(named['backbone.pre_encoder.mlp.0.conv.weight'])] == \
        pytest.approx(0.125)


def test_mismatched_head_and_backbone_widths():
    with pytest.raises(ValueError, match='in_channels'):
        build(**{'bbox_head.in_channels': 64})
