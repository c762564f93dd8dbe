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

train_cfg = dict(max_epochs=10)
optim_wrapper = dict(accumulative_counts=1)
# a 2-epoch warm-up from 0.1 x lr, then the cosine to 1e-5 at the last epoch
warmup_epochs = 2
param_scheduler = _base_.param_scheduler
param_scheduler[0].update(start_factor=0.1, end=warmup_epochs)
param_scheduler[1].update(begin=warmup_epochs, eta_min=1e-5)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=2, max_keep_ckpts=2))
custom_hooks = [
    dict(hook, interval=40, num_samples=2)
    if hook.type == 'ReconstructionVisualizationHook' else hook
    for hook in _base_.custom_hooks
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
