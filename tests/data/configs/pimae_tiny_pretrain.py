# The PiMAE CPU demo config with a tiny model and 64x96 images, so that the
# tests can run the real tools (train, resume, dist_train, visualisation)
# on generated scenes in seconds. The data root is set by the tests.
_base_ = ['../../../configs/pimae/pretrain_demo.py']

img_size = (64, 96)
train_pipeline = _base_.train_pipeline
train_pipeline[5] = dict(
    type='ResizeWithDepth2Img', scale=img_size[::-1], keep_ratio=False)
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))

embed_dims = 32
decoder_dims = 24
group_size = 8
model = dict(
    data_preprocessor=dict(expected_img_shape=img_size),
    backbone=dict(
        embed_dims=embed_dims,
        pts_tokenizer=dict(
            num_groups=16,
            group_size=group_size,
            embed_dims=embed_dims,
            pointnet_channels=(16, 32, 64),
            pos_hidden_dims=16),
        img_tokenizer=dict(img_size=img_size, embed_dims=embed_dims),
        img_encoder=dict(num_layers=1, num_heads=2),
        pts_encoder=dict(
            num_layers=1,
            layer_cfg=dict(
                embed_dims=embed_dims, num_heads=2,
                feedforward_channels=16)),
        shared_encoder=dict(
            num_layers=1,
            layer_cfg=dict(
                embed_dims=embed_dims, num_heads=2,
                feedforward_channels=16))),
    neck=dict(
        in_channels=embed_dims,
        embed_dims=decoder_dims,
        grid_size=(img_size[0] // 16, img_size[1] // 16),
        joint_num_heads=2,
        img_depth=1,
        img_num_heads=2,
        pts_depth=1,
        pts_num_heads=2,
        pos_hidden_dims=16),
    pts_head=dict(in_channels=decoder_dims, group_size=group_size),
    cross_head=dict(
        in_channels=decoder_dims,
        feat_channels=decoder_dims,
        group_size=group_size))

max_epochs = 4
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-5,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5))
custom_hooks = [
    dict(type='WeightsOnlyCheckpointHook'),
    dict(type='RandomStateCheckpointHook'),
    dict(type='StopOnInvalidLossHook'),
    dict(type='ReconstructionVisualizationHook', interval=4, num_samples=1),
]
log_processor = dict(window_size=1)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
randomness = dict(seed=0, diff_rank_seed=False, deterministic=True)
