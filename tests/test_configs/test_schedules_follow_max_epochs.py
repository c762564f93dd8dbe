"""Every warm-up + cosine schedule ends where the training ends: a config
whose ``train_cfg.max_epochs`` is overridden the documented way
(``--cfg-options``, i.e. ``Config.merge_from_dict``) gets a cosine that
reaches its last value at the new last iteration, not at the epoch the
config was written for; a run shorter than the warm-up is all warm-up.

The schedulers are built by a Runner, as in training, on the tests' toy
model and data (8 iterations per epoch), with the config's base lr."""
import math
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = ROOT / 'tests' / 'data' / 'configs' / 'toy_regression.py'
ITERS_PER_EPOCH = 8  # toy data: 32 samples, batch 4


def cosine_configs():
    """The configs whose schedule has a cosine phase."""
    paths = []
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        if '_base_' in path.parts:
            continue
        cfg = Config.fromfile(str(path), import_custom_modules=False)
        if any('CosineAnnealing' in s['type']
               for s in cfg.get('param_scheduler') or []):
            paths.append(path)
    return paths


CONFIGS = cosine_configs()


def build_schedulers(cfg, tmp_path):
    """The config's param schedulers as a Runner builds them for training,
    on the toy model and data, and the optimizer they drive."""
    from mmengine.runner import Runner
    toy = Config.fromfile(str(TOY_CONFIG))
    toy.work_dir = str(tmp_path)
    toy.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=cfg.train_cfg.max_epochs)
    toy.optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=cfg.optim_wrapper.optimizer.lr))
    toy.param_scheduler = cfg.param_scheduler
    toy.visualizer = dict(type='Visualizer', vis_backends=[])
    toy.custom_hooks = []
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        runner = Runner.from_cfg(toy)
        assert len(runner.train_loop.dataloader) == ITERS_PER_EPOCH
        runner.optim_wrapper = runner.build_optim_wrapper(toy.optim_wrapper)
        schedulers = runner.build_param_scheduler(toy.param_scheduler)
    return schedulers, runner.optim_wrapper


def test_the_schedule_configs_are_found():
    names = {p.name for p in CONFIGS}
    assert {
        'pretrain.py', 'pretrain_demo.py',
        'threedetr_1xb8-1080e_scannet-3d-18class.py',
        'threedetr_demo_sunrgbd.py', 'vit-pimae_finetune_sunrgbd-crops.py',
        'vit-pimae_linear-probe_sunrgbd-crops_demo.py'
    } <= names
    for path in CONFIGS:
        cfg = Config.fromfile(str(path), import_custom_modules=False)
        types = [s['type'].split('.')[-1] for s in cfg.param_scheduler]
        assert types == ['LinearLR', 'CosineAnnealingToEndLR'], path
        # the cosine's end is the training's, not written in the config
        assert 'end' not in cfg.param_scheduler[1], path
        assert 'T_max' not in cfg.param_scheduler[1], path


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_overridden_max_epochs_ends_the_cosine(path, tmp_path):
    cfg = Config.fromfile(str(path), import_custom_modules=False)
    warmup = cfg.param_scheduler[0]['end']
    written_epochs = cfg.train_cfg.max_epochs
    max_epochs = warmup + 3  # shorter than any config's own schedule
    assert max_epochs < written_epochs
    cfg.merge_from_dict({'train_cfg.max_epochs': max_epochs})

    schedulers, optim_wrapper = build_schedulers(cfg, tmp_path)
    linear, cosine = schedulers
    iters = ITERS_PER_EPOCH
    assert (linear.begin, linear.end) == (0, warmup * iters)
    assert (cosine.begin, cosine.end) == (warmup * iters, max_epochs * iters)
    assert cosine.T_max == (max_epochs - warmup) * iters

    # step through the whole training as ParamSchedulerHook does (after
    # each iteration) and compare the lr of the last iteration with the
    # closed form of the cosine at step T_max - 1
    base_lr = cfg.optim_wrapper.optimizer.lr
    lrs = []
    for _ in range(max_epochs * iters):
        lrs.append(optim_wrapper.get_lr()['lr'][0])
        for scheduler in schedulers:
            scheduler.step()
    eta_min, t_max = cosine.eta_min, cosine.T_max
    assert lrs[warmup * iters] == pytest.approx(base_lr, rel=1e-6)
    expected_last = eta_min + (base_lr - eta_min) * (
        1 + math.cos(math.pi * (t_max - 1) / t_max)) / 2
    assert lrs[-1] == pytest.approx(expected_last, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_a_run_shorter_than_the_warm_up_is_all_warm_up(path, tmp_path):
    """``train_cfg.max_epochs=1`` (a trial run) builds, and the lr follows
    the linear warm-up alone: lr_t = lr * (f + (1 - f) * t / (T - 1)) with
    T the warm-up's iterations (mmengine's LinearLR reaches the full lr at
    its last step)."""
    cfg = Config.fromfile(str(path), import_custom_modules=False)
    warmup = cfg.param_scheduler[0]['end']
    assert warmup > 1
    cfg.merge_from_dict({'train_cfg.max_epochs': 1})
    schedulers, optim_wrapper = build_schedulers(cfg, tmp_path)
    assert schedulers[1].never_reached
    base_lr = cfg.optim_wrapper.optimizer.lr
    start_factor = cfg.param_scheduler[0]['start_factor']
    warmup_iters = warmup * ITERS_PER_EPOCH
    for step in range(ITERS_PER_EPOCH):
        expected = base_lr * (
            start_factor + (1 - start_factor) * step / (warmup_iters - 1))
        assert optim_wrapper.get_lr()['lr'][0] == pytest.approx(
            expected, rel=1e-6), step
        for scheduler in schedulers:
            scheduler.step()


@pytest.mark.parametrize('config, lr', [
    ('threedetr/threedetr_1xb8-1080e_sunrgbd-3d-10class.py', 7e-4),
    ('threedetr/threedetr_1xb8-1080e_scannet-3d-18class.py', 5e-4),
])
def test_threedetr_warm_up_starts_at_1e_6(config, lr, tmp_path):
    """3DETR's recipe warms up from lr 1e-6 whatever its base lr."""
    cfg = Config.fromfile(
        str(ROOT / 'configs' / config), import_custom_modules=False)
    assert cfg.optim_wrapper.optimizer.lr == lr
    _, optim_wrapper = build_schedulers(cfg, tmp_path)
    assert optim_wrapper.get_lr()['lr'][0] == pytest.approx(1e-6, rel=1e-9)
