# 3DETR (vanilla 3-layer encoder) for SUN RGB-D v1, 10 classes
# (3DETR's scripts/sunrgbd_ep1080.sh). The original's quirks are available
# behind compat options, off here (see projects/pimae/docs/originals.md):
# `compat_fps_skip_origin` (pre_encoder and bbox_head: its FPS never picks
# points within ~3 cm of the origin) and the matcher's `compat_giou` (its
# inexact rotated-box GIoU).
model = dict(
    type='ThreeDETR',
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    backbone=dict(
        type='ThreeDETRBackbone',
        in_channels=3,  # xyz only
        pre_encoder=dict(
            type='PointNetSetAbstraction',
            num_points=2048,
            radius=0.2,
            num_samples=64,
            mlp_channels=(64, 128, 256),
            compat_fps_skip_origin=False),
        # PiMAE's point layer: pre-norm, 4 heads, FFN 128, dropout 0.1;
        # 3 layers = vanilla 3DETR, 6 layers = PiMAE initialisation
        encoder=dict(
            type='DETRStyleEncoder',
            num_layers=3,
            layer_cfg=dict(
                embed_dims=256,
                num_heads=4,
                feedforward_channels=128,
                dropout=0.1))),
    bbox_head=dict(
        type='ThreeDETRHead',
        num_classes=10,
        embed_dims=256,
        num_queries=128,
        decoder=dict(
            type='ThreeDETRDecoder',
            num_layers=8,
            layer_cfg=dict(
                embed_dims=256,
                num_heads=4,
                feedforward_channels=256,
                dropout=0.1)),
        pos_embed=dict(type='FourierPointEmbedding', gauss_scale=1.0),
        mlp_dropout=0.3,
        bbox_coder=dict(type='ThreeDETRBBoxCoder', num_angle_bins=12),
        no_object_weight=0.1,
        loss_cls=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0),
        loss_center=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_size=dict(type='mmdet.L1Loss', loss_weight=1.0),
        loss_angle_cls=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=0.1),
        loss_angle_reg=dict(
            type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=0.5),
        loss_giou=dict(type='GIoU3DLoss', loss_weight=0.0),
        compat_fps_skip_origin=False),
    train_cfg=dict(
        assigner=dict(
            type='HungarianMatcher3D',
            cost_cls=1.0,
            cost_objectness=5.0,
            cost_center=5.0,
            cost_giou=3.0,
            compat_giou=False)),
    # 3DETR's evaluation: predicted boxes holding fewer than 5 input points
    # are dropped before the NMS
    test_cfg=dict(
        nms_thr=0.25,
        score_thr=0.05,
        per_class_proposal=True,
        remove_empty_box=True,
        empty_box_min_points=5))
