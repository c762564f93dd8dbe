import pytest
from mmengine.config import Config

from projects.pimae.pimae.utils import ConfigOptionError, check_cfg_options


@pytest.fixture
def cfg():
    return Config(
        dict(
            model=dict(type='PiMAE', backbone=dict(type='A', depth=3)),
            train_dataloader=dict(batch_size=2),
            pipeline=[dict(type='Load'), dict(type='Pack', keys=['x'])]))


@pytest.mark.parametrize('key', [
    'model.backbone.depth', 'train_dataloader.batch_size', 'pipeline.1.keys',
    'pipeline.0.type'
])
def test_existing_keys_pass(cfg, key):
    check_cfg_options(cfg, {key: 1})


def test_new_keys_allowed_under_a_replaced_component(cfg):
    check_cfg_options(cfg, {
        'model.backbone.type': 'B',
        'model.backbone.width': 64
    })
    check_cfg_options(cfg, {'model.backbone': dict(type='C', anything=1)})


@pytest.mark.parametrize('key, message', [
    ('train_dataloader.batchsize', "'train_dataloader' has no key "
     "'batchsize'. Did you mean batch_size?"),
    ('modle.backbone.depth', "the config has no key 'modle'"),
    ('pipeline.2.type', "'pipeline' has no key '2'"),
    ('model.backbone.depth.x', "'model.backbone.depth' is 3"),
])
def test_unknown_keys_fail_with_the_key_named(cfg, key, message):
    with pytest.raises(ConfigOptionError) as info:
        check_cfg_options(cfg, {key: 1})
    assert key in str(info.value)
    assert message in str(info.value)
