"""Tests of the synthetic SUN RGB-D writer (format, split, seeds)."""
import filecmp
import io
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from projects.pimae.pimae import data_generation as gen
from tests.data import MMDET3D_SAMPLES

SMALL = gen.SceneConfig(width=160, height=120, num_points=3000)


def _project(points: np.ndarray, depth2img: np.ndarray) -> tuple:
    """1-based pixels and depths of points, written out independently."""
    uvw = points[:, :3].astype(np.float64) @ np.asarray(depth2img).T
    return uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2], uvw[:, 2]


@pytest.fixture(scope='module')
def small_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('syn')
    splits = gen.generate_dataset(
        str(root), 4, seed=3, val_ratio=0.25, cfg=SMALL)
    return root, splits


def test_layout_and_split(small_dataset):
    root, splits = small_dataset
    assert len(splits['train']) == 3 and len(splits['val']) == 1
    for split in ('train', 'val'):
        with open(root / f'sunrgbd_infos_{split}.pkl', 'rb') as f:
            ann = pickle.load(f)
        assert ann['metainfo'] == dict(
            categories={
                c: i
                for i, c in enumerate(gen.CLASSES)
            },
            dataset='sunrgbd',
            info_version='1.1')
        assert ann['data_list'] == splits[split]
    names = sorted(os.listdir(root / 'points'))
    assert names == [f'{i:06d}.bin' for i in range(1, 5)]
    assert sorted(os.listdir(root / 'sunrgbd_trainval' / 'image')) == [
        f'{i:06d}.jpg' for i in range(1, 5)
    ]


def test_info_matches_real_format(small_dataset):
    """Same keys and value types as mmdet3d's converted real sample."""
    with open(MMDET3D_SAMPLES / 'sunrgbd' / 'sunrgbd_infos.pkl', 'rb') as f:
        real = pickle.load(f)['data_list'][0]
    _, splits = small_dataset
    info = splits['train'][0]
    assert set(info) == set(real)
    assert set(info['images']['CAM0']) == set(real['images']['CAM0'])
    assert set(info['lidar_points']) == set(real['lidar_points'])
    assert info['lidar_points']['num_pts_feats'] == 6
    assert np.asarray(info['images']['CAM0']['depth2img']).shape == (3, 3)
    assert isinstance(info['images']['CAM0']['depth2img'], list)
    for inst in info['instances']:
        assert set(inst) == set(real['instances'][0])
        assert len(inst['bbox']) == 4 and len(inst['bbox_3d']) == 7


def test_points_project_onto_their_pixels(small_dataset):
    root, splits = small_dataset
    for info in splits['train'] + splits['val']:
        cam = info['images']['CAM0']
        points = np.fromfile(
            root / 'points' / info['lidar_points']['lidar_path'],
            dtype=np.float32).reshape(-1, 6)
        assert len(points) == SMALL.num_points
        assert np.isfinite(points).all()
        assert points[:, 3:].min() >= 0 and points[:, 3:].max() <= 1
        img = np.asarray(
            Image.open(root / 'sunrgbd_trainval' / 'image' /
                       cam['img_path']).convert('RGB'))
        assert img.shape == (cam['height'], cam['width'], 3)
        u, v, w = _project(points, cam['depth2img'])
        assert (w > 0).all()
        # 1-based pixel centres: integers within float32 rounding
        assert np.abs(u - np.rint(u)).max() < 1e-2
        assert np.abs(v - np.rint(v)).max() < 1e-2
        cols, rows = np.rint(u).astype(int) - 1, np.rint(v).astype(int) - 1
        assert cols.min() >= 0 and cols.max() < cam['width']
        assert rows.min() >= 0 and rows.max() < cam['height']
        # colours are the JPEG file's pixels exactly
        np.testing.assert_allclose(
            points[:, 3:] * 255., img[rows, cols], atol=1e-3)


def test_annotations_valid(small_dataset):
    _, splits = small_dataset
    num = 0
    for info in splits['train'] + splits['val']:
        cam = info['images']['CAM0']
        for inst in info['instances']:
            num += 1
            assert 0 <= inst['bbox_label_3d'] < len(gen.CLASSES)
            assert inst['bbox_label'] == inst['bbox_label_3d']
            x1, y1, x2, y2 = inst['bbox']
            assert 0 <= x1 < x2 <= cam['width']
            assert 0 <= y1 < y2 <= cam['height']
            dx, dy, dz = inst['bbox_3d'][3:6]
            assert min(dx, dy, dz) > 0.3 and max(dx, dy, dz) < 2.5
    assert num > 0


def test_deterministic_for_seed(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    gen.generate_dataset(str(a), 2, seed=7, cfg=SMALL)
    gen.generate_dataset(str(b), 2, seed=7, cfg=SMALL, workers=2)
    gen.generate_dataset(str(c), 2, seed=8, cfg=SMALL)
    files = [
        'points/000001.bin', 'points/000002.bin',
        'sunrgbd_trainval/image/000001.jpg',
        'sunrgbd_trainval/image/000002.jpg', 'sunrgbd_infos_train.pkl',
        'sunrgbd_infos_val.pkl'
    ]
    for name in files:
        assert filecmp.cmp(a / name, b / name, shallow=False), name
    assert not filecmp.cmp(a / files[0], c / files[0], shallow=False)


def test_encode_decode_and_errors(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    img[:, 4:] = 200
    jpeg = gen.encode_jpeg(img, 95)
    assert np.asarray(Image.open(io.BytesIO(jpeg))).shape == (8, 8, 3)
    with pytest.raises(ValueError, match='num_scenes'):
        gen.generate_dataset(str(tmp_path), 0)
    with pytest.raises(ValueError, match='val_ratio'):
        gen.generate_dataset(str(tmp_path), 2, val_ratio=1.0)
