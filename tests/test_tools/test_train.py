"""Run tools/train.py and tools/dist_train.sh as a user would (toy model)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = ROOT / 'tests' / 'data' / 'configs' / 'toy_regression.py'


def run_tool(args, cwd, timeout=300, env_extra=None):
    """Run a tool from an unrelated working directory and return the result."""
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env.update(env_extra or {})
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def train(work_dir, *extra, cwd=None):
    return run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(TOY_CONFIG), '--work-dir',
        str(work_dir), *extra
    ],
                    cwd=cwd or work_dir.parent)


def load(path):
    # the project's checkpoints must load with the safe default of torch>=2.6
    return torch.load(path, map_location='cpu', weights_only=True)


def test_resume_continues_with_optimizer_and_scheduler_state(tmp_path):
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    result = train(straight, '--cfg-options', 'train_cfg.max_epochs=2')
    assert result.returncode == 0, result.stderr[-3000:]

    result = train(resumed, '--cfg-options', 'train_cfg.max_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    assert (resumed / 'epoch_1.pth').is_file()
    result = train(resumed, '--resume', '--cfg-options',
                   'train_cfg.max_epochs=2')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1' in log
    assert re.search(r'Epoch\(train\)\s+\[2\]', log)
    assert not re.search(r'Epoch\(train\)\s+\[1\]', log)

    ckpt_a, ckpt_b = load(straight / 'epoch_2.pth'), load(resumed /
                                                          'epoch_2.pth')
    assert ckpt_b['meta']['epoch'] == 2 and ckpt_b['meta']['iter'] == 16
    # optimizer state (AdamW moments and step) continued, not restarted
    state_a = ckpt_a['optimizer']['state']
    state_b = ckpt_b['optimizer']['state']
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        for name in ('exp_avg', 'exp_avg_sq', 'step'):
            torch.testing.assert_close(state_b[key][name], state_a[key][name])
    assert float(state_b[0]['step']) == 16
    # scheduler state continued: same step counters and learning rate
    for sched_a, sched_b in zip(ckpt_a['param_schedulers'],
                                ckpt_b['param_schedulers']):
        assert sched_b['last_step'] == sched_a['last_step']
    assert ckpt_b['optimizer']['param_groups'][0]['lr'] == pytest.approx(
        ckpt_a['optimizer']['param_groups'][0]['lr'])
    for key, value in ckpt_a['state_dict'].items():
        torch.testing.assert_close(ckpt_b['state_dict'][key], value)


def test_cfg_options_reach_dumped_config(tmp_path):
    work_dir = tmp_path / 'work'
    result = train(work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
                   'train_dataloader.batch_size=8',
                   'optim_wrapper.optimizer.lr=0.123')
    assert result.returncode == 0, result.stderr[-3000:]
    dumped = (work_dir / 'toy_regression.py').read_text()
    assert 'batch_size=8' in dumped
    assert 'lr=0.123' in dumped
    assert 'max_epochs=1' in dumped
    assert re.search(r'Epoch\(train\)\s+\[1\]\[4/4\]',
                     result.stdout + result.stderr)


def test_bad_cfg_option_key_fails_clearly(tmp_path):
    result = train(tmp_path / 'work', '--cfg-options',
                   'train_dataloader.batchsize=8')
    assert result.returncode != 0
    assert "'train_dataloader' has no key 'batchsize'" in result.stderr
    assert 'batch_size' in result.stderr  # the suggestion
    assert 'Traceback' not in result.stderr


def test_missing_config_fails_clearly(tmp_path):
    result = run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'), 'configs/does_not_exist.py'
    ],
                      cwd=tmp_path)
    assert result.returncode != 0
    assert 'Config file not found: configs/does_not_exist.py' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_dist_train_two_processes_on_cpu(tmp_path):
    work_dir = tmp_path / 'dist'
    result = run_tool([
        'bash',
        str(ROOT / 'tools' / 'dist_train.sh'),
        str(TOY_CONFIG), '2', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                      cwd=tmp_path,
                      env_extra=dict(PORT='29517'))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'using the gloo backend' in log
    assert 'of 2)' in log  # world size 2
    # 32 samples / (2 ranks x 4 per batch) = 4 iterations per epoch
    assert re.search(r'Epoch\(train\)\s+\[1\]\[4/4\]', log)
    assert load(work_dir / 'epoch_1.pth')['meta']['iter'] == 4
