"""3DETR through the real tools on generated scenes: train + test with
mmdet3d's IndoorMetric, PiMAE initialisation, empty ground truth with two
processes, and a class-count mismatch."""
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'threedetr' / 'threedetr_demo_sunrgbd.py'
#: a small 3DETR and one epoch, on top of the demo config
TINY = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
    'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
    'model.backbone.pre_encoder.num_points=64',
    'model.bbox_head.num_queries=16', 'model.bbox_head.decoder.num_layers=1'
]


def points_option(num_points):
    return [
        f'{split}.dataset.pipeline.{index}.num_points={num_points}'
        for split, index in (('train_dataloader', 4), ('val_dataloader', 1),
                             ('test_dataloader', 1))
    ]


def run_tool(args, cwd, env_extra=None, timeout=600):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env.update(env_extra or {})
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    """Six small generated scenes: 4 train, 2 val."""
    from projects.pimae.pimae import data_generation
    root = tmp_path_factory.mktemp('sunrgbd_demo')
    data_generation.generate_dataset(
        str(root),
        6,
        seed=3,
        val_ratio=1 / 3,
        cfg=data_generation.SceneConfig(
            width=160, height=120, num_points=3000))
    return root


@pytest.fixture(scope='module')
def pimae_checkpoint(tmp_path_factory):
    """A default-size PiMAE (random weights) saved as this project saves
    checkpoints."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('pimae') / 'pimae.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path, model.state_dict()


def test_demo_tool_trains_and_tests_scratch_and_pimae(tmp_path, scenes,
                                                      pimae_checkpoint):
    checkpoint, pimae_state = pimae_checkpoint
    work_dir = tmp_path / 'demo'
    result = run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'run_threedetr_demo.py'), '--data-root',
        str(scenes), '--work-dir',
        str(work_dir), '--pimae-checkpoint',
        str(checkpoint), '--cfg-options', *TINY, *points_option(1024)
    ],
                      cwd=tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    summary = json.loads((work_dir / 'summary.json').read_text())
    for name in ('scratch', 'pimae'):
        metrics = summary['results'][name]
        for key in ('mAP_0.25', 'mAP_0.50', 'mAR_0.25', 'mAR_0.50'):
            assert 0. <= metrics[key] <= 1.
        assert (work_dir / name / 'epoch_1.pth').is_file()
    assert '| pimae |' in result.stdout and '| scratch |' in result.stdout

    # the PiMAE run logged a one-to-one transfer of 6 layers x 12 tensors
    logs = list((work_dir / 'pimae').glob('*/*.log'))
    text = logs[0].read_text()
    assert 'transferred: 72 tensors' in text
    assert 'UNMATCHED source encoder tensors: 0' in text
    # ... and training started from those weights: the scratch run's
    # encoder differs from PiMAE's, and the PiMAE run's encoder stayed close
    trained = torch.load(
        work_dir / 'pimae' / 'epoch_1.pth', weights_only=True)['state_dict']
    scratch = torch.load(
        work_dir / 'scratch' / 'epoch_1.pth', weights_only=True)['state_dict']
    source = pimae_state['backbone.shared_encoder.layers.2.linear1.weight']
    target = 'backbone.encoder.layers.5.linear1.weight'
    assert (trained[target] - source).abs().max() < 0.05
    assert (scratch[target] - source).abs().max() > 0.05


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_sample_without_boxes_trains_with_two_processes(tmp_path, scenes):
    """One rank gets the sample without ground truth; the other rank must
    not wait for it (3DETR's original hangs here)."""
    root = tmp_path / 'data'
    root.mkdir()
    for name in ('points', 'sunrgbd_trainval', 'sunrgbd_infos_val.pkl'):
        os.symlink(scenes / name, root / name)
    with open(scenes / 'sunrgbd_infos_train.pkl', 'rb') as f:
        infos = pickle.load(f)
    infos['data_list'] = infos['data_list'][:2]
    infos['data_list'][0]['instances'] = []
    with open(root / 'sunrgbd_infos_train.pkl', 'wb') as f:
        pickle.dump(infos, f)
    work_dir = tmp_path / 'work'
    result = run_tool([
        'bash',
        str(ROOT / 'tools' / 'dist_train.sh'),
        str(DEMO), '2', '--work-dir',
        str(work_dir), '--cfg-options', *TINY, *points_option(1024),
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=10',
        'train_dataloader.batch_size=1',
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/'
    ],
                      cwd=tmp_path,
                      env_extra=dict(PORT='29519'),
                      timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert re.search(r'Epoch\(train\)\s+\[2\]\[1/1\]', log)
    state = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert state['meta']['iter'] == 2
    assert all(
        torch.isfinite(v).all() for v in state['state_dict'].values()
        if v.is_floating_point())


def test_class_count_mismatch_fails_clearly(tmp_path, scenes):
    result = run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(DEMO), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *TINY, *points_option(1024),
        'model.bbox_head.num_classes=18', *[
            f'{split}.dataset.data_root={scenes}/'
            for split in ('train_dataloader', 'val_dataloader')
        ]
    ],
                      cwd=tmp_path)
    assert result.returncode != 0
    assert 'num_classes' in result.stderr
    assert '18' in result.stderr and '10' in result.stderr
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()
