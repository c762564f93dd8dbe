"""Object crops of SUN RGB-D 2D boxes (mmpretrain dataset + CropObjectBox)."""
import logging
import pickle

import mmcv
import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS, TRANSFORMS

from projects.pimae.pimae.datasets import (CropObjectBox,
                                           SUNRGBDObjectCropDataset)
from projects.pimae.pimae.data_generation import CLASSES

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='CropObjectBox'),
    dict(type='PackInputs')
]


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build in mmpretrain's scope, as the configs/vit configs do."""
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
        type='SUNRGBDObjectCropDataset',
        data_root=str(root),
        ann_file=ann_file,
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def boxes_of(root, split='train'):
    with open(root / f'sunrgbd_infos_{split}.pkl', 'rb') as f:
        infos = pickle.load(f)
    return [(scene, inst) for scene in infos['data_list']
            for inst in scene['instances']]


def write_infos(path, data_list, metainfo=None):
    with open(path, 'wb') as f:
        pickle.dump(
            dict(metainfo=metainfo or {}, data_list=data_list), f, protocol=4)


def test_registered_in_mmpretrain():
    assert DATASETS.get('SUNRGBDObjectCropDataset') is \
        SUNRGBDObjectCropDataset
    assert issubclass(SUNRGBDObjectCropDataset, BaseDataset)
    assert TRANSFORMS.get('CropObjectBox') is CropObjectBox


def test_real_format_sample(samples_root):
    ds = build(samples_root, ann_file='sunrgbd_infos.pkl', context_ratio=0.)
    # the fixture's three boxes: bed, night_stand, dresser
    assert len(ds) == 3
    assert ds.CLASSES == tuple(CLASSES)
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [0, 7, 6]
    info = ds.get_data_info(1)
    assert info['img_path'].endswith('sunrgbd_trainval/image/000001.jpg')
    np.testing.assert_allclose(
        info['crop_bbox'], [572.5418, 275.6355, 670.91973, 328.81276],
        rtol=1e-6)
    out = ds[1]
    # floor / ceil of the box: columns 572..670, rows 275..328
    assert tuple(out['inputs'].shape) == (3, 329 - 275, 671 - 572)
    assert int(out['data_samples'].gt_label) == 7


def test_crops_are_the_box_pixels_with_context(demo_root):
    ratio = 0.2
    ds = build(demo_root, min_box_size=0, context_ratio=ratio)
    boxes = boxes_of(demo_root)
    assert len(ds) == len(boxes) > 0
    for i, (scene, inst) in enumerate(boxes):
        info = ds.get_data_info(i)
        assert info['gt_label'] == inst['bbox_label']
        assert info['img_path'].endswith(scene['images']['CAM0']['img_path'])
        width = scene['images']['CAM0']['width']
        height = scene['images']['CAM0']['height']
        x1, y1, x2, y2 = inst['bbox']
        pad_x, pad_y = ratio * (x2 - x1), ratio * (y2 - y1)
        expected = np.clip([x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y], 0,
                           [width, height, width, height])
        np.testing.assert_allclose(info['crop_bbox'], expected, rtol=1e-5)
        # the packed crop is exactly that window of the decoded image
        c1, r1 = np.floor(expected[:2]).astype(int)
        c2, r2 = np.ceil(expected[2:]).astype(int)
        img = mmcv.imread(info['img_path'])
        crop = ds[i]['inputs'].numpy().transpose(1, 2, 0)
        np.testing.assert_array_equal(crop, img[r1:r2, c1:c2])


def test_min_box_size_skips_and_logs(demo_root, info_log):
    sides = sorted(
        min(b[2] - b[0], b[3] - b[1])
        for b in (inst['bbox'] for _, inst in boxes_of(demo_root)))
    threshold = sides[len(sides) // 2]
    num_small = sum(side < threshold for side in sides)
    assert 0 < num_small < len(sides)
    ds = build(demo_root, min_box_size=threshold)
    assert len(ds) == len(sides) - num_small
    for i in range(len(ds)):
        box = ds.get_data_info(i)['bbox']
        assert min(box[2] - box[0], box[3] - box[1]) >= threshold
    log = '\n'.join(info_log)
    assert 'sunrgbd_infos_train.pkl' in log
    assert f'{len(ds)} object crops of {len(sides)} boxes' in log
    assert f'skipped {num_small} smaller than min_box_size={threshold:g} ' \
        'px' in log


def test_classes_subset_and_ignored_labels(demo_root, tmp_path):
    ds = build(demo_root, classes=['chair', 'table'], min_box_size=0)
    boxes = boxes_of(demo_root)
    wanted = [CLASSES.index('chair'), CLASSES.index('table')]
    expected = [
        wanted.index(inst['bbox_label']) for _, inst in boxes
        if inst['bbox_label'] in wanted
    ]
    assert [ds.get_data_info(i)['gt_label']
            for i in range(len(ds))] == expected
    # mmdet3d's converter labels classes outside the 10 with -1
    scene = dict(boxes[0][0])
    scene['instances'] = [
        dict(bbox=[0., 0., 50., 50.], bbox_label=-1),
        dict(bbox=[10., 10., 60., 70.], bbox_label=3)
    ]
    write_infos(
        tmp_path / 'infos.pkl', [scene],
        dict(categories={
            **{
                c: i
                for i, c in enumerate(CLASSES)
            }, 'lamp': -1
        }))
    ds = build(
        tmp_path,
        ann_file='infos.pkl',
        data_prefix=dict(img_path=str(demo_root / 'sunrgbd_trainval/image')))
    assert len(ds) == 1 and ds.get_data_info(0)['gt_label'] == 3


def test_clear_errors(demo_root, tmp_path):
    missing = tmp_path / 'sunrgbd_infos_val.pkl'
    with pytest.raises(FileNotFoundError, match='sunrgbd_infos_val.pkl'):
        build(tmp_path, ann_file='sunrgbd_infos_val.pkl')
    assert not missing.exists()
    scene = dict(boxes_of(demo_root)[0][0])
    scene['instances'] = []
    write_infos(tmp_path / 'empty.pkl', [scene, scene])
    with pytest.raises(
            ValueError,
            match=r'empty\.pkl has no object '
            r'instances at all \(2 scenes'):
        build(tmp_path, ann_file='empty.pkl')
    with pytest.raises(
            ValueError,
            match=r'sunrgbd_infos_train\.pkl: none '
            r'of its \d+ boxes is usable .*smaller than '
            r'min_box_size=10000 px'):
        build(demo_root, min_box_size=10000)
    scene['instances'] = [dict(bbox=[1., 2., 3.], bbox_label=0)]
    write_infos(tmp_path / 'bad.pkl', [scene])
    with pytest.raises(
            ValueError,
            match=r'bad\.pkl: data_list\[0\]\.'
            r'instances\[0\]\.bbox must be 4'):
        build(tmp_path, ann_file='bad.pkl')


def test_crop_object_box_clips_and_rejects():
    img = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    crop = CropObjectBox()
    out = crop(dict(img=img, crop_bbox=np.array([-5., 2.5, 7.2, 30.])))
    # floor(2.5) = 2, ceil(7.2) = 8, clipped to the 20 x 10 image
    np.testing.assert_array_equal(out['img'], img[2:10, 0:8])
    assert out['img_shape'] == (8, 8) and out['crop_offset'] == (0, 2)
    with pytest.raises(
            ValueError,
            match=r'a\.jpg: crop_bbox .* gives a '
            r'0x10 crop of the 20x10 image'):
        crop(dict(img=img, crop_bbox=[25., 0., 30., 10.], img_path='a.jpg'))
    with pytest.raises(ValueError, match='4 finite numbers'):
        crop(dict(img=img, crop_bbox=[0., 0., np.nan, 1.]))
