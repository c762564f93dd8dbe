# VoteNet on ScanNet (mmdet3d's config, unchanged but for the backbone) with
# PiMAE's point backbone trained from scratch: the baseline of
# votenet_pimae_8xb8_scannet-3d.py. 1024 seeds of 256 channels from xyz +
# height, as VoteHead expects.
_base_ = [
    'mmdet3d::votenet/votenet_8xb8_scannet-3d.py',
    '../_base_/models/pimae_point_backbone.py'
]
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

model = dict(backbone=dict(_base_.pimae_point_backbone, _delete_=True))
