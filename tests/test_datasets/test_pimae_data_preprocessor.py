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


def _line_batch():
    # x positions 0, 1, 3, 7, 8 (cloud a) and reversed (cloud b), with a
    # feature column = the point's index; by hand, FPS from index 0 keeps
    # a: x 0, 8 (farthest), 3 (distances 3 / 1 / 1 to {0, 8})
    # b: x 8, 0, 3 -> indices 0, 4, 2 as well
    xs = torch.tensor([0., 1., 3., 7., 8.])
    cloud = torch.stack(
        [xs, torch.zeros(5),
         torch.zeros(5),
         torch.arange(5.)], dim=1)
    flipped = torch.stack(
        [xs.flip(0), torch.zeros(5),
         torch.zeros(5),
         torch.arange(5.)], dim=1)
    samples = [_sample(name='a'), _sample(name='b')]
    samples[0]['inputs']['points'] = cloud
    samples[1]['inputs']['points'] = flipped
    return pseudo_collate(samples)


@pytest.mark.parametrize('backend', ['auto', 'torch'])
def test_device_fps_hand_computed(backend):
    pre = MODELS.build(
        dict(
            type='PiMAEDataPreprocessor',
            fps_num_points=3,
            fps_backend=backend))
    batch = _line_batch()
    points = pre(batch)['inputs']['points']
    assert points.shape == (2, 3, 4)
    torch.testing.assert_close(points[0, :, 0], torch.tensor([0., 8., 3.]))
    torch.testing.assert_close(points[1, :, 0], torch.tensor([8., 0., 3.]))
    # whole rows are gathered (the feature column names the source row)
    torch.testing.assert_close(points[:, :, 3],
                               torch.tensor([[0., 4., 2.], [0., 4., 2.]]))


def test_device_fps_errors():
    with pytest.raises(ValueError, match='fps_num_points'):
        PiMAEDataPreprocessor(fps_num_points=0)
    with pytest.raises(ValueError, match='fps_backend'):
        PiMAEDataPreprocessor(fps_num_points=8, fps_backend='cuda')
    with pytest.raises(ValueError, match='5 points, fewer than '
                       'fps_num_points=8'):
        PiMAEDataPreprocessor(fps_num_points=8)(_line_batch())


def test_device_fps_equals_worker_fps(demo_root):
    # the same scenes through the pipeline with FPS in the worker and through
    # the pipeline without it + FPS in the preprocessor: the same batch
    from projects.pimae.pimae.datasets.transforms.pretrain_pipeline_variants \
        import build_pipeline
    worker = pretrain_pipeline(augment=False)

    def batch(variant):
        ds = DATASETS.build(
            dict(
                type='SUNRGBDPretrainDataset',
                data_root=str(demo_root),
                ann_file='sunrgbd_infos_train.pkl',
                pipeline=build_pipeline(variant, worker)))
        np.random.seed(11)
        return pseudo_collate([ds[0], ds[1]])

    worker_batch, device_batch = batch('worker-fps'), batch('device-fps')
    assert [len(p) for p in device_batch['inputs']['points']] == [20000] * 2
    ref = PiMAEDataPreprocessor(expected_img_shape=(256, 352))(worker_batch)
    out = PiMAEDataPreprocessor(
        expected_img_shape=(256, 352), fps_num_points=2048)(device_batch)
    assert torch.equal(out['inputs']['points'], ref['inputs']['points'])
    assert torch.equal(out['inputs']['imgs'], ref['inputs']['imgs'])
    for got, want in zip(out['data_samples'], ref['data_samples']):
        assert set(got.metainfo) == set(want.metainfo)
        for key, value in want.metainfo.items():
            np.testing.assert_array_equal(
                np.asarray(got.metainfo[key]), np.asarray(value), err_msg=key)
