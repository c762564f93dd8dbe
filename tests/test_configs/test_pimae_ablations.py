"""The paper's ablations as configs (``configs/pimae/ablations/``): each
changes only what its name says, builds, trains one iteration (at tiny
sizes) on data of its modalities only, and the point encoders still
transfer to 3DETR."""
import copy
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from ..test_models._helpers import make_batch

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / 'configs' / 'pimae' / 'pimae_8xb16-accum2-400e_sunrgbd.py'
ABLATIONS = ROOT / 'configs' / 'pimae' / 'ablations'
SAMPLES = ROOT / 'tests' / 'data' / 'mmdet3d_samples' / 'sunrgbd'
PAIRED = {'loss_pts', 'loss_img', 'loss_cross', 'mask_overlap'}
PAIRED_MODEL = dict(modalities=('points', 'images'))

#: ablation -> (the model keys it changes w.r.t. the base config, the
#: losses it trains with)
ABLATION_TABLE = {
    'image-mask-random': (set(), PAIRED),  # the released recipe itself
    'image-mask-uniform': ({'backbone.masker.image_mask_type'}, PAIRED),
    'image-mask-complement': ({'backbone.masker.image_mask_type'}, PAIRED),
    'no-cross-loss': ({'cross_head'}, PAIRED - {'loss_cross'}),
    'point-only': ({
        'backbone.modalities', 'backbone.img_tokenizer',
        'backbone.img_encoder', 'neck.modalities', 'img_head', 'cross_head'
    }, {'loss_pts'}),
    'image-only': ({
        'backbone.modalities', 'backbone.pts_tokenizer',
        'backbone.pts_encoder', 'neck.modalities', 'pts_head', 'cross_head'
    }, {'loss_img'}),
    'shared-enc-0': ({
        'backbone.img_encoder.num_layers', 'backbone.pts_encoder.num_layers',
        'backbone.shared_encoder.num_layers'
    }, PAIRED),
    'shared-enc-1': ({
        'backbone.img_encoder.num_layers', 'backbone.pts_encoder.num_layers',
        'backbone.shared_encoder.num_layers'
    }, PAIRED),
    'shared-enc-3': (set(), PAIRED),  # the released 3 + 3 split
}

#: tiny sizes, merged into each config's model where it has the part
TINY = dict(
    data_preprocessor=dict(expected_img_shape=(64, 96)),
    backbone=dict(
        embed_dims=32,
        pts_tokenizer=dict(
            num_groups=16,
            group_size=8,
            embed_dims=32,
            pointnet_channels=(16, 32, 64),
            pos_hidden_dims=16),
        img_tokenizer=dict(img_size=(64, 96), embed_dims=32),
        img_encoder=dict(num_heads=2),
        pts_encoder=dict(
            layer_cfg=dict(embed_dims=32, num_heads=2,
                           feedforward_channels=16)),
        shared_encoder=dict(
            layer_cfg=dict(embed_dims=32, num_heads=2,
                           feedforward_channels=16))),
    neck=dict(
        in_channels=32,
        embed_dims=24,
        grid_size=(4, 6),
        joint_num_heads=2,
        img_num_heads=2,
        pts_num_heads=2,
        pos_hidden_dims=16),
    pts_head=dict(in_channels=24, group_size=8),
    cross_head=dict(in_channels=24, feat_channels=24, group_size=8))


def config_path(name):
    return ABLATIONS / f'pimae_8xb16-accum2-400e_{name}_sunrgbd.py'


def changed_keys(base, other, prefix=''):
    """The dotted keys where two config dicts differ."""
    if not (isinstance(base, dict) and isinstance(other, dict)):
        return set() if base == other else {prefix.rstrip('.')}
    keys = set()
    for key in set(base) | set(other):
        keys |= changed_keys(
            base.get(key), other.get(key), f'{prefix}{key}.')
    return keys


def tiny(model_cfg):
    """The model config at tiny sizes; parts set to None stay absent and
    layer counts stay the config's."""
    cfg = copy.deepcopy(model_cfg)

    def merge(dst, src):
        for key, value in src.items():
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value)
            elif key in dst and dst[key] is not None:
                dst[key] = value

    merge(cfg, TINY)
    return cfg


def build(model_cfg):
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(model_cfg)
        model.init_weights()
    return model


def raw_batch(modalities):
    """A batch as the dataloader gives it, with the modalities' inputs only
    (and ``depth2img`` only for paired data)."""
    from mmdet3d.structures import Det3DDataSample
    inputs, samples = make_batch()
    data_inputs = {}
    if 'points' in modalities:
        data_inputs['points'] = list(inputs['points'])
    if 'images' in modalities:
        generator = torch.Generator().manual_seed(0)
        data_inputs['img'] = [
            (torch.rand(3, 64, 96, generator=generator) * 255).to(torch.uint8)
            for _ in range(2)
        ]
    if len(modalities) < 2:
        samples = [Det3DDataSample(metainfo=dict(sample_idx=i))
                   for i in range(2)]
    return dict(inputs=data_inputs, data_samples=samples)


def test_the_table_lists_every_ablation_config():
    names = {
        p.stem[len('pimae_8xb16-accum2-400e_'):-len('_sunrgbd')]
        for p in ABLATIONS.glob('*.py')
    }
    assert names == set(ABLATION_TABLE)


@pytest.mark.parametrize('name', ABLATION_TABLE)
def test_ablation_changes_only_what_it_names(name):
    base, cfg = Config.fromfile(str(BASE)), Config.fromfile(
        str(config_path(name)))
    changed, _ = ABLATION_TABLE[name]
    assert changed_keys(base.model.to_dict(),
                        cfg.model.to_dict()) == changed
    # same schedule and data as the base config, but for the pipeline of
    # a single modality
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert cfg[key] == base[key], key
    if name.startswith('image-mask'):
        assert cfg.model.backbone.masker.image_mask_type == name.split('-')[-1]
    if name.startswith('shared-enc'):
        shared = int(name.split('-')[-1])
        backbone = cfg.model.backbone
        assert backbone.shared_encoder.num_layers == shared
        assert backbone.pts_encoder.num_layers == 6 - shared
        assert backbone.img_encoder.num_layers == 6 - shared


@pytest.mark.parametrize('name', ABLATION_TABLE)
def test_ablation_trains_one_iteration(name):
    from mmengine.optim import OptimWrapper
    cfg = Config.fromfile(str(config_path(name)))
    _, loss_keys = ABLATION_TABLE[name]
    torch.manual_seed(0)
    model = build(tiny(cfg.model.to_dict()))
    data = raw_batch(model.backbone.modalities)
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    assert set(losses) == loss_keys
    assert all(torch.isfinite(value) for value in losses.values())
    # every parameter takes part (DDP runs with find_unused_parameters off)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    if name == 'image-mask-uniform':  # 9 masked centres, 15 masked patches
        assert losses['mask_overlap'] == 1.0
    if name == 'image-mask-complement':  # ... and 9 visible ones
        assert losses['mask_overlap'] == 0.0
    model.zero_grad()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(
        data, OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3)))
    assert set(log_vars) == loss_keys | {'loss'}
    moved = [
        n for n, p in model.named_parameters()
        if not torch.equal(p.detach(), before[n])
    ]
    assert len(moved) == len(before)


@pytest.mark.parametrize('name, keys', [('point-only', {'points'}),
                                        ('image-only', {'img'})])
def test_single_modality_pipeline_loads_that_modality_only(name, keys):
    """The config's own dataset and pipeline (on the vendored SUN RGB-D
    sample) feed its model: no image (or no point) is ever loaded."""
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(str(config_path(name)))
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [step['type'] for step in pipeline]
    loads = {'LoadImageFromFile': 'img', 'LoadCheckedPointsFromFile':
             'points'}
    assert {loads[t] for t in types if t in loads} == keys
    assert not [t for t in types if 'Depth2Img' in t]
    for step in pipeline:  # tiny sizes
        if step['type'] == 'LoggedPointSample':
            step['num_points'] = 1000
        if step['type'] == 'FurthestPointSample':
            step['num_points'] = 128
        if step['type'] == 'mmcv.Resize':
            step['scale'] = (96, 64)
    dataset_cfg = dict(
        cfg.train_dataloader.dataset,
        data_root=f'{SAMPLES}/',
        ann_file='sunrgbd_infos.pkl',
        skip_bad_samples=False)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        dataset = DATASETS.build(dataset_cfg)
        data = pseudo_collate([dataset[0], dataset[0]])
    assert set(data['inputs']) == keys
    assert 'depth2img' not in data['data_samples'][0].metainfo
    torch.manual_seed(0)
    model = build(tiny(cfg.model.to_dict()))
    log_vars = model.train_step(
        data, OptimWrapper(torch.optim.AdamW(model.parameters())))
    assert set(log_vars) == ABLATION_TABLE[name][1] | {'loss'}
    assert torch.isfinite(log_vars['loss'])


def load_to_3detr():
    spec = importlib.util.spec_from_file_location(
        'pimae_to_3detr', ROOT / 'tools' / 'model_converters' /
        'pimae_to_3detr.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('config', [
    BASE,
    config_path('point-only'),
    config_path('shared-enc-0'),
    config_path('shared-enc-1')
],
                         ids=lambda p: p.stem)
def test_point_encoder_transfers_to_3detr(config, tmp_path):
    """The converter and PiMAEPretrained both stack the point-specific then
    the shared layers into the 6 layers of PiMAEPointBackbone (strict)."""
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = build(cfg.model.to_dict())
    state = model.state_dict()
    with torch.no_grad():  # far from any initialisation's values
        for value in state.values():
            if value.is_floating_point():
                value.copy_(torch.randn_like(value))
    path = tmp_path / 'pimae.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    # the oracle: specific layers, then shared ones, as target layers 0-5
    specific = cfg.model.backbone.pts_encoder.num_layers
    expected = {}
    for index in range(6):
        source = (f'backbone.pts_encoder.layers.{index}.'
                  if index < specific else
                  f'backbone.shared_encoder.layers.{index - specific}.')
        for key, value in state.items():
            if key.startswith(source):
                expected[f'encoder.layers.{index}.{key[len(source):]}'] = \
                    value
    assert len(expected) == 72  # 6 layers x 12 tensors

    def point_backbone(**kwargs):
        return build(
            dict(
                type='PiMAEPointBackbone',
                pre_encoder=dict(
                    type='PointNetSetAbstraction',
                    num_points=16,
                    radius=0.5,
                    num_samples=8,
                    mlp_channels=(32, 256)),
                **kwargs))

    to_3detr = load_to_3detr()
    converted = to_3detr.convert_to_3detr(to_3detr.load_pimae_state(path))
    backbone = point_backbone()
    backbone.encoder.load_state_dict(
        {k[len('encoder.'):]: v
         for k, v in converted.items()}, strict=True)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        initialised = point_backbone(
            init_cfg=dict(
                type='PiMAEPretrained',
                checkpoint=str(path),
                target_prefix='encoder.layers.'))
    for loaded in (backbone.state_dict(), initialised.state_dict()):
        for key, value in expected.items():
            assert torch.equal(loaded[key], value), key
