# Ablation: image-only pre-training, MAE style (paper, Sec. 4). PiMAE
# without its point branch: no point tokenizer, encoder, decoder or head, no
# cross-modal loss, and a pipeline that loads no points (nor needs
# depth2img). Everything else is the base config's (16x16 patches of 256x352
# images, 3 specific + 3 shared encoder layers, masking 60% of the patches at
# random, joint + image decoder layers, which then all run over the image
# tokens), so the ablation isolates what the points add.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(
    backbone=dict(
        modalities=('images', ),
        pts_tokenizer=None,
        pts_encoder=None),
    neck=dict(modalities=('images', )),
    pts_head=None,
    cross_head=None)

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmcv.Resize', scale=(352, 256), keep_ratio=False),
    # Off, as in the paired recipe; `train_pipeline.2.prob` switches it on.
    dict(type='mmcv.RandomFlip', prob=0.0, direction='horizontal'),
    dict(
        type='Pack3DDetInputs',
        keys=['img'],
        meta_keys=('img_shape', 'ori_shape', 'sample_idx', 'img_path',
                   'scale_factor', 'flip', 'flip_direction')),
]
train_dataloader = dict(
    dataset=dict(
        modality=dict(use_camera=True, use_lidar=False),
        pipeline=train_pipeline))
# ReconstructionVisualizationHook draws nothing for a one-modality model
# (the pictures pair points with images) and says so once.
