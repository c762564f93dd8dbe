# Runtime shared by every config of this project (mmdet3d 1.4 conventions).
default_scope = 'mmdet3d'
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# Checkpoints hold only tensors and plain values, so `--resume` and `load_from`
# work with torch>=2.6's `torch.load(weights_only=True)` (see
# projects/pimae/docs/environment.md, 'Checkpoint loading'), and carry the
# random states, so that a resumed run continues the
# random streams of the interrupted one.
custom_hooks = [
    dict(type='WeightsOnlyCheckpointHook'),
    dict(type='RandomStateCheckpointHook')
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(
        backend='nccl'),  # tools/train.py switches to gloo without CUDA
)

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(
    type='Det3DLocalVisualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
# Per-rank seeds: each rank offsets the seed, so data workers differ across
# GPUs.
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
