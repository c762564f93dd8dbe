# PiMAE with the sizes of the released config (see
# projects/pimae/docs/original_code.md, 'Sizes'): 2048 points -> 128 groups of
# 32, 256x352 images in 16x16 patches, encoders of width 256 (3 image / 3 point
# / 3 shared layers), decoders of width 192 (1 joint, 2 image, 2 point layers);
# 8.71 M parameters. Every size is written out: the model is built from this
# config as it is and checks that the sizes which must agree do.
embed_dims = 256  # encoder width
decoder_dims = 192  # decoder width
group_size = 32  # points per group
img_size = (256, 352)  # (H, W) of the network input
patch_size = 16
# (530, 730), the original's (height, width) normaliser of projected pixels,
# used by the masker's patch lookup and the cross-modal head alike
compat_norm_shape = None
model = dict(
    type='PiMAE',
    data_preprocessor=dict(
        type='PiMAEDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,  # the original fed BGR images with RGB statistics
        expected_img_shape=img_size),
    backbone=dict(
        type='PiMAEEncoder',
        embed_dims=embed_dims,
        pts_tokenizer=dict(
            type='PointGroupTokenizer',
            num_groups=128,
            group_size=group_size,
            in_channels=3,
            embed_dims=embed_dims,
            pointnet_channels=(128, 256, 512),
            pos_hidden_dims=128),
        img_tokenizer=dict(
            type='ImagePatchTokenizer',
            img_size=img_size,
            patch_size=patch_size,
            in_channels=3,
            embed_dims=embed_dims),
        masker=dict(
            type='CrossModalMasker',
            point_mask_ratio=0.6,
            point_mask_type='random',  # 'random' | 'block'
            image_mask_ratio=0.6,
            # 'random' (what the released config trains) |
            # 'uniform' (patches of masked point groups masked) |
            # 'complement' (those patches kept visible: the paper's choice)
            image_mask_type='random',
            noise_scale=0.5,
            compat_norm_shape=compat_norm_shape),
        img_encoder=dict(
            num_layers=3,
            num_heads=4,
            mlp_ratio=4.,
            qkv_bias=True,
            drop_path_rate=0.,
            norm_eps=1e-6),
        pts_encoder=dict(
            type='DETRStyleEncoder',
            num_layers=3,
            layer_cfg=dict(
                embed_dims=embed_dims,
                num_heads=4,
                feedforward_channels=128,
                dropout=0.1,
                normalize_before=True)),
        shared_encoder=dict(
            type='DETRStyleEncoder',
            num_layers=3,
            layer_cfg=dict(
                embed_dims=embed_dims,
                num_heads=4,
                feedforward_channels=128,
                dropout=0.1,
                normalize_before=True)),
        # True: the mini-PointNet embeds all groups like the original
        embed_masked_groups=False),
    neck=dict(
        type='PiMAEDecoder',
        in_channels=embed_dims,
        embed_dims=decoder_dims,
        grid_size=(img_size[0] // patch_size, img_size[1] // patch_size),
        patch_size=patch_size,
        img_channels=3,
        joint_depth=1,
        joint_num_heads=3,
        img_depth=2,
        img_num_heads=3,
        pts_depth=2,
        pts_num_heads=3,
        pts_drop_path_rate=0.1,
        mlp_ratio=4.,
        pos_hidden_dims=128),
    pts_head=dict(
        type='PiMAEPointHead',
        in_channels=decoder_dims,
        group_size=group_size,
        loss=dict(type='ChamferLoss', mode='l2', loss_weight=1.0)),
    img_head=dict(
        type='PiMAEImageHead',
        patch_size=patch_size,
        norm_pix=False,
        loss=dict(type='mmdet.MSELoss', loss_weight=1.0)),
    cross_head=dict(
        type='PiMAECrossModalHead',
        in_channels=decoder_dims,
        feat_channels=decoder_dims,
        group_size=group_size,
        # the original's quirks (projects/pimae/docs/original_code.md,
        # 'Cross-modal loss'): True, (530, 730), (256, 352)
        compat_swap_xy=False,
        compat_norm_shape=compat_norm_shape,
        compat_upsample_size=None,
        loss=dict(type='mmdet.MSELoss', loss_weight=1.0)))
