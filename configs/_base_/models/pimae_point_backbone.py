# PiMAE's point backbone for mmdet3d's point detectors (VoteNet,
# GroupFree3D): a PointNet++ set-abstraction layer picks 1024 seeds, and 6
# PiMAE point layers (256-d, 4 heads, FFN 128: the 3 point-specific + 3
# shared layers of configs/_base_/models/pimae.py) encode them. Detector
# configs put it in place of their stock backbone with
#   model = dict(backbone=dict(_base_.pimae_point_backbone, _delete_=True))
# (mmengine's `_base_.xxx` reference), changing what differs, e.g.
# `in_channels` to the channels their pipeline loads (xyz + height: 4,
# xyz: 3).
pimae_point_backbone = dict(
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
            dropout=0.1)))
