"""build_pipeline: the pre-training pipeline variants of the benchmarks and
the device-FPS config."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet3d.registry import DATASETS
from projects.pimae.pimae.datasets.transforms.pretrain_pipeline_variants \
    import build_pipeline
from projects.pimae.pimae.ops import quickfps_available
from ..conftest import pretrain_pipeline


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_variants_of_the_config_pipeline():
    base = Config.fromfile(
        'configs/_base_/datasets/sunrgbd_pretrain.py').train_pipeline
    types = _types(base)
    assert _types(build_pipeline('worker-fps', base)) == types
    device = build_pipeline('device-fps', base)
    assert _types(device) == [t for t in types if t != 'FurthestPointSample']
    loader = types.index('LoadImageFromFileWithDepth2Img')
    assert base[loader]['min_shape'] == (256, 352)
    full = build_pipeline('full-decode', base)
    assert _types(full) == types and 'min_shape' not in full[loader]
    upstream = build_pipeline('upstream-transforms', base)
    index = types.index('LoggedPointSample')
    assert upstream[index] == dict(type='PointSample', num_points=20000)
    assert upstream[loader] == dict(type='LoadImageFromFile',
                                    backend_args=None)
    points = types.index('LoadCheckedPointsFromFile')
    assert upstream[points]['type'] == 'LoadPointsFromFile'
    assert 'color_range' not in upstream[points]
    fps = types.index('FurthestPointSample')
    assert upstream[fps].get('backend', 'auto') == (
        'quickfps' if quickfps_available() else 'auto')
    assert _types(base) == types  # the input is not modified
    # the device-FPS config trains on the device-fps variant
    cfg = Config.fromfile(
        'configs/pimae/pimae_8xb16-accum2-400e_sunrgbd_device-fps.py')
    assert cfg.train_dataloader.dataset.pipeline == device
    assert cfg.model.data_preprocessor.fps_num_points == 2048


def test_bad_variant_or_pipeline():
    with pytest.raises(ValueError, match="unknown pipeline variant 'gpu'"):
        build_pipeline('gpu', pretrain_pipeline())
    no_fps = build_pipeline('device-fps', pretrain_pipeline())
    with pytest.raises(ValueError, match='exactly one FurthestPointSample'):
        build_pipeline('device-fps', no_fps)


def test_upstream_transforms_give_the_same_sample(demo_root):
    # the benchmark baseline samples the same points from the same state
    # (and, with the demo's odd image sides, decodes at full size too)
    def sample(variant):
        ds = DATASETS.build(
            dict(
                type='SUNRGBDPretrainDataset',
                data_root=str(demo_root),
                ann_file='sunrgbd_infos_train.pkl',
                pipeline=build_pipeline(variant,
                                        pretrain_pipeline(augment=False))))
        np.random.seed(2)
        return ds[0]

    ours, baseline = sample('worker-fps'), sample('upstream-transforms')
    assert torch.equal(ours['inputs']['points'],
                       baseline['inputs']['points'])
    assert torch.equal(ours['inputs']['img'], baseline['inputs']['img'])
