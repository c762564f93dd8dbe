# Paired points + images of SUN RGB-D (mmdet3d v1.x info files written by
# mmdet3d's converter, see projects/pimae/docs/data_preparation.md).
# Every transform that moves points or pixels keeps `depth2img` exact.

_base_ = ['./sunrgbd_classes.py']

dataset_type = 'SUNRGBDPretrainDataset'
data_root = 'data/sunrgbd/'
backend_args = None

train_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='DEPTH',
        load_dim=6,
        use_dim=[0, 1, 2, 3, 4, 5],
        use_color=True,
        backend_args=backend_args),
    # JPEGs whose sides halve exactly (SUN RGB-D's 730x530) are decoded at
    # half size, which the resize below allows; depth2img follows exactly
    dict(
        type='LoadImageFromFileWithDepth2Img',
        min_shape=(256, 352),
        backend_args=backend_args),
    dict(type='CheckDepth2Img'),
    dict(type='LoggedPointSample', num_points=20000),
    # in the data workers; configs/pimae/*_device-fps.py moves it into the
    # data preprocessor, on the GPUs (PiMAEDataPreprocessor.fps_num_points)
    dict(type='FurthestPointSample', num_points=2048),
    dict(type='ResizeWithDepth2Img', scale=(352, 256), keep_ratio=False),
    # The released recipe trains without augmentation (train_aug: False);
    # `train_pipeline.6.flip_ratio` etc. switch it on.
    dict(
        type='GlobalFlipRotScaleWithDepth2Img',
        flip_ratio=0.0,
        rot_range=[0.0, 0.0],
        scale_range=[1.0, 1.0]),
    dict(type='RandomImageFlipWithDepth2Img', prob=0.0),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'img'],
        meta_keys=('depth2img', 'img_shape', 'ori_shape', 'sample_idx',
                   'lidar_path', 'img_path', 'num_pts_feats', 'scale_factor',
                   'flip', 'flip_direction', 'pcd_horizontal_flip',
                   'pcd_rotation', 'pcd_rotation_angle', 'pcd_scale_factor',
                   'transformation_3d_flow', 'box_type_3d', 'box_mode_3d')),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='sunrgbd_infos_train.pkl',
        data_prefix=dict(pts='points', img='sunrgbd_trainval/image'),
        modality=dict(use_camera=True, use_lidar=True),
        metainfo=_base_.metainfo,
        pipeline=train_pipeline,
        box_type_3d='Depth',
        # a bad sample is logged by name and replaced instead of ending the
        # run; the run still stops if more than max_bad_fraction are bad
        skip_bad_samples=True,
        backend_args=backend_args))
