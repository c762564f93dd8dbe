"""EarlyLoggingHook: the first loss lines come after iterations 1, 2, 4 ..."""
import re

from mmengine.runner import Runner

import projects.pimae.pimae  # noqa: F401  (registers the hook)
import tests.data.toy_modules  # noqa: F401


def logged_iterations(tmp_path, custom_hooks):
    # its own experiment name: two runners started within the same second
    # would otherwise share one logger (and log file)
    runner = Runner(
        experiment_name=f'{tmp_path.name}_{len(custom_hooks)}',
        model=dict(type='ToyRegressor', dim=4),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='ToyRegressionDataset', num_samples=40)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=50)),
        custom_hooks=custom_hooks,
        default_scope='mmdet3d',
        log_level='INFO')
    runner.train()
    log = open(f'{runner.log_dir}/{runner.timestamp}.log').read()
    pattern = r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/20\]'
    return [(int(e), int(i)) for e, i in re.findall(pattern, log)]


def test_first_epoch_logs_early_then_the_configured_interval(tmp_path):
    # 20 iterations per epoch, interval 50: without the hook, only the end
    # of each epoch is logged
    assert logged_iterations(tmp_path / 'plain', []) == [(1, 20), (2, 20)]
    assert logged_iterations(tmp_path / 'early',
                             [dict(type='EarlyLoggingHook')]) == [
                                 (1, 1), (1, 2), (1, 4), (1, 8), (1, 16),
                                 (1, 20), (2, 20)
                             ]
