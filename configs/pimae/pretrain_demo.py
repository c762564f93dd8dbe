# CPU demo: the default-size PiMAE pre-trained for a few epochs on synthetic
# SUN RGB-D scenes written by tools/create_demo_data.py (tools/demo.sh runs
# both). Same model, pipeline and optimiser as the real recipe; a shorter
# schedule, a smaller batch and no gradient accumulation.
_base_ = ['./pimae_8xb16-accum2-400e_sunrgbd.py']

data_root = 'data/sunrgbd_demo/'
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root))

max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3), accumulative_counts=1)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 2,
        eta_min=1e-5,
        by_epoch=True,
        begin=2,
        end=max_epochs,
        convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=2))
custom_hooks = [
    dict(type='WeightsOnlyCheckpointHook'),
    dict(type='RandomStateCheckpointHook'),
    dict(type='StopOnInvalidLossHook'),
    dict(type='ReconstructionVisualizationHook', interval=40, num_samples=2),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
