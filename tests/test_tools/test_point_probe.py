"""The point-encoder probes end to end: the linear-probe demo config through
tools/train.py and the k-NN tool, on generated scenes."""
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from .test_train import run_tool
from .test_vit_transfer import load_tool

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'point_probe' / \
    'pimae-point_linear-probe_sunrgbd-objects_demo.py'
create_demo_data = load_tool(ROOT / 'tools' / 'create_demo_data.py')
knn_tool = load_tool(ROOT / 'tools' / 'analysis_tools' / 'point_probe_knn.py')


@pytest.fixture(scope='module')
def probe_setup(tmp_path_factory):
    """Four small generated scenes (3 train, 1 val), a default-size PiMAE
    checkpoint and the number of train objects."""
    from mmdet3d.registry import MODELS
    from mmpretrain.registry import DATASETS

    import projects.pimae.pimae  # noqa: F401
    root = tmp_path_factory.mktemp('point_probe')
    data = root / 'data'
    assert create_demo_data.main([
        '--out-dir', str(data), '--num-scenes', '4', '--val-ratio', '0.25',
        '--width', '160', '--height', '120', '--num-points', '3000',
        '--no-progress'
    ]) == 0
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        torch.manual_seed(0)
        pimae = MODELS.build(cfg.model)
        pimae.init_weights()
    torch.save({'state_dict': pimae.state_dict()}, root / 'pimae.pth')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        train = DATASETS.build(
            dict(
                type='SUNRGBDPointCropDataset',
                data_root=str(data),
                ann_file='sunrgbd_infos_train.pkl',
                min_points=10))
    assert len(train) >= 2
    return root, data, root / 'pimae.pth', len(train)


def data_options(data):
    return [
        f'{loader}.dataset.{key}={value}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key, value in (('data_root', f'{data}/'), ('min_points', 10))
    ]


def test_demo_config_trains_one_iteration_per_epoch(probe_setup):
    """Three epochs (the demo's 2 warm-up epochs and one of the cosine) of
    one iteration each: the whole train set is one batch."""
    root, data, pimae, num_train = probe_setup
    work_dir = root / 'linear_probe'
    result = run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(DEMO), '--work-dir',
        str(work_dir), '--cfg-options', *data_options(data),
        f'model.backbone.init_cfg.checkpoint={pimae}',
        'train_cfg.max_epochs=3', f'train_dataloader.batch_size={num_train}',
        'default_hooks.checkpoint.interval=1'
    ],
                      cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert f'PiMAEPointTransformer: loaded all 96 tensors from {pimae}' in log
    assert re.search(r'Epoch\(train\)\s+\[3\]\[1/1\]', log)
    assert re.search(r'Epoch\(val\)\s+\[3\]\[1/1\]\s+accuracy/top1', log)
    ckpt = torch.load(
        work_dir / 'epoch_3.pth', map_location='cpu', weights_only=True)
    state = ckpt['state_dict']
    source = torch.load(pimae, weights_only=True)['state_dict']
    backbone = [k for k in state if k.startswith('backbone.')]
    assert len(backbone) == 96
    for key in backbone:  # frozen: still PiMAE's weights and statistics
        torch.testing.assert_close(state[key], source[key], rtol=0, atol=0)
    buffers = [
        s['momentum_buffer'] for s in ckpt['optimizer']['state'].values()
    ]
    assert sorted(tuple(b.shape) for b in buffers) == [(10, ), (10, 512)]
    assert all(b.abs().sum() > 0 for b in buffers)


def run_knn(*args):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return knn_tool.main([str(DEMO), *args])


def test_knn_tool(probe_setup, tmp_path, capsys):
    root, data, pimae, num_train = probe_setup
    # the test set as the memory: with k=1 every object finds itself
    result = run_knn('--checkpoint', str(pimae), '--k', '1', '--cfg-options',
                     *data_options(data),
                     'train_dataloader.dataset.ann_file='
                     'sunrgbd_infos_val.pkl')
    assert result['num_train'] == result['num_test'] > 0
    assert result['top1'] == 100.
    assert result['checkpoint'] == str(pimae)
    out = tmp_path / 'knn.json'
    result = run_knn('--random-init', '--out', str(out), '--cfg-options',
                     *data_options(data))
    assert result['num_train'] == num_train
    assert result['checkpoint'] == 'random init'
    assert 0. <= result['top1'] <= 100.
    assert json.loads(out.read_text()) == result
    assert f'with {num_train} train objects; backbone: random init' in \
        capsys.readouterr().out


def test_knn_tool_without_checkpoint_fails_clearly(tmp_path):
    with pytest.raises(SystemExit, match='Checkpoint file not found: nope'):
        run_knn('--checkpoint', 'nope.pth')
    with pytest.raises(SystemExit) as error:
        run_knn('--cfg-options',
                f'model.backbone.init_cfg.checkpoint={tmp_path}/none.pth')
    assert 'none.pth does not exist' in str(error.value)
    assert '--random-init' in str(error.value)
