"""PiMAEDataPreprocessor: stacking, normalisation, errors naming samples."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmdet3d.registry import DATASETS, MODELS
from mmdet3d.structures import Det3DDataSample
from projects.pimae.pimae.models.data_preprocessors import \
    PiMAEDataPreprocessor
from .conftest import pretrain_pipeline


def _sample(num_points=2048, img_shape=(256, 352), name='a'):
    sample = Det3DDataSample()
    sample.set_metainfo(
        dict(
            lidar_path=f'points/{name}.bin',
            img_path=f'image/{name}.jpg',
            depth2img=np.eye(3)))
    img = torch.randint(0, 256, (3, *img_shape), dtype=torch.uint8)
    return dict(
        inputs=dict(points=torch.rand(num_points, 6), img=img),
        data_samples=sample)


def test_registered_and_defaults():
    pre = MODELS.build(dict(type='PiMAEDataPreprocessor'))
    assert isinstance(pre, PiMAEDataPreprocessor)
    np.testing.assert_allclose(pre.mean.flatten().numpy(),
                               [123.675, 116.28, 103.53])
    np.testing.assert_allclose(pre.std.flatten().numpy(),
                               [58.395, 57.12, 57.375])


def test_stack_and_normalise():
    pre = PiMAEDataPreprocessor()
    batch = pseudo_collate([_sample(name='a'), _sample(name='b')])
    out = pre(batch, training=True)
    points, imgs = out['inputs']['points'], out['inputs']['imgs']
    assert points.shape == (2, 2048, 6) and points.dtype == torch.float32
    torch.testing.assert_close(points[1], batch['inputs']['points'][1])
    assert imgs.shape == (2, 3, 256, 352) and imgs.dtype == torch.float32
    # BGR uint8 in, RGB ImageNet-normalised out
    raw = batch['inputs']['img'][0].float()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    torch.testing.assert_close(imgs[0], (raw.flip(0) - mean) / std)
    assert len(out['data_samples']) == 2
    assert out['data_samples'][0].metainfo['batch_input_shape'] == (256, 352)


def test_mismatched_points_named():
    pre = PiMAEDataPreprocessor()
    batch = pseudo_collate([_sample(name='a'), _sample(2000, name='odd')])
    with pytest.raises(ValueError, match=r'sample 1 \(points: points/odd.bin'):
        pre(batch)


def test_unexpected_image_shape_named():
    pre = PiMAEDataPreprocessor(expected_img_shape=(256, 352))
    batch = pseudo_collate([_sample(img_shape=(256, 350), name='small')])
    with pytest.raises(
            ValueError, match=r'sample 0 \(points: points/small.bin'):
        pre(batch)


def test_with_real_pipeline_batch(demo_root):
    ds = DATASETS.build(
        dict(
            type='SUNRGBDPretrainDataset',
            data_root=str(demo_root),
            ann_file='sunrgbd_infos_train.pkl',
            pipeline=pretrain_pipeline()))
    batch = pseudo_collate([ds[0], ds[1]])
    out = PiMAEDataPreprocessor(expected_img_shape=(256, 352))(batch)
    assert out['inputs']['points'].shape == (2, 2048, 6)
    assert out['inputs']['imgs'].shape == (2, 3, 256, 352)
    assert abs(float(out['inputs']['imgs'].mean())) < 2.
    meta = out['data_samples'][1].metainfo
    assert np.asarray(meta['depth2img']).shape == (3, 3)
