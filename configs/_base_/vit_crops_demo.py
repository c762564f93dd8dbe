# What the two CPU demos of configs/vit/ (*_demo.py) change in their full
# configs, under names of their own (mmengine allows a key in only one base
# of a config), which each demo takes as `_base_.demo_*`: the generated
# scenes of tools/create_demo_data.py (10 SUN RGB-D classes), 128x128 crops
# (8x8 patch grid, the 16x22 pre-training table resized on load) with light
# augmentation (MAE's linear-probing pipeline; RandAugment and RandomErasing
# are left out to keep the CPU budget), 12 epochs with a 2-epoch warm-up
# from 1e-3 x lr, one validation and one checkpoint at the end.
# tools/run_vit_transfer_demo.py runs both from PiMAE weights and from
# scratch.
demo_data_root = 'data/sunrgbd_demo/'
demo_img_size = 128
demo_vit_checkpoint = 'work_dirs/vit_transfer_demo/pimae_vit.pth'
demo_max_epochs = 12
# the LinearLR of the full config's schedule
demo_warmup = dict(start_factor=1e-3, end=2)

demo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropObjectBox'),
    dict(
        type='RandomResizedCrop',
        scale=demo_img_size,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropObjectBox'),
    dict(
        type='Resize',
        scale=(demo_img_size, demo_img_size),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='PackInputs'),
]

demo_model = dict(
    backbone=dict(
        img_size=demo_img_size,
        init_cfg=dict(checkpoint=demo_vit_checkpoint)))
demo_train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=demo_data_root, pipeline=demo_train_pipeline))
demo_val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=demo_data_root, pipeline=demo_test_pipeline))
demo_train_cfg = dict(
    max_epochs=demo_max_epochs, val_interval=demo_max_epochs)
demo_default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=demo_max_epochs, max_keep_ckpts=1))
demo_visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
