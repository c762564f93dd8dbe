"""tools/cli_utils.py: strict --cfg-options, data-file check, light import."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('cli_utils',
                                               ROOT / 'tools' / 'cli_utils.py')
cli_utils = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli_utils)
ConfigOptionError = cli_utils.ConfigOptionError
check_cfg_options = cli_utils.check_cfg_options


@pytest.fixture
def cfg():
    return Config(
        dict(
            model=dict(type='PiMAE', backbone=dict(type='A', depth=3)),
            train_dataloader=dict(batch_size=2),
            pipeline=[dict(type='Load'), dict(type='Pack', keys=['x'])]))


@pytest.mark.parametrize('key', [
    'model.backbone.depth', 'train_dataloader.batch_size', 'pipeline.1.keys',
    'pipeline.0.type'
])
def test_existing_keys_pass(cfg, key):
    check_cfg_options(cfg, {key: 1})


def test_new_keys_allowed_under_a_replaced_component(cfg):
    check_cfg_options(cfg, {
        'model.backbone.type': 'B',
        'model.backbone.width': 64
    })
    check_cfg_options(cfg, {'model.backbone': dict(type='C', anything=1)})


@pytest.mark.parametrize('key, message', [
    ('train_dataloader.batchsize', "'train_dataloader' has no key "
     "'batchsize'. Did you mean batch_size?"),
    ('modle.backbone.depth', "the config has no key 'modle'"),
    ('pipeline.2.type', "'pipeline' has no key '2'"),
    ('model.backbone.depth.x', "'model.backbone.depth' is 3"),
])
def test_unknown_keys_fail_with_the_key_named(cfg, key, message):
    with pytest.raises(ConfigOptionError) as info:
        check_cfg_options(cfg, {key: 1})
    assert key in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize('key, value, expected', [
    ('train_dataloader.batch_size', 'abc', 'expects a number (like 2)'),
    ('train_dataloader.batch_size', True, 'expects a number'),
    ('model.flag', 1, 'expects a bool'),
])
def test_value_of_wrong_type_is_named(key, value, expected):
    cfg = Config(dict(train_dataloader=dict(batch_size=2),
                      model=dict(flag=False)))
    with pytest.raises(ConfigOptionError) as info:
        check_cfg_options(cfg, {key: value})
    assert f"key '{key}' {expected}" in str(info.value)


def test_numbers_bools_and_none_of_the_right_kind_pass():
    cfg = Config(dict(lr=0.1, epochs=3, flag=False, name='x'))
    check_cfg_options(cfg, dict(lr=1, epochs=2.5, flag=True, name=3))
    check_cfg_options(cfg, dict(lr=None, flag=None))


def test_unknown_key_mentions_allow_new_keys():
    cfg = Config(dict(model=dict(a=1)))
    with pytest.raises(ConfigOptionError, match='--allow-new-keys'):
        check_cfg_options(cfg, {'model.b': 1})


def test_missing_data_files_follow_wrappers_and_roots(tmp_path):
    (tmp_path / 'present.pkl').write_bytes(b'')
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(
                        data_root=str(tmp_path), ann_file='present.pkl'))),
            val_dataloader=dict(
                dataset=dict(data_root='nowhere/', ann_file='val.pkl')),
            test_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(data_root='s3://bucket/', ann_file='x.pkl'),
                        dict(data_root='', ann_file='absent.pkl')
                    ]))))
    assert cli_utils.missing_data_files(
        cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader',
              'absent_dataloader')) == ['nowhere/val.pkl', 'absent.pkl']


TOOLS = sorted(
    p.relative_to(ROOT) for p in (ROOT / 'tools').rglob('*.py')
    if p.name not in ('cli_utils.py', 'demo_runs.py', '__init__.py',
                      'benchmark_args.py'))


@pytest.mark.parametrize('tool', TOOLS, ids=str)
def test_help_loads_no_deep_learning_stack(tool):
    """``python tools/X.py --help`` answers without importing torch, mmdet3d
    or the project (seconds otherwise): checked on Python's import log."""
    result = subprocess.run(
        [sys.executable, '-X', 'importtime',
         str(ROOT / tool), '--help'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'usage:' in result.stdout
    imported = {
        line.rsplit('|', 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith('import time:')
    }
    heavy = imported & {'torch', 'mmdet3d', 'projects.pimae.pimae'}
    assert not heavy, f'{tool} --help imports {sorted(heavy)}'
