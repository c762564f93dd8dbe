# PiMAE pre-training on SUN RGB-D with the original recipe
# (projects/pimae/docs/original_code.md, 'Pre-training recipe'):
# 8 GPUs x 16 samples x 2 accumulation steps = effective batch 256, AdamW
# lr 1e-3, weight decay 0.05, 15 warm-up epochs then cosine to epoch 400.
_base_ = [
    '../_base_/models/pimae.py',
    '../_base_/datasets/sunrgbd_pretrain.py',
    '../_base_/schedules/pimae_adamw_400e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=10))
# stop on a NaN / inf loss; pictures of the reconstructions every 500
# iterations and at the end
custom_hooks = _base_.custom_hooks + [
    dict(type='StopOnInvalidLossHook'),
    dict(type='ReconstructionVisualizationHook', interval=500),
]
# the model has no unused parameters (unlike the original), so DDP needs no
# find_unused_parameters
find_unused_parameters = False
