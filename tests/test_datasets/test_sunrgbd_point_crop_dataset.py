"""Object point crops of SUN RGB-D 3D boxes (mmpretrain dataset,
LoadPointsInBox3D, ResamplePoints)."""
import logging
import math
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, TRANSFORMS

from projects.pimae.pimae.datasets import (BadSampleError,
                                           SUNRGBDPointCropDataset)
from projects.pimae.pimae.data_generation import CLASSES

PIPELINE = [
    dict(type='LoadPointsInBox3D'),
    dict(type='ResamplePoints', num_points=128),
    dict(type='ToTensor', keys=['points']),
    dict(
        type='PackInputs',
        input_key='points',
        meta_keys=('sample_idx', 'lidar_path', 'num_box_points')),
]


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build in mmpretrain's scope, as the configs/point_probe configs do."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture
def info_log():
    """INFO messages of mmengine's current logger during the test."""
    messages = []

    class Handler(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Handler(level=logging.INFO)
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def build(root, ann_file='sunrgbd_infos_train.pkl', **kwargs):
    cfg = dict(
        type='SUNRGBDPointCropDataset',
        data_root=str(root),
        ann_file=ann_file,
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def scene_xyz(path):
    return np.fromfile(str(path), dtype=np.float32).reshape(-1, 6)[:, :3]


def mmdet3d_inside(xyz, box):
    """The oracle: mmdet3d's DepthInstance3DBoxes.points_in_boxes_all."""
    from mmdet3d.structures import DepthInstance3DBoxes
    boxes = DepthInstance3DBoxes(
        torch.as_tensor(np.asarray(box)[None], dtype=torch.float32),
        origin=(0.5, 0.5, 0.5))
    return boxes.points_in_boxes_all(torch.from_numpy(xyz))[:, 0].bool()


def write_scene(root, points, instances, categories=None):
    """A hand-made dataset: one point file and its info file."""
    (root / 'points').mkdir(parents=True, exist_ok=True)
    np.asarray(points, np.float32).tofile(str(root / 'points' / 's.bin'))
    categories = categories or {name: i for i, name in enumerate(CLASSES)}
    infos = dict(
        metainfo=dict(categories=categories),
        data_list=[
            dict(
                lidar_points=dict(num_pts_feats=6, lidar_path='s.bin'),
                instances=instances)
        ])
    with open(root / 'infos.pkl', 'wb') as f:
        pickle.dump(infos, f)


def test_crops_are_the_points_inside_each_box(demo_root):
    dataset = build(demo_root, min_points=1, box_margin=0.02)
    load = TRANSFORMS.build(dict(type='LoadPointsInBox3D'))
    with open(demo_root / 'sunrgbd_infos_train.pkl', 'rb') as f:
        infos = pickle.load(f)['data_list']
    num_checked = 0
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        box = np.asarray(info['bbox_3d'], np.float64)
        crop_box = np.asarray(info['crop_box_3d'], np.float64)
        np.testing.assert_allclose(crop_box[3:6], box[3:6] + .04, atol=1e-6)
        np.testing.assert_array_equal(crop_box[[0, 1, 2, 6]],
                                      box[[0, 1, 2, 6]])
        instance = infos[info['scene_idx']]['instances'][info['instance_idx']]
        np.testing.assert_allclose(box, instance['bbox_3d'], rtol=1e-6)
        assert CLASSES[instance['bbox_label_3d']] == \
            dataset.CLASSES[info['gt_label']]

        xyz = scene_xyz(info['lidar_path'])
        inside = mmdet3d_inside(xyz, info['crop_box_3d']).numpy()
        crop = load(dict(info))['points']
        assert info['num_box_points'] == inside.sum() == len(crop)
        # back from the box frame by hand: rotate by +yaw, add the centre
        cos, sin = math.cos(box[6]), math.sin(box[6])
        world = crop.astype(np.float64) @ np.array(
            [[cos, sin, 0.], [-sin, cos, 0.], [0., 0., 1.]]) + box[:3]
        np.testing.assert_allclose(world, xyz[inside], atol=1e-5)
        num_checked += 1
    assert num_checked >= 5


def test_box_frame_and_margin_by_hand(tmp_path, info_log):
    # a 2 x 1 x 1 box at (1, 2, 0.5) turned by 90 deg: its x axis is the
    # world's +y; points given with the local coordinates they must get
    box = [1., 2., .5, 2., 1., 1., math.pi / 2]
    points = np.array([
        [1., 2.9, .5],  # local ( .9,   0,  0)
        [.7, 1.5, .9],  # local (-.5,  .3, .4)
        [1.45, 2., .2],  # local (  0, -.45, -.3)
        [1., 3.01, .5],  # local (1.01,  0,  0): only with the margin
        [1.6, 2., .5],  # local (  0, -.6,  0): outside
        [1., 2., 1.2],  # local (  0,   0, .7): outside
    ])
    points = np.concatenate([points, np.full((6, 3), .5)], axis=1)
    write_scene(tmp_path, points, [
        dict(bbox_3d=box, bbox_label_3d=CLASSES.index('sofa')),
        dict(bbox_3d=[5., 5., 5., 1., 1., 1., 0.], bbox_label_3d=0),
    ])
    local = np.array([[.9, 0., 0.], [-.5, .3, .4], [0., -.45, -.3],
                      [1.01, 0., 0.]])
    for margin, expected in ((0., local[:3]), (.02, local)):
        dataset = build(
            tmp_path, 'infos.pkl', min_points=1, box_margin=margin)
        assert len(dataset) == 1
        info = dataset.get_data_info(0)
        assert dataset.CLASSES[info['gt_label']] == 'sofa'
        crop = TRANSFORMS.build(dict(type='LoadPointsInBox3D'))(info)
        np.testing.assert_allclose(crop['points'], expected, atol=1e-6)
        # the fixed scale multiplies the box-frame xyz, nothing else
        scaled = TRANSFORMS.build(
            dict(type='LoadPointsInBox3D', scale=2.,
                 use_dim=[0, 1, 2, 3]))(dataset.get_data_info(0))
        np.testing.assert_allclose(scaled['points'][:, :3], 2 * expected,
                                   atol=1e-6)
        np.testing.assert_array_equal(scaled['points'][:, 3], .5)
    assert any('1 object point crops of 2 boxes in 1 scenes; skipped 1 '
               'with fewer than min_points=1 points' in m for m in info_log)


def test_skipped_boxes_are_counted(tmp_path, info_log):
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-1, 1, (400, 3))
    points = np.concatenate([xyz, np.zeros((400, 3))], axis=1)
    write_scene(tmp_path, points, [
        dict(bbox_3d=[0., 0., 0., 3., 3., 3., .3], bbox_label_3d=0),  # 400
        dict(bbox_3d=[0., 0., 0., .5, .5, .5, 0.], bbox_label_3d=1),  # ~6
        dict(bbox_3d=[0., 0., 0., 1., 1., 1., 0.], bbox_label_3d=9),
        dict(bbox_3d=[0., 0., 0., 1., 0., 1., 0.], bbox_label_3d=3),
        dict(bbox_3d=[0., 0., 0., 1., 1., 1., 0.], bbox_label_3d=-1),
    ])
    dataset = build(
        tmp_path, 'infos.pkl', min_points=20, box_margin=0.,
        classes=['bed', 'table', 'chair'])
    assert len(dataset) == 1
    assert dataset.get_data_info(0)['num_box_points'] == 400
    assert any(
        '1 object point crops of 5 boxes in 1 scenes; skipped 2 of classes '
        "not in the dataset's classes, 1 with a size <= 0, 1 with fewer "
        'than min_points=20 points' in m for m in info_log)
    with pytest.raises(ValueError, match=r'none of its 5 boxes is usable'):
        build(tmp_path, 'infos.pkl', min_points=1000)


def test_real_format_sample(samples_root):
    """mmdet3d's SUN RGB-D sample: 3 boxes, its 100 points all in one."""
    dataset = build(samples_root, 'sunrgbd_infos.pkl', min_points=1)
    with open(samples_root / 'sunrgbd_infos.pkl', 'rb') as f:
        info = pickle.load(f)['data_list'][0]
    xyz = scene_xyz(samples_root / 'points' / '000001.bin')
    counts = []
    for instance in info['instances']:
        box = np.asarray(instance['bbox_3d'], np.float64)
        box[3:6] += .04
        counts.append(int(mmdet3d_inside(xyz, box).sum()))
    assert counts == [0, 0, 100]
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample['inputs'].shape == (128, 3)
    assert sample['inputs'].dtype == torch.float32
    assert sample['data_samples'].num_box_points == 100
    assert int(sample['data_samples'].gt_label) == \
        info['instances'][2]['bbox_label_3d']


def test_bad_files_are_named(tmp_path, samples_root):
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        build(tmp_path, 'nope.pkl')
    write_scene(tmp_path, np.zeros((10, 6)),
                [dict(bbox_3d=[0, 0, 0, 1, 1], bbox_label_3d=0)])
    with pytest.raises(ValueError,
                       match=r'infos.pkl: data_list\[0\].instances\[0\]'
                       r'.bbox_3d must be 7 finite numbers'):
        build(tmp_path, 'infos.pkl')
    write_scene(tmp_path, np.zeros((10, 6)), [dict(bbox_label_3d=0)])
    with pytest.raises(ValueError, match=r'instances\[0\] lacks a bbox_3d'):
        build(tmp_path, 'infos.pkl')
    write_scene(tmp_path, np.zeros((10, 6)),
                [dict(bbox_3d=[0, 0, 0, 1, 1, 1, 0], bbox_label_3d=0)])
    (tmp_path / 'points' / 's.bin').write_bytes(b'\0' * 30)  # truncated
    with pytest.raises(BadSampleError, match=r'points/s.bin has 30 bytes'):
        build(tmp_path, 'infos.pkl')
    (tmp_path / 'points' / 's.bin').unlink()
    with pytest.raises(BadSampleError,
                       match=r'points/s.bin does not exist'):
        build(tmp_path, 'infos.pkl')
    with pytest.raises(ValueError, match='min_points must be >= 1'):
        SUNRGBDPointCropDataset('x.pkl', min_points=0)


def test_resample_fps_and_padding():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    fps = TRANSFORMS.build(dict(type='ResamplePoints', num_points=64))
    out = fps(dict(points=points.copy()))['points']
    assert out.shape == (64, 4) and out.dtype == np.float32
    rows = {tuple(r) for r in points.tolist()}
    assert {tuple(r) for r in out.tolist()} <= rows
    assert len({tuple(r) for r in out.tolist()}) == 64
    np.testing.assert_array_equal(out[0], points[0])  # FPS starts at 0
    # the second FPS point is the furthest from the first
    far = np.argmax(((points[:, :3] - points[0, :3])**2).sum(1))
    np.testing.assert_array_equal(out[1], points[far])
    np.testing.assert_array_equal(
        fps(dict(points=points.copy()))['points'], out)  # deterministic
    # fewer points: all of them in order, then cycled
    few = points[:5]
    padded = fps(dict(points=few.copy()))['points']
    np.testing.assert_array_equal(padded, few[np.arange(64) % 5])


def test_resample_random_with_seed():
    points = np.arange(600, dtype=np.float32).reshape(200, 3)
    draw = TRANSFORMS.build(
        dict(type='ResamplePoints', num_points=50, method='random', seed=3))
    first = draw(dict(points=points, sample_idx=7))['points']
    again = draw(dict(points=points, sample_idx=7))['points']
    other = draw(dict(points=points, sample_idx=8))['points']
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(np.unique(first[:, 0])) == 50  # without replacement
    assert set(first[:, 0].tolist()) <= set(points[:, 0].tolist())
    small = draw(dict(points=points[:10], sample_idx=0))['points']
    np.testing.assert_array_equal(small[:10], points[:10])
    assert set(small[10:, 0].tolist()) <= set(points[:10, 0].tolist())
    with pytest.raises(BadSampleError, match='sample 4: .*non-empty'):
        draw(dict(points=np.zeros((0, 3), np.float32), sample_idx=4))
    with pytest.raises(ValueError, match="'fps' or 'random'"):
        TRANSFORMS.build(dict(type='ResamplePoints', method='grid'))
