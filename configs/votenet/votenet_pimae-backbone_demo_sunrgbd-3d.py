# CPU demo: votenet_demo_sunrgbd-3d.py with PiMAE's point backbone from
# scratch: 256 set-abstraction seeds (as many as the PointNet++ of the stock
# demo gives), encoded by 6 PiMAE layers of the default PiMAE size (256-d, 4
# heads, FFN 128), so that the PiMAE demo checkpoint fits them.
_base_ = [
    './votenet_demo_sunrgbd-3d.py', '../_base_/models/pimae_point_backbone.py'
]

model = dict(
    backbone=dict(
        _base_.pimae_point_backbone,
        _delete_=True,
        pre_encoder=dict(
            type='PointNetSetAbstraction',
            num_points=256,
            radius=0.3,
            num_samples=16,
            mlp_channels=(32, 64, 256))))
