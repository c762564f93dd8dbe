# Schedule of the ViT transfer configs (configs/vit/), as MAE's fine-tuning
# (mmpretrain configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py):
# a linear warm-up from 1e-4 x lr over 5 epochs, then cosine to 1e-6 at
# epoch 50, both per iteration; validation every epoch. The optimiser is
# the config's own.
# The cosine (the project's CosineAnnealingToEndLR, mmengine's
# CosineAnnealingLR to the end of training) gives no `end` (nor `T_max`):
# the runner ends it at train_cfg.max_epochs, so `--cfg-options
# train_cfg.max_epochs=N` (or a config that sets it) shortens the whole
# schedule consistently; a run shorter than the warm-up never reaches it.
warmup_epochs = 5
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='mmdet3d.CosineAnnealingToEndLR',
        by_epoch=True,
        begin=warmup_epochs,
        eta_min=1e-6,
        convert_to_iter_based=True)
]

train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# the lr rules of the configs are written for one GPU x 64 crops
auto_scale_lr = dict(enable=False, base_batch_size=64)
