# Full fine-tuning of PiMAE's image encoder as an mmpretrain ViT on SUN RGB-D
# object crops (MAE's fine-tuning recipe, mmpretrain
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py: global
# average pooling + fc norm, layer-wise lr decay, Mixup + CutMix, label
# smoothing, no weight decay on norms / biases / tokens / position table).
# Initial weights: see configs/_base_/models/pimae_vit.py.
_base_ = [
    '../_base_/models/pimae_vit.py',
    '../_base_/datasets/sunrgbd_object_crops.py',
    '../_base_/schedules/crops_warmup-cosine_50e.py',
    '../_base_/mmpretrain_runtime.py'
]

layer_decay_rate = 0.75

model = dict(
    backbone=dict(drop_path_rate=0.1),
    head=dict(
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

default_hooks = dict(logger=dict(interval=20))
