# CPU demo of vit-pimae_linear-probe_sunrgbd-crops.py on the generated scenes
# of tools/create_demo_data.py (10 SUN RGB-D classes): 128x128 crops, a short
# schedule, the frozen encoder + BatchNorm + linear head of the full config.
# tools/run_vit_transfer_demo.py runs it from PiMAE weights and from scratch.
_base_ = ['./vit-pimae_linear-probe_sunrgbd-crops.py']

data_root = 'data/sunrgbd_demo/'
img_size = 128
pimae_vit_checkpoint = 'work_dirs/vit_transfer_demo/pimae_vit.pth'

model = dict(
    backbone=dict(
        img_size=img_size,
        init_cfg=dict(type='Pretrained', checkpoint=pimae_vit_checkpoint)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropObjectBox'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropObjectBox'),
    dict(
        type='Resize',
        scale=(img_size, img_size),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 12
warmup_epochs = 2
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        eta_min=0.0,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
