"""Checkpoint converters: official PiMAE <-> ours, -> 3DETR, -> mmpretrain."""
import importlib.util
from pathlib import Path

import pytest
import torch

from ..test_models._helpers import build_model, make_batch

ROOT = Path(__file__).resolve().parents[2]
CONVERTERS = ROOT / 'tools' / 'model_converters'
PRETRAIN_CONFIGS = sorted((ROOT / 'configs' / 'pimae').glob('*.py'))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  CONVERTERS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


official = load_tool('pimae_official_to_mmdet3d')
to_3detr = load_tool('pimae_to_3detr')
to_vit = load_tool('pimae_to_mmpretrain_vit')

#: parameters of the original that are unused by its forward pass
UNUSED_ORIGINALS = {
    'img_branch.cls_token': (1, 1, 32),
    'img_branch.norm.weight': (32, ),
    'img_branch.norm.bias': (32, ),
    'norm.weight': (32, ),
    'norm.bias': (32, ),
    'pc_branch.MAE_encoder.norm.weight': (32, ),
    'pc_branch.MAE_encoder.norm.bias': (32, ),
}


def randomised(model):
    """Give every tensor a distinct random value (BN stats included)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key.endswith('running_var'):
                value.copy_(torch.rand_like(value) + .5)
            elif value.is_floating_point():
                value.copy_(torch.randn_like(value) * .1)
    return model


def official_checkpoint(model, prefix='module.', container='base_model'):
    state = official.to_official(model.state_dict())
    state = {prefix + k: v.clone() for k, v in state.items()}
    for key, shape in UNUSED_ORIGINALS.items():
        state[prefix + key] = torch.randn(shape)
    return {container: state, 'epoch': 3} if container else state


def test_key_map_covers_the_default_model_and_the_module_tree():
    model = build_model()
    names = official.to_official(model.state_dict())
    # official names from the module tree
    for key in ('pc_branch.MAE_encoder.encoder.first_conv.1.running_var',
                'pc_branch.MAE_encoder.blocks.layers.0.self_attn.'
                'in_proj_weight', 'pc_branch.MAE_decoder.blocks.1.mlp.fc2.'
                'weight', 'pc_branch.increase_dim.0.weight',
                'img_branch.patch_embed.proj.weight',
                'img_branch.blocks.0.attn.qkv.bias',
                'img_branch.decoder_blocks.0.norm2.weight',
                'increase_dim_feat.0.bias', 'blocks.layers.0.linear2.bias',
                'decoder_blocks.0.mlp.fc1.weight', 'decoder_norm.weight',
                'img_branch.pos_embed', 'modality_pc_embedding'):
        assert key in names, key
    assert len(set(names)) == len(model.state_dict())


@pytest.mark.parametrize('prefix,container', [('module.', 'base_model'),
                                              ('', 'model'), ('', None)])
def test_round_trip(tmp_path, prefix, container):
    source = randomised(build_model())
    path = tmp_path / 'official.pth'
    torch.save(official_checkpoint(source, prefix, container), path)
    state = official.extract_state_dict(official.load_checkpoint_file(path))
    target = {k: v.shape for k, v in source.state_dict().items()}
    converted, report = official.convert_official(state, target)
    assert sorted(report['dropped']) == sorted(UNUSED_ORIGINALS)
    assert report['unmatched_source'] == []
    assert report['missing_target'] == []
    assert report['shape_mismatch'] == []
    for key, value in source.state_dict().items():
        torch.testing.assert_close(converted[key], value, rtol=0, atol=0)


def test_cli_and_loss_equality(tmp_path, capsys):
    source = randomised(build_model())
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    torch.save(official_checkpoint(source), src)
    # a small config file for the target model
    from ..test_models._helpers import small_model_cfg
    config = tmp_path / 'small.py'
    config.write_text(f'model = {small_model_cfg()!r}\n')
    assert official.main(
        [str(src), str(dst), '--config',
         str(config), '--strict']) == 0
    out = capsys.readouterr().out
    assert 'dropped as expected (unused by the original): 7' in out
    assert 'UNMATCHED source keys: 0' in out
    target = build_model()
    checkpoint = torch.load(dst, weights_only=True)
    target.load_state_dict(checkpoint['state_dict'], strict=True)
    inputs, samples = make_batch()
    source.eval(), target.eval()
    results = []
    for model in (source, target):
        torch.manual_seed(5)
        results.append(model.loss(inputs, samples))
    for key in results[0]:
        torch.testing.assert_close(results[0][key], results[1][key])


@pytest.mark.parametrize('config', PRETRAIN_CONFIGS, ids=lambda p: p.stem)
def test_cli_with_every_pretraining_config(tmp_path, capsys, config):
    """``--config`` builds the model in mmdet3d's scope (its data
    preprocessor is an mmdet3d-registry module) and the conversion is
    complete for it."""
    model = official.build_target_model(str(config))
    assert type(model.data_preprocessor).__name__ == 'PiMAEDataPreprocessor'
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    state = {
        k: v.clone()
        for k, v in official.to_official(model.state_dict()).items()
    }
    for key, shape in UNUSED_ORIGINALS.items():
        state[key] = torch.randn(shape)
    torch.save({'base_model': state}, src)
    assert official.main(
        [str(src), str(dst), '--config',
         str(config), '--strict']) == 0
    out = capsys.readouterr().out
    assert 'UNMATCHED source keys: 0' in out
    assert 'MISSING in the converted state (model keys): 0' in out
    converted = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(converted, strict=True)


def test_unknown_keys_are_reported(tmp_path):
    source = build_model()
    state = official.to_official(source.state_dict())
    state['img_branch.some_new_head.weight'] = torch.zeros(2)
    del state['cls_token']
    target = {k: v.shape for k, v in source.state_dict().items()}
    _, report = official.convert_official(state, target)
    assert report['unmatched_source'] == ['img_branch.some_new_head.weight']
    assert report['missing_target'] == ['backbone.cls_token']
    text = official.format_report(report)
    assert 'UNMATCHED source keys: 1' in text


def test_bad_checkpoint(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'base_model': {'a': 1}}, path)
    with pytest.raises(ValueError, match='no state dict'):
        official.extract_state_dict(official.load_checkpoint_file(path))


def test_to_3detr(tmp_path):
    from projects.pimae.pimae.models.layers import DETRStyleEncoder
    source = randomised(
        build_model(
            backbone=dict(
                pts_encoder=dict(num_layers=2),
                shared_encoder=dict(num_layers=3))))
    path, dst = tmp_path / 'ours.pth', tmp_path / '3detr.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    assert to_3detr.main([str(path), str(dst)]) == 0
    state = torch.load(dst, weights_only=True)['state_dict']
    assert len(state) == 5 * 12
    encoder = DETRStyleEncoder(
        num_layers=5,
        layer_cfg=dict(embed_dims=32, num_heads=2, feedforward_channels=16))
    encoder.load_state_dict({
        k[len('encoder.'):]: v
        for k, v in state.items()
    },
                            strict=True)
    encoder.eval()
    # same function as the two PiMAE encoders in sequence
    x = torch.randn(2, 7, 32)
    backbone = source.backbone.eval()
    expected = backbone.shared_encoder(backbone.pts_encoder(x))
    torch.testing.assert_close(encoder(x), expected)
    # official checkpoints are accepted too
    torch.save(official_checkpoint(source), path)
    assert to_3detr.main(
        [str(path),
         str(dst), '--prefix', 'backbone.encoder.layers.']) == 0
    state2 = torch.load(dst, weights_only=True)['state_dict']
    torch.testing.assert_close(
        state2['backbone.encoder.layers.4.linear1.weight'],
        state['encoder.layers.4.linear1.weight'])


@pytest.mark.parametrize('cls_slot', [True, False])
def test_to_mmpretrain_vit(tmp_path, cls_slot):
    from mmpretrain.models import VisionTransformer
    source = randomised(build_model())
    path, dst = tmp_path / 'ours.pth', tmp_path / 'vit.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    args = [str(path), str(dst)] + ([] if cls_slot else ['--no-cls-slot'])
    assert to_vit.main(args) == 0
    state = torch.load(dst, weights_only=True)['state_dict']
    vit = VisionTransformer(
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=2,
            feedforward_channels=128),
        img_size=(64, 96),
        patch_size=16,
        with_cls_token=False,
        final_norm=False,
        out_type='raw')
    vit.load_state_dict(state, strict=True)
    vit.eval()
    backbone = source.backbone.eval()
    imgs = torch.randn(2, 3, 64, 96)
    x = backbone.img_tokenizer(imgs) + backbone.modality_img_embed
    for layer in backbone.img_encoder:
        x = layer(x)
    torch.testing.assert_close(vit(imgs)[0], x)
