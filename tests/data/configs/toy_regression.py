# A tiny config of the tests' own for running the real tools end to end.
_base_ = ['../../../configs/_base_/default_runtime.py']
custom_imports = dict(
    imports=['projects.pimae.pimae', 'tests.data.toy_modules'],
    allow_failed_imports=False)

model = dict(type='ToyRegressor', dim=4)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ToyRegressionDataset', num_samples=32, dim=4))
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=8),
    dict(type='CosineAnnealingLR', T_max=3, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
randomness = dict(seed=0, deterministic=True)
auto_scale_lr = dict(enable=False, base_batch_size=4)
test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToyRegressionDataset', num_samples=8, dim=4, seed=1))
test_evaluator = dict(type='ToyMSEMetric')
test_cfg = dict(type='TestLoop')
