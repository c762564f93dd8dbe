# CPU demo of vit-pimae_linear-probe_sunrgbd-crops.py on the generated scenes
# of tools/create_demo_data.py with the settings every ViT demo shares
# (configs/_base_/vit_crops_demo.py: 128x128 crops, light augmentation, 12
# epochs), the frozen encoder + BatchNorm + linear head of the full config.
# tools/run_vit_transfer_demo.py runs it from PiMAE weights and from scratch.
_base_ = [
    './vit-pimae_linear-probe_sunrgbd-crops.py',
    '../_base_/vit_crops_demo.py'
]

model = _base_.demo_model
train_dataloader = _base_.demo_train_dataloader
val_dataloader = test_dataloader = _base_.demo_val_dataloader
train_cfg = _base_.demo_train_cfg
default_hooks = _base_.demo_default_hooks
visualizer = _base_.demo_visualizer

param_scheduler = _base_.param_scheduler
param_scheduler[0].update(_base_.demo_warmup)
param_scheduler[1].update(begin=_base_.demo_warmup.end)
