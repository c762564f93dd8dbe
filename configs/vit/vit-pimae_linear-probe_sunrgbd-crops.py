# Linear probing of PiMAE's frozen image encoder on SUN RGB-D object crops
# (MAE's protocol, mmpretrain
# configs/mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py: all
# encoder layers frozen, BatchNorm without affine before a linear head, no
# weight decay, cosine schedule). PiMAE's image branch has no cls token and
# no final norm, so the feature is the mean of the patch tokens through a
# LayerNorm at its initial (identity-affine) state, frozen with the encoder.
# MAE's LARS is made for its 16384-image batches: its trust ratio (0.001)
# moves the head by ~lr / 1000 of its norm per step, which barely trains at
# this batch size, so this config uses SGD with momentum instead.
#
# Initial weights: see vit-pimae_finetune_sunrgbd-crops.py.
_base_ = [
    '../_base_/datasets/sunrgbd_object_crops.py',
    '../_base_/mmpretrain_runtime.py'
]

pimae_vit_checkpoint = 'work_dirs/pimae_vit/pimae_vit.pth'
num_classes = 10
img_size = 224

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PiMAEVisionTransformer',
        arch=dict(
            embed_dims=256,
            num_layers=3,
            num_heads=4,
            feedforward_channels=1024),
        img_size=img_size,
        patch_size=16,
        pretrained_img_size=(256, 352),
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        with_cls_token=False,
        final_norm=False,
        out_type='avg_featmap',
        frozen_stages=3,  # every layer, the embeddings and the fc norm
        init_cfg=dict(type='Pretrained', checkpoint=pimae_vit_checkpoint)),
    neck=dict(type='ClsBatchNormNeck', input_features=256),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

# light augmentation only (MAE's linear probing pipeline)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# SGD with the usual linear-probing lr rule: 0.1 x batch / 256 (1 x 64 here)
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1 * 64 / 256, weight_decay=0.0, momentum=0.9))

max_epochs = 90
warmup_epochs = 10
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
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

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    logger=dict(type='LoggerHook', interval=20))
