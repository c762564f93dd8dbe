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
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
