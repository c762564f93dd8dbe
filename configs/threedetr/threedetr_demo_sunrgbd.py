# CPU demo: 3DETR from scratch on the synthetic SUN RGB-D scenes of
# tools/create_demo_data.py, small sizes and a short schedule.
# threedetr_pimae_demo_sunrgbd.py is the same run initialised from the PiMAE
# demo checkpoint; tools/run_threedetr_demo.py trains and tests both with the
# same budget and prints AP@0.25 / AP@0.5 of both.
# The encoder (6 layers, 256-d, 4 heads, FFN 128) has the shape of the default
# PiMAE point encoder (3 specific + 3 shared layers).
_base_ = ['./threedetr_1xb8-1080e_sunrgbd-3d-10class.py']

data_root = 'data/sunrgbd_demo/'
num_points = 4000
max_epochs = 40
lr = 7e-4

model = dict(
    backbone=dict(
        pre_encoder=dict(
            num_points=256, radius=0.3, num_samples=16,
            mlp_channels=(32, 64, 256)),
        encoder=dict(num_layers=6)),
    bbox_head=dict(
        embed_dims=128,
        num_queries=32,
        decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                embed_dims=128, num_heads=4, feedforward_channels=128))))

train_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        load_dim=6,
        use_dim=[0, 1, 2]),
    dict(type='LoadAnnotations3D'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-0.523599, 0.523599],
        scale_ratio_range=[0.85, 1.15]),
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
        use_dim=[0, 1, 2]),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points'])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / lr,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 2,
        eta_min=1e-6,
        by_epoch=True,
        begin=2,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=1, val_interval=max_epochs)
# the same seed for the scratch and the PiMAE run: only the encoder differs
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
