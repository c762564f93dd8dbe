# PiMAE pre-training schedule (projects/pimae/docs/original_code.md,
# 'Pre-training recipe'): AdamW lr 1e-3 for an
# effective batch of 256 (16 per GPU x 8 GPUs x 2 accumulation steps),
# weight decay 0.05 without decay for biases, norms, tokens and embeddings,
# 15 warm-up epochs from 1e-6 then cosine to 1e-6 at epoch 400, per iteration.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
        weight_decay=0.05),
    accumulative_counts=2,
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        # cls / mask tokens and the modality embeddings; the sin-cos position
        # embeddings are fixed buffers, not parameters
        custom_keys={
            'token': dict(decay_mult=0.0),
            'modality_': dict(decay_mult=0.0),
        }))

# The cosine (the project's CosineAnnealingToEndLR, mmengine's
# CosineAnnealingLR to the end of training) gives no `end` (nor `T_max`):
# the runner ends it at train_cfg.max_epochs, so `--cfg-options
# train_cfg.max_epochs=N` (or a config that sets it) shortens the whole
# schedule consistently; a run shorter than the warm-up never reaches it.
warmup_epochs = 15
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingToEndLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
val_cfg = None
val_dataloader = None
val_evaluator = None
# lr 1e-3 was tuned for an effective batch of 256 = 8 GPUs x 16 x 2 steps
auto_scale_lr = dict(enable=False, base_batch_size=128)
