# VoteNet on SUN RGB-D (mmdet3d's config, unchanged but for the backbone) with
# PiMAE's point backbone trained from scratch: the baseline of
# votenet_pimae_8xb16_sunrgbd-3d.py. A set-abstraction layer picks 1024 seeds
# (xyz + height in, as mmdet3d's pipeline gives), and PiMAE's 3 point-specific
# + 3 shared layers (256-d) encode them; VoteHead reads them unchanged.
_base_ = [
    'mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py',
    '../_base_/models/pimae_point_backbone.py'
]
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

model = dict(backbone=dict(_base_.pimae_point_backbone, _delete_=True))
