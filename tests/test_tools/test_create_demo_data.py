"""tools/create_demo_data.py: the CLI writes an mmdet3d SUN RGB-D dataset."""
import filecmp
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    '--width', '96', '--height', '72', '--num-points', '1500', '--no-progress'
]


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


create_demo_data = _load_tool('create_demo_data')


def test_writes_mmdet3d_layout(tmp_path, capsys):
    out = tmp_path / 'demo'
    assert create_demo_data.main([
        '--out-dir',
        str(out), '--num-scenes', '4', '--seed', '2', '--val-ratio', '0.25',
        *TINY
    ]) == 0
    text = capsys.readouterr().out
    assert 'train: 3 scenes' in text and 'val: 1 scenes' in text
    assert 'scenes/s' in text
    assert sorted(os.listdir(
        out / 'points')) == [f'{i:06d}.bin' for i in range(1, 5)]
    assert len(os.listdir(out / 'sunrgbd_trainval' / 'image')) == 4
    for i in range(1, 5):
        points = np.fromfile(out / 'points' / f'{i:06d}.bin', np.float32)
        assert points.size == 1500 * 6
    from mmdet3d.datasets import SUNRGBDDataset
    for split, num in (('train', 3), ('val', 1)):
        ds = SUNRGBDDataset(
            data_root=str(out),
            ann_file=f'sunrgbd_infos_{split}.pkl',
            pipeline=[],
            test_mode=True)
        assert len(ds) == num
        info = ds.get_data_info(0)
        assert info['depth2img'].shape == (3, 3)
        assert Path(info['img_path']).is_file()
        assert Path(info['lidar_points']['lidar_path']).is_file()
        for inst in info['instances']:
            assert 0 <= inst['bbox_label_3d'] < 10
            x1, y1, x2, y2 = inst['bbox']
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 72


def test_same_seed_same_files(tmp_path):
    runs = []
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        out = tmp_path / name
        create_demo_data.main([
            '--out-dir',
            str(out), '--num-scenes', '2', '--seed',
            str(seed), *TINY
        ])
        runs.append(out)
    names = [
        'points/000001.bin', 'points/000002.bin',
        'sunrgbd_trainval/image/000002.jpg', 'sunrgbd_infos_train.pkl',
        'sunrgbd_infos_val.pkl'
    ]
    for name in names:
        assert filecmp.cmp(runs[0] / name, runs[1] / name, shallow=False)
    assert not filecmp.cmp(
        runs[0] / names[0], runs[2] / names[0], shallow=False)
    with open(runs[0] / 'sunrgbd_infos_train.pkl', 'rb') as f:
        assert pickle.load(f)['metainfo']['dataset'] == 'sunrgbd'


@pytest.mark.parametrize(
    'bad', [['--num-scenes', '0'], ['--val-ratio', '1.0'], ['--width', '8']])
def test_rejects_bad_arguments(tmp_path, bad):
    with pytest.raises(SystemExit):
        create_demo_data.main(['--out-dir', str(tmp_path), *bad])


def test_runs_as_a_script_from_elsewhere(tmp_path):
    """``python tools/create_demo_data.py`` from another directory."""
    result = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'create_demo_data.py'), '--out-dir', 'demo',
        '--num-scenes', '2', '--workers', '2', *TINY
    ],
                            cwd=tmp_path,
                            capture_output=True,
                            text=True,
                            timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr
    assert 'generated 2 scenes' in result.stdout
    assert (tmp_path / 'demo' / 'sunrgbd_infos_train.pkl').is_file()
