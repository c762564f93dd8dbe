# GroupFree3D (6 decoder layers, 256 proposals) on ScanNet, mmdet3d's config
# unchanged but for the backbone: PiMAE's point backbone from scratch, the
# baseline of groupfree3d_pimae_head-L6-O256_4xb8_scannet-seg.py. The head
# reads 1024 seeds of 288 channels: 1024 set-abstraction centres of xyz,
# PiMAE's 3 point-specific + 3 shared layers (256-d), then a 1x1 conv to 288.
_base_ = ['mmdet3d::groupfree3d/groupfree3d_head-L6-O256_4xb8_scannet-seg.py']
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='PiMAEPointBackbone',
        in_channels=3,
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
                dropout=0.1)),
        out_channels=288))
