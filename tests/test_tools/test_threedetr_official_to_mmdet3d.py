"""Official 3DETR checkpoints -> this project's ThreeDETR: every key of the
original's state dict (3- and 6-layer encoders) is used, every tensor of the
model is filled, and the converted model predicts the boxes the original
predicts (its clockwise headings read counter-clockwise)."""
import argparse
import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
KEYS = json.loads((ROOT / 'tests' / 'data' /
                   'threedetr_official_state_dict.json').read_text())


def load_tool():
    path = ROOT / 'tools' / 'model_converters' / \
        'threedetr_official_to_mmdet3d.py'
    spec = importlib.util.spec_from_file_location('threedetr_official', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def official_entries(num_encoder_layers):
    """(key, shape, dtype) of the original state dict, in its order."""
    entries = [tuple(e) for e in KEYS['pre_encoder']]
    for i in range(num_encoder_layers):
        entries += [(f'encoder.layers.{i}.{k}', s, d)
                    for k, s, d in KEYS['encoder_layer']]
    head = [tuple(e) for e in KEYS['head']]
    split = next(i for i, e in enumerate(head) if e[0].startswith('decoder'))
    entries += head[:split]
    for i in range(KEYS['decoder_layers']):
        entries += [(f'decoder.layers.{i}.{k}', s, d)
                    for k, s, d in KEYS['decoder_layer']]
    return entries + head[split:]


def random_official_state(num_encoder_layers, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape, dtype in official_entries(num_encoder_layers):
        if dtype == 'int64':
            state[key] = torch.randint(0, 1000, shape, generator=generator)
        elif key.endswith('running_var'):
            state[key] = 0.5 + torch.rand(shape, generator=generator)
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.1
    return state


def save_official(path, state, prefix=''):
    """A checkpoint as 3DETR's save_checkpoint writes it."""
    torch.save(
        {
            'model': {
                prefix + k: v
                for k, v in state.items()
            },
            'optimizer': {},
            'epoch': 1079,
            'args': argparse.Namespace(enc_nlayers=3, dataset_name='sunrgbd'),
            'best_val_metrics': {
                0.25: {
                    'mAP': np.float64(0.58)
                }
            }
        }, path)


@pytest.mark.parametrize('num_layers', KEYS['encoder_layers'])
def test_vendored_key_list(num_layers):
    entries = official_entries(num_layers)
    assert len(entries) == KEYS['num_keys'][str(num_layers)]
    assert len({key for key, _, _ in entries}) == len(entries)


@pytest.mark.parametrize('num_layers', KEYS['encoder_layers'])
def test_every_key_used_and_every_model_tensor_filled(tmp_path, num_layers):
    state = random_official_state(num_layers)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    save_official(src, state, prefix='module.' if num_layers == 6 else '')
    assert tool.main([str(src), str(dst), '--strict']) == 0
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert len(converted) == len(state)  # one to one
    model = tool.build_target_model(None, tool.infer_model_options(state))
    assert model.backbone.num_encoder_layers == num_layers
    model_keys = set(model.state_dict())
    assert set(converted) == model_keys
    model.load_state_dict(converted, strict=True)
    # every tensor is the original's, renamed (angle heads re-indexed)
    renamed = {tool.map_key(k): v for k, v in state.items()}
    for key, value in model.state_dict().items():
        source = renamed[key]
        if key.startswith(tool.ANGLE_CLS) or key.startswith(tool.ANGLE_RES):
            assert value.shape == source.shape
            assert sorted(value.abs().flatten().tolist()) == sorted(
                source.abs().flatten().tolist())
        else:
            assert torch.equal(value, source), key


def test_config_option_and_report(tmp_path, capsys):
    state = random_official_state(6)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    save_official(src, state)
    config = ROOT / 'configs' / 'threedetr' / 'threedetr_pimae_sunrgbd.py'
    assert tool.main([str(src),
                      str(dst), '--config',
                      str(config), '--strict']) == 0
    # a 3-layer config does not take the 6-layer checkpoint
    config = ROOT / 'configs' / 'threedetr' / \
        'threedetr_1xb8-1080e_sunrgbd-3d-10class.py'
    assert tool.main([str(src),
                      str(dst), '--config',
                      str(config), '--strict']) == 1
    out = capsys.readouterr().out
    assert 'UNMATCHED source keys: 36' in out  # 3 layers x 12 tensors
    state['some.new_module.weight'] = torch.zeros(2)
    _, report = tool.convert_official(state)
    assert report['unmatched_source'] == ['some.new_module.weight']


def original_corners(center, size, heading):
    """Box corners as the original builds them: in the upright camera frame
    (x right, y down, z forward: (x, -z, y) of the depth frame), rotated
    about the camera's y axis by the clockwise heading; returned in the
    depth frame."""
    length, width, height = size
    c, s = math.cos(heading), math.sin(heading)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    local = np.array([
        [length / 2, length / 2, -length / 2, -length / 2] * 2,
        [height / 2] * 4 + [-height / 2] * 4,
        [width / 2, -width / 2, -width / 2, width / 2] * 2,
    ])
    centre_cam = np.array([center[0], -center[2], center[1]])
    cam = (rot @ local).T + centre_cam
    return np.stack([cam[:, 0], cam[:, 2], -cam[:, 1]], 1)


def same_corner_sets(a, b, atol=1e-4):
    dist = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return dist.min(1).max() < atol and dist.min(0).max() < atol


def box_outputs(model, seed=0):
    """The box MLPs and the box coder on random decoder outputs."""
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(1, 1, 128, 256, generator=generator)
    query_xyz = torch.rand(1, 128, 3, generator=generator) * 4
    with torch.no_grad():
        return model.bbox_head._predict_boxes(hidden, query_xyz,
                                              torch.zeros(1, 3),
                                              torch.full((1, 3), 4.))[-1]


@pytest.fixture(scope='module')
def two_models():
    """The converted model and the original network (the same modules with
    the original's weights renamed only: it predicts the original's
    clockwise headings)."""
    state = random_official_state(3, seed=1)
    generator = torch.Generator().manual_seed(5)
    # the original's scales where they matter for varied outputs
    state['pos_embedding.gauss_B'] = torch.randn(3, 128, generator=generator)
    for key, value in state.items():
        if re.search(r'(norm\d?|bn)\.weight$', key):
            state[key] = 1 + 0.1 * torch.randn(
                value.shape, generator=generator)
    options = tool.infer_model_options(state)
    converted = tool.build_target_model(None, options).eval()
    original = tool.build_target_model(None, options).eval()
    weights, _ = tool.convert_official(state)
    converted.load_state_dict(weights, strict=True)
    original.load_state_dict({
        tool.map_key(k): v
        for k, v in state.items()
    },
                             strict=True)
    return converted, original


def set_angle_heads(converted, original, state):
    """Load the original's last angle-head layers into both models."""
    weights, report = tool.convert_official(state)
    assert not report['unmatched_source']
    converted.load_state_dict(weights, strict=False)
    original.load_state_dict({
        tool.map_key(k): v
        for k, v in state.items()
    },
                             strict=False)


def assert_same_boxes(ours, theirs):
    from mmdet3d.structures import DepthInstance3DBoxes
    torch.testing.assert_close(ours['center'], theirs['center'])
    torch.testing.assert_close(ours['size'], theirs['size'])
    torch.testing.assert_close(ours['cls_logits'], theirs['cls_logits'])
    corners = DepthInstance3DBoxes(
        ours['bboxes'][0], origin=(0.5, 0.5, 0.5)).corners.numpy()
    for q in range(ours['bboxes'].shape[1]):
        expected = original_corners(theirs['center'][0, q].tolist(),
                                    theirs['size'][0, q].tolist(),
                                    float(theirs['yaw'][0, q]))
        assert same_corner_sets(corners[q], expected), q


@pytest.mark.parametrize('degrees', [0, 30, 90, -120])
def test_boxes_at_given_headings(two_models, degrees):
    converted, original = two_models
    # make the original predict this heading for every query: constant
    # angle heads (bin b, residual r with heading = b * 30 + r * 15 deg);
    # -120 deg is bin 8 (240 deg)
    heading = math.radians(degrees) % (2 * math.pi)
    bin_index = int(round(heading / (2 * math.pi / 12))) % 12
    residual = (heading - bin_index * 2 * math.pi / 12) / (math.pi / 12)
    cls_b = torch.zeros(12)
    cls_b[bin_index] = 10.
    res_b = torch.randn(12) * 0.5
    res_b[bin_index] = residual
    set_angle_heads(
        converted, original, {
            'mlp_heads.angle_cls_head.layers.8.weight':
            torch.zeros(12, 256, 1),
            'mlp_heads.angle_cls_head.layers.8.bias':
            cls_b,
            'mlp_heads.angle_residual_head.layers.8.weight':
            torch.zeros(12, 256, 1),
            'mlp_heads.angle_residual_head.layers.8.bias':
            res_b,
        })
    ours, theirs = box_outputs(converted), box_outputs(original)
    assert_same_boxes(ours, theirs)
    # the original's heading, and the same box read counter-clockwise
    expected = math.atan2(math.sin(heading), math.cos(heading))
    torch.testing.assert_close(theirs['yaw'],
                               torch.full_like(theirs['yaw'], expected))
    yaw = ours['yaw']
    torch.testing.assert_close(
        yaw.sin(), torch.full_like(yaw, -math.sin(heading)), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        yaw.cos(), torch.full_like(yaw, math.cos(heading)), atol=1e-5, rtol=0)


def test_boxes_with_random_angle_heads(two_models):
    """Random last angle layers: many bins and residuals of both signs
    across the queries, the same corners."""
    converted, original = two_models
    generator = torch.Generator().manual_seed(2)
    state = {}
    for head in ('angle_cls_head', 'angle_residual_head'):
        prefix = f'mlp_heads.{head}.layers.'
        # hidden layers: 1x1 convs with unit-variance outputs, BN identity
        for conv, norm in (('0', '1'), ('4', '5')):
            state[f'{prefix}{conv}.weight'] = torch.randn(
                256, 256, 1, generator=generator) / 16
            state.update({
                f'{prefix}{norm}.weight': torch.ones(256),
                f'{prefix}{norm}.bias': torch.zeros(256),
                f'{prefix}{norm}.running_mean': torch.zeros(256),
                f'{prefix}{norm}.running_var': torch.ones(256),
            })
        state[f'{prefix}8.weight'] = torch.randn(
            12, 256, 1, generator=generator) / 8
        state[f'{prefix}8.bias'] = torch.randn(12, generator=generator) * .1
    set_angle_heads(converted, original, state)
    ours, theirs = box_outputs(converted), box_outputs(original)
    assert_same_boxes(ours, theirs)
    bins = theirs['angle_logits'][0].argmax(-1)
    assert len(set(bins.tolist())) > 6
    residuals = theirs['angle_residual_normalized'][0].gather(1, bins[:, None])
    assert (residuals > 0).any() and (residuals < 0).any()


def test_one_angle_bin_is_unchanged():
    bias = torch.randn(1)
    assert torch.equal(
        tool.clockwise_to_counter_clockwise(bias, negate=False), bias)
    order = tool.clockwise_to_counter_clockwise(
        torch.arange(12.), negate=False)
    assert order.tolist() == [0, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_bad_checkpoint(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'model': {'a': 1}}, path)
    with pytest.raises(ValueError, match='no state dict'):
        tool.extract_state_dict(tool.load_checkpoint_file(str(path)))
