# 3DETR from scratch on SUN RGB-D v1 (10 classes): 3-layer encoder,
# 128 queries, 1080 epochs (3DETR's recipe, the baseline of PiMAE's table).
_base_ = [
    '../_base_/models/threedetr.py',
    '../_base_/datasets/threedetr_sunrgbd-3d.py',
    '../_base_/schedules/threedetr_adamw_1080e.py',
    '../_base_/threedetr_runtime.py'
]
