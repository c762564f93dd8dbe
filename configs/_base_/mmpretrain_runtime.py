# Runtime of the image-branch transfer configs (configs/vit/): mmpretrain's
# registries by default (mmpretrain 1.2 conventions), this project's modules
# imported, checkpoints loadable with torch.load(weights_only=True).
default_scope = 'mmpretrain'
custom_imports = dict(
    imports=['projects.pimae.pimae'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# As configs/_base_/default_runtime.py: checkpoints hold only tensors and
# plain values (torch.load(weights_only=True), also for --resume) and carry
# the random states. The hooks live in mmdet3d's HOOKS (this project's
# registry), hence the scope prefix under mmpretrain's default scope.
custom_hooks = [
    dict(type='mmdet3d.WeightsOnlyCheckpointHook'),
    dict(type='mmdet3d.RandomStateCheckpointHook')
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo on CPU
)

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
