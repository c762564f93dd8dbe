# Full fine-tuning of PiMAE's image encoder as an mmpretrain ViT on SUN RGB-D
# object crops (MAE's fine-tuning recipe, mmpretrain
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py: global
# average pooling + fc norm, layer-wise lr decay, Mixup + CutMix, label
# smoothing, no weight decay on norms / biases / tokens / position table).
#
# Make the initial weights from a PiMAE checkpoint with
#   python tools/model_converters/pimae_to_mmpretrain_vit.py \
#       work_dirs/pimae/epoch_400.pth work_dirs/pimae_vit/pimae_vit.pth
# The 16x22 position table of the 256x352 pre-training is resized to the
# 14x14 grid of 224x224 crops on load (pretrained_img_size); a random
# initialisation is --cfg-options model.backbone.init_cfg=None.
_base_ = [
    '../_base_/datasets/sunrgbd_object_crops.py',
    '../_base_/mmpretrain_runtime.py'
]

pimae_vit_checkpoint = 'work_dirs/pimae_vit/pimae_vit.pth'
layer_decay_rate = 0.75
num_classes = 10

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PiMAEVisionTransformer',
        # PiMAE's image-specific encoder (projects/pimae/docs/
        # original_code.md, 'Encoders')
        arch=dict(
            embed_dims=256,
            num_layers=3,
            num_heads=4,
            feedforward_channels=1024),
        img_size=224,
        patch_size=16,
        pretrained_img_size=(256, 352),
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        with_cls_token=False,  # PiMAE's image branch has none
        final_norm=False,
        out_type='avg_featmap',  # mean of the patch tokens + LayerNorm
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pimae_vit_checkpoint)),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=256,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))

# AdamW with MAE's lr rule: 5e-4 x batch / 256 (1 x 64 here)
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW',
        lr=5e-4 * 64 / 256,
        weight_decay=0.05,
        betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=layer_decay_rate,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }))

max_epochs = 50
warmup_epochs = 5
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
        eta_min=1e-6,
        convert_to_iter_based=True)
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    logger=dict(type='LoggerHook', interval=20))
