"""tools/data_check.py: a summary for good data, non-zero exit on problems."""
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from projects.pimae.pimae import data_generation

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / 'tests' / 'data' / 'mmdet3d_samples' / 'sunrgbd'

spec = importlib.util.spec_from_file_location('tool_data_check',
                                              ROOT / 'tools' / 'data_check.py')
data_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(data_check)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('check')
    data_generation.generate_dataset(
        str(root),
        3,
        seed=4,
        val_ratio=0.,
        cfg=data_generation.SceneConfig(
            width=96, height=72, num_points=1000))
    return root


def _broken_copy(demo, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(demo, root)
    ann_file = root / 'sunrgbd_infos_train.pkl'
    with open(ann_file, 'rb') as f:
        ann = pickle.load(f)
    return root, ann_file, ann


def test_good_data_passes(demo, capsys):
    rc = data_check.main([str(demo / 'sunrgbd_infos_train.pkl')])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert 'samples checked: 3, ok: 3, with problems: 0' in out
    assert 'points projecting into their image: mean 100.00%' in out
    assert 'points per sample: min 1000' in out
    assert 'PROBLEM' not in out


def test_problems_reported(demo, tmp_path, capsys):
    root, ann_file, ann = _broken_copy(demo, tmp_path)
    (root / 'points' / '000001.bin').write_bytes(b'\x00' * 30)
    (root / 'sunrgbd_trainval' / 'image' / '000002.jpg').unlink()
    cam = ann['data_list'][2]['images']['CAM0']
    cam['depth2img'] = np.zeros((3, 3)).tolist()
    with open(ann_file, 'wb') as f:
        pickle.dump(ann, f)
    rc = data_check.main([str(ann_file)])
    out = capsys.readouterr().out
    assert rc == 1
    assert 'with problems: 3' in out
    assert 'PROBLEM sample 0' in out and 'not a multiple of 24' in out
    assert 'PROBLEM sample 1' in out and '000002.jpg does not exist' in out
    assert 'PROBLEM sample 2' in out and 'singular' in out


def test_wrong_calibration_low_in_image_fraction(demo, tmp_path, capsys):
    root, ann_file, ann = _broken_copy(demo, tmp_path)
    cam = ann['data_list'][0]['images']['CAM0']
    d2i = np.asarray(cam['depth2img'])
    cam['depth2img'] = (d2i @ np.diag([1., 1., -1.])).tolist()  # z flipped
    cam2 = ann['data_list'][1]['images']['CAM0']
    cam2['width'] = 200  # disagrees with the image
    with open(ann_file, 'wb') as f:
        pickle.dump(ann, f)
    assert data_check.main([str(ann_file)]) == 1
    out = capsys.readouterr().out
    assert 'sample 0' in out and 'project into the 96x72 image' in out
    assert 'image is 96x72 but the info says 200x72' in out


def test_unreadable_info_file(tmp_path, capsys):
    bad = tmp_path / 'x.pkl'
    bad.write_bytes(b'not a pickle')
    assert data_check.main([str(bad)]) == 2
    assert 'cannot read info file' in capsys.readouterr().out


def test_real_format_sample_flags_its_known_defect(capsys):
    """The vendored mmdet3d sample parses, and its known defect (depth2img
    built from a transposed K, image of another scene) is detected."""
    rc = data_check.main([str(SAMPLES / 'sunrgbd_infos.pkl')])
    out = capsys.readouterr().out
    assert rc == 1
    assert 'samples checked: 1' in out and 'points per sample: min 100' in out
    assert 'only 0.0% of the points project' in out
    assert 'instances: 3 (bed: 1, dresser: 1, night_stand: 1)' in out


def test_runs_as_a_script(demo):
    result = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'data_check.py'),
        str(demo / 'sunrgbd_infos_train.pkl'), '--max-samples', '2'
    ],
                            cwd=demo,
                            capture_output=True,
                            text=True,
                            timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'samples checked: 2, ok: 2' in result.stdout
