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
# Initial weights: see configs/_base_/models/pimae_vit.py.
_base_ = [
    '../_base_/models/pimae_vit.py',
    '../_base_/datasets/sunrgbd_object_crops.py',
    '../_base_/schedules/crops_warmup-cosine_50e.py',
    '../_base_/mmpretrain_runtime.py'
]

model = dict(
    # every layer, the embeddings and the fc norm
    backbone=dict(frozen_stages=3),
    neck=dict(type='ClsBatchNormNeck', input_features=256),
    head=dict(
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

# light augmentation only (MAE's linear probing pipeline)
train_pipeline = [
    t for t in _base_.train_pipeline
    if t.type not in ('RandAugment', 'RandomErasing')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# SGD with the usual linear-probing lr rule: 0.1 x batch / 256 (1 x 64 here)
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1 * 64 / 256, weight_decay=0.0, momentum=0.9))

# 10 warm-up epochs, then the cosine to 0 at epoch 90
warmup_epochs = 10
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(end=warmup_epochs)
param_scheduler[1].update(begin=warmup_epochs, eta_min=0.0)
train_cfg = dict(max_epochs=90)

default_hooks = dict(logger=dict(interval=20))
