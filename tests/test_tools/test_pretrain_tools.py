"""PiMAE pre-training through the real tools, on generated scenes and a tiny
model: two processes, resume equivalence, the masking mode through
``--cfg-options`` and the reconstruction pictures."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'tests' / 'data' / 'configs' / 'pimae_tiny_pretrain.py'


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
    """Eight small generated scenes (all in the train split)."""
    from projects.pimae.pimae import data_generation
    root = tmp_path_factory.mktemp('sunrgbd_demo')
    data_generation.generate_dataset(
        str(root),
        8,
        seed=5,
        val_ratio=0.,
        cfg=data_generation.SceneConfig(
            width=160, height=120, num_points=3000))
    return root


def train(work_dir, scenes, *options, resume=False):
    return run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(TINY), '--work-dir',
        str(work_dir), *(['--resume'] if resume else []), '--cfg-options',
        f'train_dataloader.dataset.data_root={scenes}/', *options
    ],
                    cwd=work_dir.parent)


def weights(path):
    return torch.load(
        path, map_location='cpu', weights_only=True)['state_dict']


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(
        tmp_path, scenes):
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    result = train(straight, scenes)  # 4 epochs
    assert result.returncode == 0, result.stderr[-3000:]
    result = train(resumed, scenes, 'train_cfg.max_epochs=2')
    assert result.returncode == 0, result.stderr[-3000:]
    result = train(resumed, scenes, resume=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'resumed epoch: 2' in log
    assert 'restored the random states of the resumed checkpoint' in log
    assert not re.search(r'Epoch\(train\)\s+\[[12]\]', log)

    final_a, final_b = weights(straight / 'epoch_4.pth'), weights(
        resumed / 'epoch_4.pth')
    assert final_a.keys() == final_b.keys()
    for key, value in final_a.items():
        torch.testing.assert_close(
            final_b[key], value, rtol=0, atol=0, msg=key)
    # and training really moved the weights between epochs 2 and 4
    mid = weights(resumed / 'epoch_2.pth')
    key = 'backbone.shared_encoder.layers.0.linear1.weight'
    assert not torch.equal(mid[key], final_b[key])


def mask_overlaps(log):
    return [float(v) for v in re.findall(r'mask_overlap: ([0-9.]+)', log)]


def test_masking_mode_from_the_command_line(tmp_path, scenes):
    overlaps = {}
    for mode in ('complement', 'uniform'):
        work_dir = tmp_path / mode
        result = train(work_dir, scenes, 'train_cfg.max_epochs=1',
                       f'model.backbone.masker.image_mask_type={mode}')
        log = result.stdout + result.stderr
        assert result.returncode == 0, log[-3000:]
        assert f"image_mask_type='{mode}'" in log
        assert f"image_mask_type='{mode}'" in (
            work_dir / 'pimae_tiny_pretrain.py').read_text()
        overlaps[mode] = mask_overlaps(log)
        assert len(overlaps[mode]) == 4  # 8 scenes / batch 2, logged each
    # complement keeps the patches of masked point groups visible, uniform
    # masks them
    assert max(overlaps['complement']) < 0.3
    assert min(overlaps['uniform']) > 0.7


def test_bad_masking_mode_names_the_choices(tmp_path, scenes):
    result = train(tmp_path / 'bad', scenes, 'train_cfg.max_epochs=1',
                   'model.backbone.masker.image_mask_type=complementary')
    assert result.returncode != 0
    assert "image_mask_type must be one of ('random', 'uniform', " \
        "'complement'), got 'complementary'" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_dist_train_pretrains_with_two_processes(tmp_path, scenes):
    work_dir = tmp_path / 'dist'
    result = run_tool([
        'bash',
        str(ROOT / 'tools' / 'dist_train.sh'),
        str(TINY), '2', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        f'train_dataloader.dataset.data_root={scenes}/'
    ],
                      cwd=tmp_path,
                      env_extra=dict(PORT='29521'),
                      timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'of 2)' in log  # world size 2 on gloo
    # 8 scenes / (2 processes x batch 2) = 2 iterations
    assert re.search(
        r'Epoch\(train\)\s+\[1\]\[2/2\].*loss_pts.*loss_img.*'
        r'loss_cross', log)
    state = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert state['meta']['iter'] == 2
    assert len(state['rng_state']) == 2  # one per process


def test_visualize_reconstruction_writes_pictures(tmp_path, scenes):
    work_dir = tmp_path / 'work'
    result = train(work_dir, scenes, 'train_cfg.max_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    # the hook drew to the visualiser's backend during training
    assert list(work_dir.glob('*/vis_data/vis_image/*.png'))
    out_dir = tmp_path / 'pictures'
    result = run_tool([
        sys.executable,
        str(ROOT / 'tools' / 'visualize_reconstruction.py'),
        str(TINY),
        str(work_dir / 'epoch_1.pth'), '--out-dir',
        str(out_dir), '--num-samples', '2', '--cfg-options',
        f'train_dataloader.dataset.data_root={scenes}/'
    ],
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    pictures = sorted(out_dir.glob('*.png'))
    assert len(pictures) == 2
    for path in pictures:
        with Image.open(path) as image:
            image.load()
            assert image.size == (1200, 800) and image.mode == 'RGB'
            # not a blank canvas: the panels hold many distinct colours
            assert len(image.getcolors(maxcolors=1 << 20)) > 100
