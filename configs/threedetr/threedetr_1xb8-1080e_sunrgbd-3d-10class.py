# 3DETR from scratch on SUN RGB-D v1 (10 classes): 3-layer encoder,
# 128 queries, 1080 epochs (3DETR's recipe, the baseline of PiMAE's table).
_base_ = [
    '../_base_/models/threedetr.py',
    '../_base_/datasets/threedetr_sunrgbd-3d.py',
    '../_base_/schedules/threedetr_adamw_1080e.py',
    '../_base_/default_runtime.py'
]
# fail early when bbox_head.num_classes != len(dataset classes)
custom_hooks = _base_.custom_hooks + [dict(type='mmdet.NumClassCheckHook')]
# Evaluation as 3DETR's: from epoch 800 every 25 epochs, and at the last
# epoch (mmengine always validates the last one). Besides the latest
# checkpoints, the one with the best validation AP@0.25 (IndoorMetric's
# 'mAP_0.25') is kept as best_mAP_0.25_epoch_*.pth: 3DETR and PiMAE report
# that one. Choosing the best validation epoch is model selection on the
# validation set, which is also the set the AP is reported on; the last
# checkpoint is the unselected result.
train_cfg = dict(val_begin=800, val_interval=25)
default_hooks = dict(
    checkpoint=dict(
        interval=10, max_keep_ckpts=3, save_best='mAP_0.25', rule='greater'))
