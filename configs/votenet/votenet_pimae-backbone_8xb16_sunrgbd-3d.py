# VoteNet on SUN RGB-D (mmdet3d's config, unchanged but for the backbone) with
# PiMAE's point backbone trained from scratch: the baseline of
# votenet_pimae_8xb16_sunrgbd-3d.py. A set-abstraction layer picks 1024 seeds
# (xyz + height in, as mmdet3d's pipeline gives), and PiMAE's 3 point-specific
# + 3 shared layers (256-d) encode them; VoteHead reads them unchanged.
_base_ = ['mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py']
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='PiMAEPointBackbone',
        in_channels=4,
        pre_encoder=dict(
            type='PointNetSetAbstraction',
            num_points=1024,
            radius=0.2,
            num_samples=64,
            mlp_channels=(64, 128, 256)),
        encoder=dict(
            type='DETRStyleEncoder',
            num_layers=6,
            layer_cfg=dict(
                embed_dims=256,
                num_heads=4,
                feedforward_channels=128,
                dropout=0.1))))
