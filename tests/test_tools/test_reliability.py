"""What a new user runs into: resume of their own config, wrong and malicious
checkpoints, clear messages for bad options, data_check progress (issue 14).

Every test runs the real tools in a subprocess, as a user would, on the
tests' toy regression model (tests/data/toy_modules.py).
"""
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = ROOT / 'tests' / 'data' / 'configs' / 'toy_regression.py'
TINY_PIMAE = ROOT / 'tests' / 'data' / 'configs' / 'pimae_tiny_pretrain.py'


def run(*args, cwd=None, env_extra=None, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *map(str, args)],
                          cwd=cwd or ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def tool(name):
    return ROOT / 'tools' / name


def user_config(tmp_path):
    """A user's own config in another folder, on mmdet3d's default_runtime
    (mmengine's CheckpointHook only: no project hook in it)."""
    path = tmp_path / 'my_configs' / 'my_toy.py'
    path.parent.mkdir()
    path.write_text(
        textwrap.dedent('''\
        _base_ = ['mmdet3d::_base_/default_runtime.py']
        custom_imports = dict(
            imports=['projects.pimae.pimae', 'tests.data.toy_modules'],
            allow_failed_imports=False)
        model = dict(type='ToyRegressor', dim=4)
        train_dataloader = dict(
            batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='ToyRegressionDataset', num_samples=16))
        test_dataloader = dict(
            batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='ToyRegressionDataset', num_samples=8))
        test_evaluator = dict(type='ToyMSEMetric')
        test_cfg = dict(type='TestLoop')
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
        visualizer = dict(type='Visualizer')
        '''))
    return path


def test_resume_and_test_of_a_users_own_config_on_mmdet3d_runtime(
        tmp_path):
    config, work_dir = user_config(tmp_path), tmp_path / 'work'
    # --resume in an empty work dir: said, and a fresh run starts
    first = run(tool('train.py'), config, '--work-dir', work_dir, '--resume')
    assert first.returncode == 0, first.stderr[-3000:]
    log = first.stdout + first.stderr
    assert 'no checkpoint found in' in log and 'starting a fresh run' in log
    assert 'Auto resumed from the latest checkpoint None' not in log
    # the checkpoint loads with the safe default of torch >= 2.6
    torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    second = run(tool('train.py'), config, '--work-dir', work_dir,
                 '--resume', '--cfg-options', 'train_cfg.max_epochs=2')
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stdout + second.stderr
    assert 'resumed epoch: 1' in log
    assert re.search(r'Epoch\(train\)\s+\[2\]\[4/4\]', log)
    # a fitting checkpoint is evaluated, another model's is refused
    result = run(tool('test.py'), config, work_dir / 'epoch_2.pth',
                 '--work-dir', tmp_path / 't')
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r'mse: \d', result.stdout + result.stderr)
    wrong = wrong_model_checkpoint(tmp_path)
    result = run(tool('test.py'), config, wrong, '--work-dir', tmp_path / 't')
    assert result.returncode != 0
    assert '0 of 7 model tensors matched' in result.stderr
    assert 'does not fit ToyRegressor' in result.stderr


def wrong_model_checkpoint(tmp_path):
    path = tmp_path / 'other_model.pth'
    other = torch.nn.Conv2d(3, 8, 3)
    torch.save({'state_dict': other.state_dict(), 'meta': {}}, path)
    return path


def test_wrong_checkpoint_fails_in_load_from(tmp_path):
    wrong = wrong_model_checkpoint(tmp_path)
    result = run(tool('train.py'), TOY_CONFIG, '--work-dir', tmp_path / 'w',
                 '--cfg-options', f'load_from={wrong}',
                 'train_cfg.max_epochs=1')
    assert result.returncode != 0
    assert '0 of 7 model tensors matched' in result.stderr
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_wrong_and_malicious_checkpoints_in_visualize_reconstruction(
        tmp_path):
    out_dir = tmp_path / 'pictures'
    wrong = wrong_model_checkpoint(tmp_path)
    result = run(tool('visualize_reconstruction.py'), TINY_PIMAE, wrong,
                 '--out-dir', out_dir)
    assert result.returncode != 0
    assert 'model tensors matched' in result.stderr
    assert 'does not fit PiMAE' in result.stderr
    assert not out_dir.exists()

    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, evil)
    result = run(tool('visualize_reconstruction.py'), TINY_PIMAE, evil,
                 '--out-dir', out_dir,
                 env_extra=dict(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'))
    assert result.returncode != 0
    assert not marker.exists()
    assert 'is not a checkpoint this project loads' in result.stderr
    assert 'weights_only=False' not in result.stderr


def test_malicious_checkpoint_refused_in_resume_when_forced(tmp_path):
    work_dir = tmp_path / 'w'
    work_dir.mkdir()
    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    torch.save({'state_dict': {}, 'x': Payload()}, work_dir / 'epoch_1.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    result = run(tool('train.py'), TOY_CONFIG, '--work-dir', work_dir,
                 '--resume',
                 env_extra=dict(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'))
    assert result.returncode != 0
    assert not marker.exists()
    assert 'is not a checkpoint this project loads' in result.stderr


def test_option_of_wrong_type_and_new_key_messages(tmp_path):
    result = run(tool('train.py'), TOY_CONFIG, '--work-dir', tmp_path,
                 '--cfg-options', 'optim_wrapper.optimizer.lr=abc')
    assert result.returncode != 0
    assert ("key 'optim_wrapper.optimizer.lr' expects a number (like 0.01), "
            "got 'abc'") in result.stderr
    assert 'Traceback' not in result.stderr
    result = run(tool('train.py'), TOY_CONFIG, '--work-dir', tmp_path,
                 '--cfg-options', 'model.new_option=1')
    assert result.returncode != 0
    assert '--allow-new-keys' in result.stderr


def test_test_tool_on_a_training_only_config(tmp_path):
    result = run(tool('test.py'), ROOT / 'configs' / 'pimae' / 'pretrain.py',
                 wrong_model_checkpoint(tmp_path))
    assert result.returncode != 0
    assert 'has no test loop' in result.stderr
    assert 'Traceback' not in result.stderr


def test_missing_dataset_is_named_before_anything_is_built(tmp_path):
    result = run(tool('train.py'), ROOT / 'configs' / 'pimae' / 'pretrain.py',
                 '--work-dir', tmp_path / 'w', cwd=tmp_path)
    assert result.returncode != 0
    assert 'data/sunrgbd/sunrgbd_infos_train.pkl' in result.stderr
    assert 'data_preparation.md' in result.stderr
    assert not (tmp_path / 'w').exists()


def test_data_check_shows_progress_and_refuses_malicious_info(tmp_path):
    infos = dict(
        metainfo=dict(dataset='sunrgbd'),
        data_list=[
            dict(
                lidar_points=dict(lidar_path=f'{i:06d}.bin'),
                images=dict(CAM0=dict(img_path=f'{i:06d}.jpg')))
            for i in range(10000)
        ])
    path = tmp_path / 'big_infos.pkl'
    path.write_bytes(pickle.dumps(infos))
    result = run(tool('data_check.py'), path, '--show', '1')
    assert result.returncode == 1  # every file is missing
    assert 'samples checked: 10000' in result.stdout
    assert '10000/10000' in result.stderr  # the progress bar

    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    evil = tmp_path / 'evil_infos.pkl'
    evil.write_bytes(pickle.dumps(dict(metainfo={}, data_list=[Payload()])))
    result = run(tool('data_check.py'), evil)
    assert result.returncode == 2
    assert not marker.exists()
    assert f'info file {evil} was refused' in result.stdout


def test_get_flops_on_the_pretraining_and_3detr_configs(tmp_path):
    from projects.pimae.pimae import data_generation
    data = tmp_path / 'data'
    data_generation.generate_dataset(
        str(data),
        2,
        seed=0,
        val_ratio=0.5,
        cfg=data_generation.SceneConfig(width=365, height=265))
    # PiMAE's default size has 8,711,520 parameters (the original's, minus
    # its unused ones); 3DETR's count is only checked to be reported
    for config, params in (('pimae/pretrain_demo.py', '8.712M'),
                           ('threedetr/threedetr_demo_sunrgbd.py', None)):
        result = run(
            ROOT / 'tools' / 'analysis_tools' / 'get_flops.py',
            ROOT / 'configs' / config, '--cfg-options',
            f'train_dataloader.dataset.data_root={data}/')
        assert result.returncode == 0, result.stderr[-3000:]
        flops = re.search(r'FLOPs: ([\d.]+)G\s+Parameters: (\S+)',
                          result.stdout)
        assert flops, result.stdout[-2000:]
        assert float(flops.group(1)) > 0.1
        assert flops.group(2) == params if params else re.fullmatch(
            r'[\d.]+M', flops.group(2))
