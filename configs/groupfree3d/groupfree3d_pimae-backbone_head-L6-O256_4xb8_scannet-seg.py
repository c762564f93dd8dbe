# GroupFree3D (6 decoder layers, 256 proposals) on ScanNet, mmdet3d's config
# unchanged but for the backbone: PiMAE's point backbone from scratch, the
# baseline of groupfree3d_pimae_head-L6-O256_4xb8_scannet-seg.py. The head
# reads 1024 seeds of 288 channels: 1024 set-abstraction centres of xyz,
# PiMAE's 3 point-specific + 3 shared layers (256-d), then a 1x1 conv to 288.
_base_ = [
    'mmdet3d::groupfree3d/groupfree3d_head-L6-O256_4xb8_scannet-seg.py',
    '../_base_/models/pimae_point_backbone.py'
]
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _base_.pimae_point_backbone,
        _delete_=True,
        in_channels=3,
        out_channels=288))
