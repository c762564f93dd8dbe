# Ablation: point-only pre-training, Point-MAE style (paper, Sec. 4). PiMAE
# without its image branch: no image tokenizer, encoder, decoder or head, no
# cross-modal loss, and a pipeline that loads no image (nor needs depth2img).
# Everything else is the base config's (tokenizer, 3 specific + 3 shared
# encoder layers, masking 60% of the groups, joint + point decoder layers,
# which then all run over the point tokens), so the ablation isolates what the
# images add. Its point encoder transfers to 3DETR as the full model's does.
_base_ = ['../pimae_8xb16-accum2-400e_sunrgbd.py']

model = dict(
    backbone=dict(
        modalities=('points', ),
        img_tokenizer=None,
        img_encoder=None),
    neck=dict(modalities=('points', )),
    img_head=None,
    cross_head=None)

backend_args = None
train_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='DEPTH',
        load_dim=6,
        use_dim=[0, 1, 2, 3, 4, 5],
        use_color=True,
        backend_args=backend_args),
    dict(type='LoggedPointSample', num_points=20000),
    dict(type='FurthestPointSample', num_points=2048),  # in the data workers
    # Off, as in the paired recipe; `train_pipeline.3.flip_ratio_bev_
    # horizontal` and `train_pipeline.4.rot_range` etc. switch it on.
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.0),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[0.0, 0.0],
        scale_ratio_range=[1.0, 1.0],
        translation_std=[0.0, 0.0, 0.0]),
    dict(
        type='Pack3DDetInputs',
        keys=['points'],
        meta_keys=('sample_idx', 'lidar_path', 'num_pts_feats',
                   'pcd_horizontal_flip', 'pcd_rotation',
                   'pcd_rotation_angle', 'pcd_scale_factor',
                   'transformation_3d_flow', 'box_type_3d', 'box_mode_3d')),
]
train_dataloader = dict(
    dataset=dict(
        modality=dict(use_camera=False, use_lidar=True),
        pipeline=train_pipeline))
# ReconstructionVisualizationHook draws nothing for a one-modality model
# (the pictures pair points with images) and says so once.
