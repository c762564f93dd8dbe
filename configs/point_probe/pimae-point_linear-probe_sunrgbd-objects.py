# Linear probing of PiMAE's frozen point encoder on SUN RGB-D objects: the
# points inside every annotated 3D box (10 detection classes), rotated into
# the box frame and centred, in metres (not scaled by the box size, which is
# a class cue), 256 points per object. Frozen PiMAE point tokenizer (16
# groups of 32 here) + point-specific + shared encoder, tokens max- and
# mean-pooled (512-d), BatchNorm without affine, linear head: the protocol
# of the image-branch probe (configs/vit/vit-pimae_linear-probe_sunrgbd-
# crops.py, after MAE) on the point branch. See
# projects/pimae/docs/point_probe.md; the k-NN probe of the same features is
# tools/analysis_tools/point_probe_knn.py.
#
# Initial weights: a PiMAE checkpoint of configs/pimae/ (only backbone.pts_*,
# backbone.shared_encoder.*, backbone.modality_pts_embed and
# backbone.cls_token are read, all of them required). The random-init
# baseline: --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/datasets/sunrgbd_classes.py',
    '../_base_/schedules/crops_warmup-cosine_50e.py',
    '../_base_/mmpretrain_runtime.py', '../_base_/models/pimae.py'
]

pimae_checkpoint = 'work_dirs/pimae_8xb16-accum2-400e_sunrgbd/epoch_400.pth'
num_classes = 10
# An object holds about 100-300 of the 2048 points a scene has in
# pre-training: 256 points in 16 groups of 32 give tokens of the scale the
# encoder learnt on (with 1024 points in 64 groups they are 4x smaller and a
# pre-trained tokenizer falls below random init; docs/point_probe.md)
num_points = 256
num_groups = 16
# the point tokenizer and encoders of the pre-training model, as built there
# (their keys and shapes are the checkpoint's); num_groups holds no weights
# (2048 points -> 128 groups there)
pimae_encoder = _base_.model.backbone
embed_dims = pimae_encoder.embed_dims

model = dict(
    _delete_=True,
    type='PointCloudClassifier',
    data_preprocessor=dict(type='PointClsDataPreprocessor', in_channels=3),
    backbone=dict(
        type='PiMAEPointTransformer',
        embed_dims=embed_dims,
        pts_tokenizer=dict(pimae_encoder.pts_tokenizer, num_groups=num_groups),
        pts_encoder=pimae_encoder.pts_encoder,
        shared_encoder=pimae_encoder.shared_encoder,
        with_cls_token=True,
        pool='max_mean',
        frozen=True,
        init_cfg=dict(type='Pretrained', checkpoint=pimae_checkpoint)),
    neck=dict(type='ClsBatchNormNeck', input_features=2 * embed_dims),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=2 * embed_dims,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

dataset_type = 'SUNRGBDPointCropDataset'
data_root = 'data/sunrgbd/'
min_points = 50
meta_keys = ('sample_idx', 'lidar_path', 'scene_idx', 'instance_idx',
             'num_box_points')
train_pipeline = [
    dict(type='LoadPointsInBox3D', load_dim=6, use_dim=[0, 1, 2], scale=1.),
    dict(type='ResamplePoints', num_points=num_points, method='random'),
    dict(type='ToTensor', keys=['points']),
    dict(type='PackInputs', input_key='points', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadPointsInBox3D', load_dim=6, use_dim=[0, 1, 2], scale=1.),
    dict(type='ResamplePoints', num_points=num_points, method='fps'),
    dict(type='ToTensor', keys=['points']),
    dict(type='PackInputs', input_key='points', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,  # BatchNorm of the neck needs 2+ samples
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),  # stacked by the preprocessor
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='sunrgbd_infos_train.pkl',
        data_prefix=dict(pts='points'),
        metainfo=_base_.metainfo,
        min_points=min_points,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),  # stacked by the preprocessor
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='sunrgbd_infos_val.pkl',
        data_prefix=dict(pts='points'),
        metainfo=_base_.metainfo,
        min_points=min_points,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# SGD with the usual linear-probing lr rule: 0.1 x batch / 256, no decay
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
