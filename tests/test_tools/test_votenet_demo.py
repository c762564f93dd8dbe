"""tools/run_votenet_demo.py at a tiny size: mmdet3d's VoteNet with the
stock and the PiMAE-initialised backbone (the PiMAE-scratch run differs from
the latter by the init only), trained and evaluated with IndoorMetric through
tools/train.py on the CPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
#: one epoch of 2 batches of 2 scenes, 1024 points, validated at its end
TINY = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
    'train_dataloader.dataset.pipeline.4.num_points=1024',
    'val_dataloader.dataset.pipeline.1.num_points=1024'
]


def make_scenes(root):
    from projects.pimae.pimae import data_generation
    data_generation.generate_dataset(
        str(root),
        6,
        seed=3,
        val_ratio=1 / 3,
        cfg=data_generation.SceneConfig(
            width=160, height=120, num_points=3000))


def make_pimae_checkpoint(path):
    """A default-size PiMAE (random weights), saved as the project saves
    checkpoints; returns its state dict."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.state_dict()


def test_demo_tool_trains_and_evaluates_stock_and_pimae(tmp_path):
    scenes = tmp_path / 'scenes'
    make_scenes(scenes)
    checkpoint = tmp_path / 'pimae.pth'
    pimae_state = make_pimae_checkpoint(checkpoint)
    work_dir = tmp_path / 'demo'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'run_votenet_demo.py'), '--data-root',
        str(scenes), '--work-dir',
        str(work_dir), '--pimae-checkpoint',
        str(checkpoint), '--runs', 'stock', 'pimae', '--cfg-options', *TINY
    ],
                            cwd=tmp_path,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    summary = json.loads((work_dir / 'summary.json').read_text())
    assert set(summary['results']) == {'stock', 'pimae'}
    for name, metrics in summary['results'].items():
        for key in ('mAP_0.25', 'mAP_0.50', 'mAR_0.25', 'mAR_0.50'):
            assert 0. <= metrics[key] <= 1., (name, key)
        assert metrics['num_classes'] >= 1
        assert f'| {name} |' in result.stdout

    def run_log(name):
        return next((work_dir / name).glob('*/*.log')).read_text()

    # the stock run is mmdet3d's PointNet++, the other PiMAE's backbone
    # loading PiMAE's 6 x 12 encoder tensors, checked after the init
    assert 'PointNet2SASSG' in run_log('stock')
    assert 'PiMAEPretrained' not in run_log('stock')
    pimae_log = run_log('pimae')
    assert 'PiMAEPointBackbone' in pimae_log
    assert 'transferred: 72 tensors' in pimae_log
    assert 'verified, all 72 transferred tensors' in pimae_log
    # training started from those weights: 2 Adam steps at lr 0.008 move a
    # parameter by about 2 x 0.008 at most, far less than the distance
    # between the checkpoint and a fresh initialisation
    trained = torch.load(
        next((work_dir / 'pimae').glob('epoch_1.pth')),
        weights_only=True)['state_dict']
    for index, source in ((0, 'pts_encoder.layers.0'),
                          (5, 'shared_encoder.layers.2')):
        source = pimae_state[f'backbone.{source}.linear1.weight']
        target = trained[f'backbone.encoder.layers.{index}.linear1.weight']
        assert (target - source).abs().max() < 0.03
