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
num_points = 4000
max_epochs = 12

# 256 seeds (the second set-abstraction level), 64 proposals
model = dict(
    backbone=dict(
        num_points=(512, 256, 128, 64),
        radius=(0.2, 0.4, 0.8, 1.2),
        num_samples=(32, 16, 16, 16)),
    bbox_head=dict(vote_aggregation_cfg=dict(num_point=64)))

# mmdet3d's training pipeline with 4000 points; its test pipeline without
# the (identity) test-time augmentation wrapper
train_pipeline = [
    dict(t, num_points=num_points) if t.type == 'PointSample' else t
    for t in _base_.train_pipeline
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
# the SUN RGB-D dataset of mmdet3d's config without its RepeatDataset wrapper
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _base_.train_dataloader.dataset.dataset,
        _delete_=True,
        data_root=data_root,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# mmdet3d's steps at 2/3 and 8/9 of the (shorter) schedule
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(
    end=max_epochs,
    milestones=[int(max_epochs * 2 / 3),
                int(max_epochs * 8 / 9)])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# the same seed for the three runs: only the backbone (and its init) differs
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
