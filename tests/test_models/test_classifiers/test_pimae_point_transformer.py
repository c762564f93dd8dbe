"""PiMAEPointTransformer: PiMAE's point branch, frozen, loaded strictly
from a PiMAE checkpoint, pooled."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from projects.pimae.pimae.utils.checkpoint import CheckpointError
from ._probe_helpers import (build_probe, random_clouds, randomised_pimae,
                             save_checkpoint)

ROOT = Path(__file__).resolve().parents[3]
PROBE_CONFIG = ROOT / 'configs' / 'point_probe' / \
    'pimae-point_linear-probe_sunrgbd-objects.py'


def manual_point_tokens(pimae, points, with_cls_token):
    """The oracle: PiMAE's point branch run by hand, layer by layer."""
    encoder = pimae.backbone
    tokenizer = encoder.pts_tokenizer
    neighborhood, center = tokenizer.group(points)
    x = tokenizer.embed_groups(neighborhood) + tokenizer.embed_pos(center) \
        + encoder.modality_pts_embed
    for layer in encoder.pts_encoder.layers:
        x = layer(x)
    if with_cls_token:
        x = torch.cat([encoder.cls_token.expand(len(x), -1, -1), x], dim=1)
    for layer in encoder.shared_encoder.layers:
        x = layer(x)
    return x[:, 1:] if with_cls_token else x


@pytest.mark.parametrize('with_cls_token', [True, False])
def test_features_are_the_pimae_encoders_output(tmp_path, with_cls_token):
    pimae = randomised_pimae()
    ckpt = save_checkpoint(pimae, tmp_path / 'pimae.pth')
    probe = build_probe(ckpt, with_cls_token=with_cls_token)
    probe.train()  # the frozen backbone must stay in eval mode
    assert not probe.backbone.training and probe.head.training
    points = random_clouds()
    with torch.no_grad():
        tokens = manual_point_tokens(pimae, points, with_cls_token)
        expected = torch.cat([tokens.max(dim=1)[0], tokens.mean(dim=1)], -1)
        torch.testing.assert_close(
            probe.backbone.forward_tokens(points), tokens)
    feat, = probe.extract_feat(points, stage='backbone')
    assert feat.shape == (4, 64) and not feat.requires_grad
    torch.testing.assert_close(feat, expected)
    # the pre-training cls token reaches the features when it is used
    assert tokens.shape == (4, 16, 32)


@pytest.mark.parametrize('pool', ['max', 'mean'])
def test_single_poolings(tmp_path, pool):
    pimae = randomised_pimae()
    probe = build_probe(
        save_checkpoint(pimae, tmp_path / 'pimae.pth'), pool=pool)
    points = random_clouds(batch_size=2)
    with torch.no_grad():
        tokens = manual_point_tokens(pimae, points, True)
    expected = tokens.max(dim=1)[0] if pool == 'max' else tokens.mean(dim=1)
    assert probe.backbone.out_channels == 32
    torch.testing.assert_close(probe.backbone(points)[0], expected)


def test_loads_every_tensor_of_the_pimae_point_branch(tmp_path):
    pimae = randomised_pimae()
    probe = build_probe(save_checkpoint(pimae, tmp_path / 'pimae.pth'))
    source = pimae.state_dict()
    state = probe.state_dict()
    backbone_keys = {k for k in state if k.startswith('backbone.')}
    point_branch = {
        k
        for k in source
        if re.match(r'backbone\.(pts_tokenizer|pts_encoder|shared_encoder)\.',
                    k) or k in ('backbone.modality_pts_embed',
                                'backbone.cls_token')
    }
    assert backbone_keys == point_branch
    for key in backbone_keys:
        torch.testing.assert_close(state[key], source[key], rtol=0, atol=0)


def test_config_model_has_the_keys_of_the_pimae_config():
    """The full-size probe config against configs/_base_/models/pimae.py:
    same keys and shapes, so a pre-trained PiMAE loads strictly."""
    import projects.pimae.pimae  # noqa: F401
    from mmdet3d.registry import MODELS as MMDET3D_MODELS
    from mmpretrain.registry import MODELS
    probe_cfg = Config.fromfile(str(PROBE_CONFIG))
    probe_cfg.model.backbone.init_cfg = None
    pimae_cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        probe = MODELS.build(probe_cfg.model)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        pimae = MMDET3D_MODELS.build(pimae_cfg.model)
    source = pimae.state_dict()
    probe_state = {
        k: v
        for k, v in probe.state_dict().items() if k.startswith('backbone.')
    }
    assert len(probe_state) == 96
    for key, value in probe_state.items():
        assert key in source, key
        assert source[key].shape == value.shape, key
    trainable = {n for n, p in probe.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    assert type(probe.neck).__name__ == 'ClsBatchNormNeck'
    assert not probe.neck.bn.affine


def test_checkpoint_missing_a_tensor_fails_naming_file_and_key(tmp_path):
    state = randomised_pimae().state_dict()
    del state['backbone.shared_encoder.layers.0.linear1.weight']
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointError) as error:
        build_probe(str(path))
    message = str(error.value)
    assert str(path) in message
    assert 'missing in the checkpoint: 1 in shared_encoder.layers.* (1)' \
        in message


def test_checkpoint_of_other_sizes_fails(tmp_path):
    state = randomised_pimae().state_dict()
    state['backbone.modality_pts_embed'] = torch.zeros(1, 1, 48)
    path = tmp_path / 'wide.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointError,
                       match=r'shape mismatches: 1 .*modality_pts_embed'):
        build_probe(str(path))
    # a checkpoint of another model altogether (a 3DETR encoder)
    other = tmp_path / 'threedetr.pth'
    torch.save({'state_dict': {'backbone.encoder.layers.0.linear1.weight':
                               torch.ones(2, 2)}}, other)
    with pytest.raises(CheckpointError, match='0 of 48 model tensors'):
        build_probe(str(other))


def test_random_init_is_pimaes_initialisation():
    torch.manual_seed(0)
    probe = build_probe()
    backbone = probe.backbone
    assert torch.count_nonzero(backbone.modality_pts_embed) == 0
    assert torch.count_nonzero(backbone.cls_token) == 0
    # truncated normal, std 0.02, zero bias (init_pimae_weights)
    conv = backbone.pts_tokenizer.first_conv[0]
    assert 0.01 < conv.weight.std() < 0.03
    assert torch.count_nonzero(conv.bias) == 0
    linear = backbone.pts_encoder.layers[0].linear1
    assert 0.01 < linear.weight.std() < 0.03


def test_bad_arguments():
    with pytest.raises(ValueError, match="pool must be one of"):
        build_probe(pool='sum')
    with pytest.raises(ValueError, match=r"init_cfg must be None"):
        build_probe(init_cfg=dict(type='Kaiming'))
    with pytest.raises(ValueError, match='embed_dims=48'):
        build_probe(embed_dims=48)
