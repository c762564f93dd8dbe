"""PiMAEPretrained: PiMAE's 3 point-specific + 3 shared layers -> 3DETR."""
import importlib.util
from pathlib import Path

import pytest
import torch

from .._helpers import build_model
from ..test_detectors.test_threedetr import build as build_detector

TOOLS = Path(__file__).resolve().parents[3] / 'tools' / 'model_converters'


def official_tool():
    spec = importlib.util.spec_from_file_location(
        'pimae_official_to_mmdet3d', TOOLS / 'pimae_official_to_mmdet3d.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pimae_state():
    """A small PiMAE (2 point-specific + 1 shared layer of width 32, FFN
    16) with random weights, as a state dict."""
    model = build_model(
        backbone=dict(
            pts_encoder=dict(num_layers=2), shared_encoder=dict(num_layers=1)))
    torch.manual_seed(1)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.randn_like(value))
    return model.state_dict()


def detector(num_layers=3, checkpoint=None, **init):
    overrides = {'backbone.encoder.num_layers': num_layers}
    if checkpoint is not None:
        overrides['init_cfg'] = dict(
            type='PiMAEPretrained', checkpoint=str(checkpoint), **init)
    torch.manual_seed(0)  # the same initialisation for every call
    return build_detector(**overrides)


def check_transfer(model, state, prefix=''):
    layers = [
        f'{prefix}backbone.pts_encoder.layers.0.',
        f'{prefix}backbone.pts_encoder.layers.1.',
        f'{prefix}backbone.shared_encoder.layers.0.'
    ]
    target = model.state_dict()
    transferred = 0
    for index, source_prefix in enumerate(layers):
        keys = [k for k in state if k.startswith(source_prefix)]
        assert len(keys) == 12  # attention, two linears, two norms
        for key in keys:
            suffix = key[len(source_prefix):]
            torch.testing.assert_close(
                target[f'backbone.encoder.layers.{index}.{suffix}'],
                state[key],
                rtol=0,
                atol=0)
            transferred += 1
    return transferred


@pytest.mark.parametrize('container', ['state_dict', None])
def test_every_encoder_tensor_is_transferred_and_nothing_else(
        tmp_path, container):
    state = pimae_state()
    path = tmp_path / 'pimae.pth'
    torch.save({container: state, 'meta': {}} if container else state, path)
    scratch = detector()
    model = detector(checkpoint=path)
    assert check_transfer(model, state) == 36
    # nothing outside the encoder layers changed: the rest is the detector's
    # own initialisation (same seed as the scratch model)
    for key, value in scratch.state_dict().items():
        if not key.startswith('backbone.encoder.layers.'):
            torch.testing.assert_close(
                model.state_dict()[key], value, rtol=0, atol=0)
    from mmdet3d.registry import WEIGHT_INITIALIZERS
    init = WEIGHT_INITIALIZERS.build(
        dict(type='PiMAEPretrained', checkpoint=str(path)))
    init(scratch)
    report = init.report
    assert report['layout'] == 'pimae'
    assert len(report['transferred']) == 36
    assert not report['unmatched_source'] and not report['missing_target']
    assert not report['shape_mismatch']
    # every other source key is listed as not transferred, none silently lost
    used = {source for source, _ in report['transferred']}
    assert set(report['not_transferred']) == set(state) - used
    assert any(
        k.startswith('backbone.pts_tokenizer')
        for k in report['not_transferred'])


def test_official_checkpoint_with_module_prefix(tmp_path):
    state = pimae_state()
    official = official_tool().to_official(state)
    path = tmp_path / 'official.pth'
    torch.save({'base_model': {
        'module.' + k: v
        for k, v in official.items()
    }}, path)
    model = detector(checkpoint=path)
    assert check_transfer(model, state) == 36


def test_the_converted_3detr_encoder_loads_too(tmp_path):
    spec = importlib.util.spec_from_file_location('pimae_to_3detr',
                                                  TOOLS / 'pimae_to_3detr.py')
    import sys
    sys.path.insert(0, str(TOOLS))
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(TOOLS))
    state = pimae_state()
    converted = module.convert_to_3detr(state)
    path = tmp_path / 'encoder.pth'
    torch.save(dict(converted), path)
    model = detector(checkpoint=path)
    assert check_transfer(model, state) == 36


def test_layer_count_mismatch_is_an_error_naming_the_tensors(tmp_path):
    state = pimae_state()
    path = tmp_path / 'pimae.pth'
    torch.save(state, path)
    with pytest.raises(ValueError, match='MISSING target tensors: 12'):
        detector(num_layers=4, checkpoint=path)
    with pytest.raises(ValueError, match='UNMATCHED source encoder'):
        detector(num_layers=2, checkpoint=path)
    # non-strict: the first layers load, the extra one keeps its init
    model = detector(num_layers=4, checkpoint=path, strict=False)
    assert check_transfer(model, state) == 36


def test_missing_or_unsafe_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='PiMAE checkpoint not found'):
        detector(checkpoint=tmp_path / 'nope.pth')
    path = tmp_path / 'pickled.pth'
    torch.save({'state_dict': {'x': torch.zeros(1)}, 'obj': object()}, path)
    with pytest.raises(ValueError, match='weights_only=True'):
        detector(checkpoint=path)
    path = tmp_path / 'image_only.pth'
    torch.save({'backbone.img_tokenizer.proj.weight': torch.zeros(1)}, path)
    with pytest.raises(ValueError, match='no PiMAE point encoder layers'):
        detector(checkpoint=path)
