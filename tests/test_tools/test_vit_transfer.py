"""Image-branch transfer: PiMAE -> mmpretrain ViT at another input size,
layer-wise lr decay, and fine-tune / linear probe through the tools."""
import glob
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..test_models._helpers import build_model
from .test_train import run_tool

ROOT = Path(__file__).resolve().parents[2]
VIT_CONFIGS = ROOT / 'configs' / 'vit'
FINETUNE = VIT_CONFIGS / 'vit-pimae_finetune_sunrgbd-crops.py'
LINEAR_PROBE = VIT_CONFIGS / 'vit-pimae_linear-probe_sunrgbd-crops.py'
FINETUNE_DEMO = VIT_CONFIGS / 'vit-pimae_finetune_sunrgbd-crops_demo.py'
LINEAR_PROBE_DEMO = VIT_CONFIGS / \
    'vit-pimae_linear-probe_sunrgbd-crops_demo.py'


def load_tool(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


to_vit = load_tool(ROOT / 'tools' / 'model_converters' /
                   'pimae_to_mmpretrain_vit.py')
demo = load_tool(ROOT / 'tools' / 'run_vit_transfer_demo.py')


def randomised_small_pimae():
    """A small PiMAE (64x96 images, 4x6 patches, width 32) with random
    weights, a non-zero modality embedding and its fixed sin-cos table."""
    model = build_model()
    torch.manual_seed(0)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point() and not name.endswith('pos_embed'):
                value.copy_(torch.randn_like(value) * .1)
    return model.eval()


def grid_resize(table, src, dst, mode):
    """(1, h * w, C) row-major table resized as an image (the oracle)."""
    grid = table.reshape(1, *src, -1).permute(0, 3, 1, 2)
    out = F.interpolate(grid, size=dst, mode=mode, align_corners=False)
    return out.flatten(2).transpose(1, 2)


def pimae_image_encoder(backbone, imgs, pos):
    """PiMAE's image-specific encoder on unmasked images, with ``pos`` in
    place of the tokenizer's table (+ modality embedding)."""
    x = backbone.img_tokenizer.patch_embed(imgs)[0] + pos
    for layer in backbone.img_encoder:
        x = layer(x)
    return x


def convert(tmp_path, source, *extra, name='vit.pth'):
    src = tmp_path / 'pimae.pth'
    if not src.exists():
        torch.save({'state_dict': source.state_dict()}, src)
    dst = tmp_path / name
    assert to_vit.main([str(src), str(dst), *extra]) == 0
    return torch.load(dst, weights_only=True)


def small_vit(img_size, cls=None, **kwargs):
    from mmpretrain.models import VisionTransformer
    model = (cls or VisionTransformer)(
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=2,
            feedforward_channels=128),
        img_size=img_size,
        patch_size=16,
        with_cls_token=False,
        final_norm=False,
        out_type='raw',
        **kwargs)
    model.eval()  # mmpretrain's ViT.train() returns None
    return model


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_converted_vit_at_another_size_equals_pimae(tmp_path, mode):
    from projects.pimae.pimae.models.backbones.pimae_vision_transformer \
        import PiMAEVisionTransformer
    source = randomised_small_pimae()
    backbone = source.backbone
    table = backbone.img_tokenizer.pos_embed + backbone.modality_img_embed
    assert to_vit.infer_grid_size(backbone.img_tokenizer.pos_embed) == (4, 6)

    ckpt = convert(tmp_path, source, '--img-size', '48', '64',
                   '--interpolate-mode', mode)
    assert ckpt['meta']['src_grid_size'] == [4, 6]
    assert ckpt['meta']['grid_size'] == [3, 4]
    pos = grid_resize(table, (4, 6), (3, 4), mode)
    torch.testing.assert_close(ckpt['state_dict']['pos_embed'][:, 1:], pos)
    # a plain mmpretrain ViT for 48x64 loads it as it is ...
    vit = small_vit((48, 64))
    vit.load_state_dict(ckpt['state_dict'], strict=True)
    imgs = torch.randn(2, 3, 48, 64)
    with torch.no_grad():
        expected = pimae_image_encoder(backbone, imgs, pos)
        torch.testing.assert_close(vit(imgs)[0], expected)
        # ... and PiMAEVisionTransformer resizes the 4x6 table on load
        unresized = convert(tmp_path, source, name='unresized.pth')
        ours = small_vit((48, 64),
                         PiMAEVisionTransformer,
                         pretrained_img_size=(64, 96),
                         interpolate_mode=mode)
        ours.load_state_dict(unresized['state_dict'], strict=True)
        torch.testing.assert_close(ours.pos_embed, vit.pos_embed)
        torch.testing.assert_close(ours(imgs)[0], expected)


def test_resize_to_the_source_size_is_the_identity(tmp_path):
    source = randomised_small_pimae()
    plain = convert(tmp_path, source, name='plain.pth')['state_dict']
    same = convert(
        tmp_path, source, '--img-size', '64', '96',
        name='same.pth')['state_dict']
    assert plain.keys() == same.keys()
    for key in plain:
        torch.testing.assert_close(same[key], plain[key], rtol=0, atol=0)
    # the oracle's own interpolation at the same size is the identity too
    table = plain['pos_embed'][:, 1:]
    torch.testing.assert_close(
        grid_resize(table, (4, 6), (4, 6), 'bicubic'), table)
    # and PiMAE's default 16x22 table is recognised
    from projects.pimae.pimae.models.utils.position_embedding import \
        build_2d_sincos_pos_embed
    assert to_vit.infer_grid_size(build_2d_sincos_pos_embed((16, 22),
                                                            256)) == (16, 22)
    with pytest.raises(ValueError, match='--src-img-size'):
        to_vit.infer_grid_size(torch.randn(1, 24, 32))


def test_checkpoint_without_image_branch_fails_naming_the_file(
        tmp_path, capsys):
    state = {
        k: v
        for k, v in randomised_small_pimae().state_dict().items()
        if not k.startswith(('backbone.img_', 'backbone.modality_img'))
    }
    path = tmp_path / 'points_only.pth'
    torch.save({'state_dict': state}, path)
    assert to_vit.main([str(path), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert f'{path} has no PiMAE image branch' in err
    assert 'backbone.img_tokenizer.patch_embed.projection.*' in err
    assert not (tmp_path / 'out.pth').exists()
    # a detector checkpoint: only backbone.encoder.* keys
    detector = tmp_path / 'threedetr.pth'
    torch.save(
        {
            'state_dict': {
                'backbone.encoder.layers.0.linear1.weight': torch.ones(2, 2)
            }
        }, detector)
    assert to_vit.main([str(detector), str(tmp_path / 'out.pth')]) == 1
    assert f'{detector} has no PiMAE image branch' in capsys.readouterr().err


def test_input_size_not_divisible_by_patch_size(tmp_path, capsys):
    source = randomised_small_pimae()
    torch.save({'state_dict': source.state_dict()}, tmp_path / 'pimae.pth')
    assert to_vit.main([
        str(tmp_path / 'pimae.pth'),
        str(tmp_path / 'out.pth'), '--img-size', '50', '64'
    ]) == 1
    err = capsys.readouterr().err
    assert 'img_size 50x64 is not divisible by the patch size 16' in err
    # the configs' model rejects it too (mmpretrain's ViT would pad)
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(FINETUNE))
    cfg.model.backbone.img_size = 120
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError) as error:
            MODELS.build(cfg.model)
    assert 'img_size 120x120 is not divisible by patch_size 16' in str(
        error.value)


def build_from_config(path, **backbone):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.update(backbone)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('decay', [0.75, 0.5])
def test_layer_decay_param_groups(decay):
    from mmengine.optim import build_optim_wrapper
    cfg, model = build_from_config(FINETUNE)
    cfg.optim_wrapper.paramwise_cfg.layer_decay_rate = decay
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    groups = {g['param_name']: g for g in wrapper.optimizer.param_groups}
    assert set(groups) == {n for n, _ in model.named_parameters()}
    # head and the fc norm after pooling: 1; block i of 3: decay^(3 - i);
    # patch embedding and position table: decay^4, the smallest
    expected = {
        'head.fc.weight': 1.,
        'backbone.ln2.weight': 1.,
        'backbone.layers.2.attn.qkv.weight': decay,
        'backbone.layers.1.ffn.layers.0.0.weight': decay**2,
        'backbone.layers.0.ln1.weight': decay**3,
        'backbone.patch_embed.projection.weight': decay**4,
        'backbone.pos_embed': decay**4,
    }
    for name, scale in expected.items():
        assert groups[name]['lr'] == pytest.approx(base_lr * scale), name
    assert min(g['lr']
               for g in groups.values()) == pytest.approx(base_lr * decay**4)
    for name, group in groups.items():
        no_decay = '.ln' in name or name.endswith('.bias') or \
            name.endswith('pos_embed')
        assert group['weight_decay'] == (0. if no_decay else 0.05), name
    assert groups['backbone.layers.0.attn.proj.weight']['weight_decay'] == \
        0.05


def test_linear_probe_config_trains_only_the_head():
    _, model = build_from_config(LINEAR_PROBE)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    assert type(model.neck).__name__ == 'ClsBatchNormNeck'


def test_demo_without_pimae_checkpoint_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as error:
        demo.main(['--work-dir', str(tmp_path / 'work')])
    assert 'run `bash tools/demo.sh` first' in str(error.value).lower()
    assert '--pimae-checkpoint' in str(error.value)
    with pytest.raises(SystemExit, match='not found: nope.pth'):
        demo.main(['--pimae-checkpoint', 'nope.pth'])
    assert not (tmp_path / 'data').exists()  # failed before generating


# ---------------------------------------------------------------------------
# end to end through tools/train.py and tools/test.py (subprocesses)


@pytest.fixture(scope='module')
def transfer_setup(tmp_path_factory):
    """Six 160x120 generated scenes and a converted default-size PiMAE."""
    from mmdet3d.registry import MODELS

    import projects.pimae.pimae  # noqa: F401
    from projects.pimae.pimae.data_generation import (
        SceneConfig, generate_dataset)
    root = tmp_path_factory.mktemp('vit_transfer')
    data = root / 'data'
    generate_dataset(
        str(data),
        6,
        seed=0,
        val_ratio=1 / 3,
        cfg=SceneConfig(width=160, height=120, num_points=3000))
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        torch.manual_seed(0)
        pimae = MODELS.build(cfg.model)
        pimae.init_weights()
    torch.save({'state_dict': pimae.state_dict()}, root / 'pimae.pth')
    assert to_vit.main([str(root / 'pimae.pth'), str(root / 'vit.pth')]) == 0
    return root, data, root / 'vit.pth'


def train_and_test(config, root, data, vit, name):
    work_dir = root / name
    options = [
        f'{loader}.dataset.{key}={value}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key, value in (('data_root', f'{data}/'), ('min_box_size', 4))
    ] + [
        f'model.backbone.init_cfg.checkpoint={vit}', 'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=8', 'default_hooks.checkpoint.interval=1'
    ]
    train_cmd = [
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(config), '--work-dir',
        str(work_dir), '--cfg-options', *options
    ]
    train = run_tool(train_cmd, cwd=root)
    assert train.returncode == 0, train.stderr[-3000:]
    log = train.stdout + train.stderr
    assert 'Resize the pos_embed from a 16x22 to a 8x8 patch grid' in log
    # PiMAE has no norm on the mean patch token: said once, not a warning
    assert 'The checkpoint has no ln2' in log
    assert 'missing keys in source state_dict' not in log
    checkpoint = work_dir / 'epoch_1.pth'
    test_cmd = [
        sys.executable,
        str(ROOT / 'tools' / 'test.py'),
        str(config),
        str(checkpoint), '--work-dir',
        str(work_dir / 'test'), '--cfg-options', *options
    ]
    test = run_tool(test_cmd, cwd=root)
    assert test.returncode == 0, test.stderr[-3000:]
    logs = glob.glob(str(work_dir / 'test' / '*' / '*.json'))
    assert len(logs) == 1
    metrics = json.loads(Path(logs[0]).read_text().splitlines()[-1])
    assert 0. <= metrics['accuracy/top1'] <= 100.
    return torch.load(checkpoint, map_location='cpu', weights_only=True)


def test_finetune_end_to_end(transfer_setup):
    root, data, vit = transfer_setup
    ckpt = train_and_test(FINETUNE_DEMO, root, data, vit, 'finetune')
    start = torch.load(vit, weights_only=True)['state_dict']
    state = ckpt['state_dict']
    # the encoder was trained, with weights that started from PiMAE's
    for key in ('layers.0.attn.qkv.weight', 'layers.2.ffn.layers.1.weight'):
        delta = (state[f'backbone.{key}'] - start[key]).abs().max()
        assert 0 < delta < 0.1, key


def test_linear_probe_end_to_end_keeps_the_encoder_frozen(transfer_setup):
    root, data, vit = transfer_setup
    ckpt = train_and_test(LINEAR_PROBE_DEMO, root, data, vit, 'linear_probe')
    start = torch.load(vit, weights_only=True)['state_dict']
    state = ckpt['state_dict']
    for key, value in start.items():
        if key == 'pos_embed':  # resized to 8x8 on load, then frozen
            value = grid_resize(value[:, 1:], (16, 22), (8, 8), 'bicubic')
            torch.testing.assert_close(state['backbone.pos_embed'], value)
        else:
            torch.testing.assert_close(
                state[f'backbone.{key}'], value, rtol=0, atol=0)
    torch.testing.assert_close(state['backbone.ln2.weight'], torch.ones(256))
    torch.testing.assert_close(state['backbone.ln2.bias'], torch.zeros(256))
    # only the head's two tensors got gradients (SGD momentum buffers)
    buffers = [
        s['momentum_buffer'] for s in ckpt['optimizer']['state'].values()
    ]
    assert sorted(tuple(b.shape) for b in buffers) == [(10, ), (10, 256)]
    assert all(b.abs().sum() > 0 for b in buffers)
