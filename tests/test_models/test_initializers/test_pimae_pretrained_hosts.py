"""PiMAEPretrained in any host: the weights land after every child's
init_weights, the Runner's initialised model holds them exactly, and a
host they cannot land in is an error."""
import copy
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.data import MMDET3D_SAMPLES

ROOT = Path(__file__).resolve().parents[3]


class _Stop(Exception):
    """Ends ``Runner.train()`` once the initialised model is recorded."""


@pytest.fixture(scope='module')
def pimae_checkpoint(tmp_path_factory):
    """The default-size PiMAE (3 point-specific + 3 shared layers of width
    256) with random weights, saved as this project saves checkpoints."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/pimae.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    state = model.state_dict()
    with torch.no_grad():  # far from any initialisation's values
        for value in state.values():
            if value.is_floating_point():
                value.copy_(torch.randn_like(value))
    path = tmp_path_factory.mktemp('pimae') / 'pimae.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path, state


def expected_encoder(state, prefix='backbone.encoder.layers.'):
    """The oracle: PiMAE's point-specific layers 0-2 then its shared layers
    0-2, as target layers 0-5."""
    expected = {}
    for index in range(6):
        source = (f'backbone.pts_encoder.layers.{index}.' if index < 3 else
                  f'backbone.shared_encoder.layers.{index - 3}.')
        for key, value in state.items():
            if key.startswith(source):
                expected[prefix + str(index) + '.' + key[len(source):]] = value
    assert len(expected) == 72  # 6 layers x 12 tensors
    return expected


def init(model):
    """``model.init_weights()`` in mmdet3d's scope, as the Runner calls it
    (the initializer is registered in mmdet3d's registry)."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model.init_weights()
    return model


def small_detector(**backbone_overrides):
    """A small VoteNet-like host: PiMAEPointBackbone in a BaseModule whose
    own init_cfg is applied before its children's init_weights."""
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.model import BaseModule
    from mmengine.registry import DefaultScope

    class Host(BaseModule):

        def __init__(self, init_cfg=None):
            super().__init__(init_cfg=init_cfg)
            backbone = dict(
                type='PiMAEPointBackbone',
                pre_encoder=dict(
                    type='PointNetSetAbstraction',
                    num_points=16,
                    radius=0.5,
                    num_samples=8,
                    mlp_channels=(32, 256)))
            backbone.update(backbone_overrides)
            with DefaultScope.overwrite_default_scope('mmdet3d'):
                self.backbone = MODELS.build(backbone)
            self.head = nn.Conv1d(256, 4, 1)

        def forward(self, points):
            return self.head(self.backbone(points)['fp_features'][-1])

    return Host


def test_transfer_lands_after_the_childrens_init_weights(pimae_checkpoint):
    """mmengine applies a module's own init_cfg before its children's
    init_weights, which re-initialise every encoder tensor; PiMAEPretrained
    still ends with all 72 equal to the checkpoint, and nothing else
    differs from the host's own initialisation."""
    path, state = pimae_checkpoint
    expected = expected_encoder(state)
    torch.manual_seed(0)
    model = small_detector()(
        init_cfg=dict(type='PiMAEPretrained', checkpoint=str(path)))
    init(model)
    torch.manual_seed(0)
    scratch = init(small_detector()())
    after = model.state_dict()
    for key, value in scratch.state_dict().items():
        if key not in expected:
            assert torch.equal(after[key], value), key
        else:
            assert torch.equal(after[key], expected[key]), key
            if value.dim() > 1:  # the layers' own init differs
                assert not torch.equal(after[key], value), key


def test_init_cfg_on_the_backbone_lands_after_its_own_init(pimae_checkpoint):
    """On ThreeDETRBackbone, whose init_weights re-initialises the encoder
    (xavier) after its children, mmengine's own Pretrained would be lost;
    PiMAEPretrained waits for the whole model."""
    path, state = pimae_checkpoint
    expected = expected_encoder(state, prefix='backbone.encoder.layers.')
    model = init(
        small_detector(
            type='ThreeDETRBackbone',
            encoder=dict(type='DETRStyleEncoder', num_layers=6),
            init_cfg=dict(
                type='PiMAEPretrained',
                checkpoint=str(path),
                target_prefix='encoder.layers.'))())
    assert model.backbone.xavier_init_encoder
    after = model.state_dict()
    for key, value in expected.items():
        assert torch.equal(after[key], value), key


def test_overwriting_after_the_init_is_caught_at_the_first_forward(
        pimae_checkpoint):
    path, state = pimae_checkpoint
    base = small_detector()

    class Resetting(base):

        def init_weights(self):
            super().init_weights()
            # a host whose own init_weights re-initialises after mmengine's
            nn.init.zeros_(self.backbone.encoder.layers[2].linear1.weight)

    model = Resetting(
        init_cfg=dict(type='PiMAEPretrained', checkpoint=str(path)))
    init(model)
    with pytest.raises(
            RuntimeError,
            match=r'1 of 72 transferred tensors .* no longer '
            r'equal the checkpoint at the first forward pass'):
        model(torch.rand(1, 64, 3))
    # a checkpoint loaded after the init (load_from, --resume) legitimately
    # replaces the weights: no error
    model = Resetting(
        init_cfg=dict(type='PiMAEPretrained', checkpoint=str(path)))
    init(model)
    model.load_state_dict(model.state_dict())
    model(torch.rand(1, 64, 3))


def test_the_initialised_model_still_pickles(pimae_checkpoint):
    """The first-forward check hangs on bound methods, not closures: the
    model can be pickled (torch.save(model)) and the copy runs."""
    import pickle

    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    from mmengine.registry import DefaultScope
    path, state = pimae_checkpoint
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        backbone = MODELS.build(
            dict(
                type='PiMAEPointBackbone',
                pre_encoder=dict(
                    type='PointNetSetAbstraction',
                    num_points=16,
                    radius=0.5,
                    num_samples=8,
                    mlp_channels=(32, 256)),
                init_cfg=dict(
                    type='PiMAEPretrained',
                    checkpoint=str(path),
                    target_prefix='encoder.layers.')))
    init(backbone).eval()
    copy_ = pickle.loads(pickle.dumps(backbone))
    expected = expected_encoder(state, prefix='encoder.layers.')
    for key, value in copy_.state_dict().items():
        if key in expected:
            assert torch.equal(value, expected[key])
    with torch.no_grad():
        copy_(torch.rand(1, 64, 3))
        backbone(torch.rand(1, 64, 3))


def test_no_matching_parameters_is_an_error(pimae_checkpoint):
    path, _ = pimae_checkpoint

    class NoEncoder(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(3, 3)

    from mmdet3d.registry import WEIGHT_INITIALIZERS
    initializer = WEIGHT_INITIALIZERS.build(
        dict(type='PiMAEPretrained', checkpoint=str(path)))
    with pytest.raises(
            ValueError,
            match="NoEncoder has no parameters under "
            "target_prefix='backbone.encoder.layers.'"):
        initializer(NoEncoder())
    # a wrong prefix is answered with the layer lists the model has
    host = small_detector()()
    initializer = WEIGHT_INITIALIZERS.build(
        dict(
            type='PiMAEPretrained',
            checkpoint=str(path),
            target_prefix='encoder.layers.'))
    with pytest.raises(ValueError, match=r"\['backbone.encoder.layers.'\]"):
        initializer(host)
    # non-strict, but nothing fits: still an error
    initializer = WEIGHT_INITIALIZERS.build(
        dict(type='PiMAEPretrained', checkpoint=str(path), strict=False))
    with pytest.raises(ValueError, match='nothing would be transferred'):
        initializer(
            small_detector(
                pre_encoder=dict(
                    type='PointNetSetAbstraction',
                    num_points=16,
                    radius=0.5,
                    num_samples=8,
                    mlp_channels=(32, 128)),
                encoder=dict(
                    type='DETRStyleEncoder',
                    num_layers=6,
                    layer_cfg=dict(embed_dims=128,
                                   feedforward_channels=64)))())


# ---------------------------------------------------------------------------
# through the mmengine Runner, with the shipped configs
# ---------------------------------------------------------------------------
RUNNER_HOSTS = {
    '3detr': ('configs/threedetr/threedetr_pimae_sunrgbd.py', 'sunrgbd',
              'sunrgbd_infos.pkl'),
    'votenet': ('configs/votenet/votenet_pimae_8xb16_sunrgbd-3d.py', 'sunrgbd',
                'sunrgbd_infos.pkl'),
    'groupfree3d':
    ('configs/groupfree3d/groupfree3d_pimae_head-L6-O256_4xb8_scannet-seg.py',
     'scannet', 'scannet_infos.pkl'),
}


def runner_initialised_state(config,
                             dataset,
                             ann_file,
                             work_dir,
                             init_cfg=None):
    """Build a Runner from ``config`` on a real-format sample and return
    the model's state dict as ``Runner.train()`` has it once it has
    initialised the model and loaded any checkpoint (``before_train``)."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    class Snapshot(Hook):

        def before_train(self, runner):
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            self.state = copy.deepcopy(model.state_dict())
            raise _Stop

    if '::' in config:  # a config of an installed package
        from mmengine.hub import get_config
        cfg = get_config(config)
    else:
        cfg = Config.fromfile(str(ROOT / config))
    if init_cfg is not None:
        cfg.model.init_cfg = init_cfg
    train = cfg.train_dataloader
    data_cfg = train.dataset
    while 'dataset' in data_cfg:  # RepeatDataset
        data_cfg = data_cfg.dataset
    data_cfg.update(
        data_root=str(MMDET3D_SAMPLES / dataset) + '/', ann_file=ann_file)
    train.update(num_workers=0, persistent_workers=False, batch_size=1)
    cfg.update(
        work_dir=str(work_dir),
        val_dataloader=None,
        val_cfg=None,
        val_evaluator=None,
        test_dataloader=None,
        test_cfg=None,
        test_evaluator=None,
        visualizer=dict(type='Det3DLocalVisualizer'),
        load_from=None,
        resume=False)
    cfg.default_hooks.pop('visualization', None)
    runner = Runner.from_cfg(cfg)
    hook = Snapshot()
    runner.register_hook(hook, priority='VERY_LOW')
    with pytest.raises(_Stop):
        runner.train()
    return hook.state, runner


@pytest.mark.parametrize('host', sorted(RUNNER_HOSTS))
def test_every_transferred_tensor_is_in_the_runner_model(
        host, pimae_checkpoint, tmp_path):
    path, state = pimae_checkpoint
    config, dataset, ann_file = RUNNER_HOSTS[host]
    init_cfg = dict(type='PiMAEPretrained', checkpoint=str(path))
    model_state, runner = runner_initialised_state(config, dataset, ann_file,
                                                   tmp_path, init_cfg)
    expected = expected_encoder(state)
    for key, value in expected.items():
        assert torch.equal(model_state[key], value), key
    # the rest of the backbone was not touched by the transfer
    pre_encoder = [k for k in model_state if '.pre_encoder.' in k]
    assert pre_encoder and not any(k in expected for k in pre_encoder)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'transferred: 72 tensors' in log
    assert 'verified, all 72 transferred tensors' in log
    # mmengine's per-parameter initialisation report names the transfer
    loaded = re.findall(
        r'\n(\S+) - torch.Size\(\[[\d, ]*\]\): \nLoaded from '
        f'{re.escape(str(path))} by PiMAEPretrained', log)
    assert len(loaded) == 72 and set(loaded) == set(expected)


def test_runner_refuses_a_host_without_pimae_layers(pimae_checkpoint,
                                                    tmp_path):
    """mmdet3d's own VoteNet (PointNet++ backbone) has no layer PiMAE's
    weights can go to: an error, not a log line."""
    path, _ = pimae_checkpoint
    with pytest.raises(
            ValueError,
            match="VoteNet has no parameters under target_prefix="
            "'backbone.encoder.layers.'.*PiMAEPointBackbone"):
        runner_initialised_state(
            'mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py',
            'sunrgbd',
            'sunrgbd_infos.pkl',
            tmp_path,
            init_cfg=dict(type='PiMAEPretrained', checkpoint=str(path)))
