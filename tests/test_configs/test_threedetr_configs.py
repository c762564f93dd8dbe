"""The 3DETR configs: every model builds, and the real-format SUN RGB-D and
ScanNet samples go through the full-size config's pipeline and model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / 'configs' / 'threedetr').glob('*.py'))
SAMPLES = ROOT / 'tests' / 'data' / 'mmdet3d_samples'


def build_model(cfg):
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg.pop('init_cfg', None)  # no PiMAE checkpoint here
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return MODELS.build(model_cfg)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds(path):
    cfg = Config.fromfile(str(path))
    model = build_model(cfg)
    classes = cfg.train_dataloader.dataset.metainfo['classes']
    assert model.bbox_head.num_classes == len(classes)
    if 'pimae' in path.stem:
        # PiMAE's 3 point-specific + 3 shared layers
        assert cfg.model.init_cfg.type == 'PiMAEPretrained'
        assert model.backbone.num_encoder_layers == 6
    if 'scannet' in path.stem:
        assert model.bbox_head.num_queries == 256
        assert not model.bbox_head.bbox_coder.with_rot  # axis-aligned
    elif 'demo' not in path.stem:
        assert model.bbox_head.num_queries == 128
        assert model.bbox_head.bbox_coder.num_angle_bins == 12


@pytest.mark.parametrize('dataset, config, ann_file', [
    ('sunrgbd', 'threedetr_1xb8-1080e_sunrgbd-3d-10class.py',
     'sunrgbd_infos.pkl'),
    ('scannet', 'threedetr_1xb8-1080e_scannet-3d-18class.py',
     'scannet_infos.pkl'),
])
def test_real_format_sample_trains_with_the_full_config(
        dataset, config, ann_file):
    root = SAMPLES / dataset
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import DATASETS
    cfg = Config.fromfile(str(ROOT / 'configs' / 'threedetr' / config))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.update(data_root=str(root) + '/', ann_file=ann_file)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        data = DATASETS.build(dataset_cfg)
        sample = data[0]
    num_points = 20000 if dataset == 'sunrgbd' else 40000
    assert sample['inputs']['points'].shape == (num_points, 3)
    gt = sample['data_samples'].gt_instances_3d
    assert len(gt.bboxes_3d) > 0
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    model.train()
    from mmengine.dataset import pseudo_collate
    batch = model.data_preprocessor(pseudo_collate([sample]), True)
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # 8 decoder layers, each with its own losses
    assert sum(k.endswith('loss_cls') for k in losses) == 8
