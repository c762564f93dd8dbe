# SUN RGB-D v1 (10 classes) for 3DETR, in mmdet3d 1.4's layout
# (tools/create_data.py sunrgbd). Follows mmdet3d's
# configs/_base_/datasets/sunrgbd-3d.py with 3DETR's input: 20000 points,
# xyz only (no height channel), batch 8, no RepeatDataset; augmentation as
# 3DETR's: x flip, z rotation +-30 deg, scale 0.85-1.15, then RandomCuboid
# (a random axis-aligned crop holding >= 30000 points) before the 20000
# points are sampled.
_base_ = ['./sunrgbd_classes.py']

dataset_type = 'SUNRGBDDataset'
data_root = 'data/sunrgbd/'
backend_args = None
num_points = 20000

train_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        load_dim=6,
        use_dim=[0, 1, 2],
        backend_args=backend_args),
    dict(type='LoadAnnotations3D'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-0.523599, 0.523599],
        scale_ratio_range=[0.85, 1.15]),
    dict(
        type='RandomCuboid',
        min_points=30000,
        aspect=0.8,
        min_crop=0.5,
        max_crop=1.0),
    dict(type='PointSample', num_points=num_points),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
]
test_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        load_dim=6,
        use_dim=[0, 1, 2],
        backend_args=backend_args),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points'])
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='sunrgbd_infos_train.pkl',
        pipeline=train_pipeline,
        filter_empty_gt=False,
        metainfo=_base_.metainfo,
        box_type_3d='Depth',
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='sunrgbd_infos_val.pkl',
        pipeline=test_pipeline,
        metainfo=_base_.metainfo,
        test_mode=True,
        box_type_3d='Depth',
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='IndoorMetric')
test_evaluator = val_evaluator
