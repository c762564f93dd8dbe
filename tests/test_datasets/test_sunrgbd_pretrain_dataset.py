"""The pre-training dataset on real-format samples and generated scenes."""
import copy
import pickle
import shutil

import mmcv
import numpy as np
import pytest
import torch

from mmdet3d.datasets import SUNRGBDDataset
from mmdet3d.registry import DATASETS
from mmdet3d.structures import Det3DDataSample
from projects.pimae.pimae.datasets import (BadSampleError,
                                           SUNRGBDPretrainDataset)
from projects.pimae.pimae.geometry import points_in_image, project_points
from .conftest import pretrain_pipeline


def build(root, ann_file='sunrgbd_infos_train.pkl', **kwargs):
    cfg = dict(
        type='SUNRGBDPretrainDataset',
        data_root=str(root),
        ann_file=ann_file,
        pipeline=pretrain_pipeline())
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_is_registered_sunrgbd_subclass():
    assert DATASETS.get('SUNRGBDPretrainDataset') is SUNRGBDPretrainDataset
    assert issubclass(SUNRGBDPretrainDataset, SUNRGBDDataset)
    with pytest.raises(ValueError, match='max_bad_fraction'):
        SUNRGBDPretrainDataset(
            data_root='x', ann_file='y', max_bad_fraction=0., lazy_init=True)


def test_real_format_sample_loads(samples_root):
    """mmdet3d's converted SUN RGB-D sample parses and runs through the
    pipeline (shapes only: its depth2img/image are known to be wrong)."""
    pipeline = pretrain_pipeline(augment=True)
    assert pipeline[2]['type'] == 'CheckDepth2Img'
    pipeline[2]['min_in_image'] = 0.  # its points miss its image (known)
    ds = build(samples_root, ann_file='sunrgbd_infos.pkl', pipeline=pipeline)
    assert len(ds) == 1
    info = ds.get_data_info(0)
    assert info['depth2img'].shape == (3, 3)
    assert info['img_path'].endswith('sunrgbd_trainval/image/000001.jpg')
    assert info['lidar_path'].endswith('points/000001.bin')
    out = ds[0]
    points, img = out['inputs']['points'], out['inputs']['img']
    # 100 points in the file: 20000 with replacement, then FPS
    assert points.shape == (2048, 6) and points.dtype == torch.float32
    assert 0 <= points[:, 3:].min() and points[:, 3:].max() <= 1
    assert img.shape == (3, 256, 352) and img.dtype == torch.uint8
    meta = out['data_samples'].metainfo
    assert isinstance(out['data_samples'], Det3DDataSample)
    assert meta['img_shape'] == (256, 352)
    assert meta['ori_shape'] == (530, 730)
    assert np.asarray(meta['depth2img']).shape == (3, 3)
    assert meta['sample_idx'] == 0


def test_generated_info_loads_with_mmdet3d(demo_root):
    """The generated info files load with mmdet3d's own SUNRGBDDataset."""
    ds = SUNRGBDDataset(
        data_root=str(demo_root),
        ann_file='sunrgbd_infos_train.pkl',
        pipeline=[
            dict(
                type='LoadPointsFromFile',
                coord_type='DEPTH',
                load_dim=6,
                use_dim=[0, 1, 2, 3, 4, 5]),
            dict(type='LoadAnnotations3D'),
            dict(
                type='Pack3DDetInputs',
                keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
        ])
    assert len(ds) == 3
    out = ds[0]
    labels = out['data_samples'].gt_instances_3d.labels_3d
    assert len(labels) > 0 and labels.min() >= 0 and labels.max() < 10
    # gravity-centre boxes: the points of the scene fill them from the floor
    boxes = out['data_samples'].gt_instances_3d.bboxes_3d
    assert torch.allclose(boxes.gravity_center[:, 2] - boxes.dims[:, 2] / 2,
                          boxes.bottom_height)


@pytest.mark.parametrize('seed', [0, 1])
def test_projection_matches_colours_after_full_pipeline(demo_root, seed):
    """Every point, projected with the final depth2img, lands on a pixel of
    the final image whose colour is the point's colour (JPEG / resampling
    error aside), with sampling, FPS, resize and every augmentation on."""
    np.random.seed(seed)
    ds = build(demo_root, pipeline=pretrain_pipeline(force=True))
    for idx in range(len(ds)):
        out = ds[idx]
        meta = out['data_samples'].metainfo
        assert meta['pcd_horizontal_flip'] and meta['flip']
        assert meta['transformation_3d_flow'] == ['HF', 'R', 'S']
        assert meta['img_shape'] == (256, 352)
        points = out['inputs']['points'].numpy()
        img = out['inputs']['img'].permute(1, 2, 0).numpy()[..., ::-1]  # RGB
        uv, depth = project_points(points[:, :3].astype(np.float64),
                                   meta['depth2img'])
        inside = points_in_image(uv, depth, (256, 352))
        assert inside.all()
        cols = np.floor(uv[:, 0] + 0.5).astype(int)
        rows = np.floor(uv[:, 1] + 0.5).astype(int)
        err = np.abs(img[rows, cols].astype(np.float64) -
                     points[:, 3:] * 255.).max(axis=1)
        # JPEG + bilinear resampling: ~1/255 typically; points on depth
        # edges (a pixel mixing two surfaces) make the tail
        assert np.median(err) <= 3, np.median(err)
        assert np.percentile(err, 95) <= 12, np.percentile(err, 95)
        assert (err > 20).mean() < 0.03, (err > 20).mean()
        # the check has power: with the loaded (not updated) depth2img the
        # colours do not match
        raw = ds.get_data_info(idx)['depth2img']
        uv_raw, _ = project_points(points[:, :3].astype(np.float64), raw)
        c2 = np.clip(np.floor(uv_raw[:, 0] + 0.5).astype(int), 0, 351)
        r2 = np.clip(np.floor(uv_raw[:, 1] + 0.5).astype(int), 0, 255)
        err_raw = np.abs(img[r2, c2].astype(np.float64) -
                         points[:, 3:] * 255.).max(axis=1)
        assert (err_raw > 20).mean() > max(0.1, 5 * (err > 20).mean())


def _copy_root(src, dst):
    shutil.copytree(src, dst)
    with open(dst / 'sunrgbd_infos_train.pkl', 'rb') as f:
        return pickle.load(f)


def _write_infos(root, ann):
    with open(root / 'sunrgbd_infos_train.pkl', 'wb') as f:
        pickle.dump(ann, f)


def _break(root, ann, case):
    """Damage sample 1 of a copied dataset; returns the expected message."""
    info = ann['data_list'][1]
    pts = root / 'points' / info['lidar_points']['lidar_path']
    img = root / 'sunrgbd_trainval' / 'image' / info['images']['CAM0'][
        'img_path']
    cam = info['images']['CAM0']
    if case == 'missing_points':
        pts.unlink()
        return 'does not exist'
    if case == 'truncated_points':
        data = pts.read_bytes()
        pts.write_bytes(data[:len(data) // 2 + 5])
        return 'not a multiple of 24 (load_dim=6 float32 per point)'
    if case == 'points_width':  # 5 floats per point, a whole number of them
        pts.write_bytes(np.zeros((7, 5), np.float32).tobytes())
        return 'not a multiple of 24 (load_dim=6 float32 per point)'
    if case == 'nan_points':
        points = np.fromfile(pts, np.float32).reshape(-1, 6)
        points[10, 1] = np.nan
        points[20, 0] = np.inf
        points.tofile(pts)
        return 'NaN or Inf'
    if case == 'empty_points':
        pts.write_bytes(b'')
        return 'empty'
    if case == 'missing_image':
        img.unlink()
        return '000002.jpg does not exist'
    if case == 'corrupt_image':
        img.write_bytes(b'this is not a jpeg' * 10)
        return '(180 bytes) could not be decoded'
    if case == 'missing_depth2img':
        del cam['depth2img']
        _write_infos(root, ann)
        return 'depth2img is missing'
    if case == 'transposed_depth2img':  # invertible, but wrong
        cam['depth2img'] = np.asarray(cam['depth2img']).T.tolist()
        _write_infos(root, ann)
        return 'of its points project into its'
    if case == 'singular_depth2img':
        d2i = np.asarray(cam['depth2img'])
        d2i[2] = d2i[0] * 2.
        cam['depth2img'] = d2i.tolist()
        _write_infos(root, ann)
        return 'singular'
    raise ValueError(case)


BAD_CASES = [
    'missing_points', 'truncated_points', 'points_width', 'nan_points',
    'empty_points', 'missing_image', 'corrupt_image', 'missing_depth2img',
    'singular_depth2img', 'transposed_depth2img'
]


@pytest.mark.parametrize('case', BAD_CASES)
def test_bad_sample_raises_naming_it(demo_root, tmp_path, case):
    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    expected = _break(root, ann, case)
    ds = build(root, pipeline=pretrain_pipeline(augment=False))
    ds[0]  # the others are fine
    with pytest.raises(BadSampleError) as info:
        ds[1]
    message = str(info.value)
    assert message.startswith('sample 1 (points: ')
    assert '000002.bin' in message and '000002.jpg' in message
    assert expected in message


@pytest.mark.parametrize('case', [
    'nan_points', 'missing_depth2img', 'corrupt_image', 'transposed_depth2img'
])
def test_skip_bad_samples_keeps_the_others(demo_root, tmp_path, case, mm_log):
    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    _break(root, ann, case)
    ds = build(
        root,
        pipeline=pretrain_pipeline(augment=False),
        skip_bad_samples=True,
        max_bad_fraction=0.5)
    paths = [
        ds[i]['data_samples'].metainfo['lidar_path'] for i in range(len(ds))
    ]
    assert all(not p.endswith('000002.bin') for p in paths)
    assert any(p.endswith('000001.bin') for p in paths)
    assert any(p.endswith('000003.bin') for p in paths)
    skipped = [m for m in mm_log if m.startswith('skipping bad sample')]
    assert len(skipped) == 1 and 'sample 1 (points: ' in skipped[0]


def test_skip_gives_up_when_most_samples_are_bad(demo_root, tmp_path):
    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    for info in ann['data_list']:
        del info['images']['CAM0']['depth2img']
    _write_infos(root, ann)
    ds = build(
        root,
        pipeline=pretrain_pipeline(augment=False),
        skip_bad_samples=True,
        max_bad_fraction=0.5)
    with pytest.raises(RuntimeError, match='are unusable'):
        ds[0]


def test_malformed_info_entry_named(demo_root, tmp_path):
    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    ann = copy.deepcopy(ann)
    del ann['data_list'][2]['images']
    _write_infos(root, ann)
    with pytest.raises(BadSampleError, match='000003.bin.*malformed info'):
        build(root)


@pytest.mark.parametrize('key', ['images', 'lidar_points'])
def test_info_entry_without_files_is_named_and_skipped(
        demo_root, tmp_path, key, mm_log):
    root = tmp_path / 'data'
    ann = copy.deepcopy(_copy_root(demo_root, root))
    del ann['data_list'][1][key]
    _write_infos(root, ann)
    with pytest.raises(BadSampleError) as info:
        build(root)
    assert str(info.value).startswith('entry 1 of ')
    assert 'sunrgbd_infos_train.pkl' in str(info.value)
    ds = build(root, skip_bad_samples=True, max_bad_fraction=0.5)
    assert len(ds) == len(ann['data_list']) - 1
    assert any(m.startswith('skipping info entry 1:') for m in mm_log)


def test_malicious_info_file_runs_no_code(demo_root, tmp_path):
    from projects.pimae.pimae.datasets import InfoFileError

    class Payload:

        def __reduce__(self):
            return (open, (str(tmp_path / 'pwned'), 'w'))

    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    ann['data_list'][0]['note'] = Payload()
    _write_infos(root, ann)
    with pytest.raises(InfoFileError, match='sunrgbd_infos_train.pkl was '
                       'refused'):
        build(root)
    assert not (tmp_path / 'pwned').exists()


def test_few_points_repaired_and_logged(demo_root, tmp_path, mm_log):
    """A cloud with fewer than 2048 points is sampled with replacement and
    the repair is logged; the output still has 2048 points."""
    root = tmp_path / 'data'
    ann = _copy_root(demo_root, root)
    pts = root / 'points' / ann['data_list'][0]['lidar_points']['lidar_path']
    np.fromfile(pts, np.float32).reshape(-1, 6)[:500].tofile(pts)
    ds = build(root, pipeline=pretrain_pipeline(augment=False))
    out = ds[0]
    points = out['inputs']['points']
    assert points.shape == (2048, 6)
    assert len(torch.unique(points, dim=0)) == 500
    logged = ' '.join(mm_log)
    assert 'sample 0 (points: ' in logged and 'with replacement' in logged


def test_test_mode_rejects_skip(demo_root):
    with pytest.raises(ValueError, match='test_mode'):
        build(demo_root, skip_bad_samples=True, test_mode=True)


def test_image_is_bgr_like_mmcv(demo_root):
    ds = build(demo_root, pipeline=pretrain_pipeline(augment=False))
    out = ds[0]
    raw = mmcv.imread(ds.get_data_info(0)['img_path'])
    resized = mmcv.imresize(raw, (352, 256))
    np.testing.assert_array_equal(out['inputs']['img'].permute(1, 2, 0),
                                  resized)
