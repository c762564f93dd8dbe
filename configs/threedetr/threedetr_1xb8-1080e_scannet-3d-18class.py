# 3DETR from scratch on ScanNetV2 (18 classes): 3-layer encoder, 256 queries,
# axis-aligned boxes (one angle bin), 40000 points; 3DETR's
# scripts/scannet_ep1080.sh: lr 5e-4, matcher GIoU 2 / class 1 (no centre or
# objectness cost), GIoU loss 1, no-object weight 0.25.
_base_ = [
    '../_base_/models/threedetr.py',
    '../_base_/datasets/threedetr_scannet-3d.py',
    '../_base_/schedules/threedetr_adamw_1080e.py',
    '../_base_/threedetr_runtime.py'
]

model = dict(
    bbox_head=dict(
        num_classes=18,
        num_queries=256,
        bbox_coder=dict(num_angle_bins=1),
        no_object_weight=0.25,
        loss_giou=dict(type='GIoU3DLoss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            cost_cls=1.0, cost_objectness=0.0, cost_center=0.0,
            cost_giou=2.0)))

lr = 5e-4
optim_wrapper = dict(optimizer=dict(lr=lr))
# the warm-up still starts from 1e-6
param_scheduler = _base_.param_scheduler
param_scheduler[0].start_factor = 1e-6 / lr
