# CPU demo: mmdet3d's VoteNet (PointNet++ backbone) on the synthetic SUN RGB-D
# scenes of tools/create_demo_data.py, small sizes and a short schedule.
# votenet_pimae-backbone_demo_sunrgbd-3d.py swaps in PiMAE's point backbone
# (from scratch) and votenet_pimae_demo_sunrgbd-3d.py initialises it from the
# PiMAE demo checkpoint; tools/run_votenet_demo.py trains all three with the
# same budget and prints mmdet3d's IndoorMetric AP@0.25 / AP@0.5 of each.
# Importing the project switches mmcv's point ops to its CPU backend.
_base_ = ['mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py']
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

data_root = 'data/sunrgbd_demo/'
class_names = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser',
               'night_stand', 'bookshelf', 'bathtub')
metainfo = dict(classes=class_names)
num_points = 4000
max_epochs = 12

# 256 seeds (the second set-abstraction level), 64 proposals
model = dict(
    backbone=dict(
        num_points=(512, 256, 128, 64),
        radius=(0.2, 0.4, 0.8, 1.2),
        num_samples=(32, 16, 16, 16)),
    bbox_head=dict(vote_aggregation_cfg=dict(num_point=64)))

train_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=True,
        load_dim=6,
        use_dim=[0, 1, 2]),
    dict(type='LoadAnnotations3D'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-0.523599, 0.523599],
        scale_ratio_range=[0.85, 1.15],
        shift_height=True),
    dict(type='PointSample', num_points=num_points),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
]
test_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=True,
        load_dim=6,
        use_dim=[0, 1, 2]),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points'])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='SUNRGBDDataset',
        data_root=data_root,
        ann_file='sunrgbd_infos_train.pkl',
        pipeline=train_pipeline,
        filter_empty_gt=False,
        metainfo=metainfo,
        box_type_3d='Depth'))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='sunrgbd_infos_val.pkl',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

lr = 0.008
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[int(max_epochs * 2 / 3),
                    int(max_epochs * 8 / 9)],
        gamma=0.1)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# the same seed for the three runs: only the backbone (and its init) differs
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
