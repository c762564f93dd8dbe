# Runtime of the 3DETR configs: the project's runtime, plus a check that
# bbox_head.num_classes matches the dataset's classes (fails early) and
# 3DETR's model selection: checkpoints every 10 epochs, and besides the
# latest ones, the one with the best validation AP@0.25 (IndoorMetric's
# 'mAP_0.25') kept as best_mAP_0.25_epoch_*.pth: 3DETR and PiMAE report that
# one. Choosing the best validation epoch is model selection on the
# validation set, which is also the set the AP is reported on; the last
# checkpoint is the unselected result.
_base_ = ['./default_runtime.py']

custom_hooks = _base_.custom_hooks + [dict(type='mmdet.NumClassCheckHook')]
default_hooks = dict(
    checkpoint=dict(
        interval=10, max_keep_ckpts=3, save_best='mAP_0.25', rule='greater'))
