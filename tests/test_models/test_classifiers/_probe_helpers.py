"""A small PiMAE with random weights and the matching point probe."""
import copy

import torch
from mmengine.registry import DefaultScope

from .._helpers import SMALL_MODEL, build_model

#: The point branch of tests/test_models/_helpers.SMALL_MODEL (width 32,
#: groups of 8, one point-specific and one shared layer).
SMALL_BACKBONE = dict(
    type='PiMAEPointTransformer',
    embed_dims=32,
    pts_tokenizer=copy.deepcopy(SMALL_MODEL['backbone']['pts_tokenizer']),
    pts_encoder=copy.deepcopy(SMALL_MODEL['backbone']['pts_encoder']),
    shared_encoder=copy.deepcopy(SMALL_MODEL['backbone']['shared_encoder']))


def randomised_pimae(seed=0):
    """The small PiMAE with every float tensor (BN statistics, cls and
    modality tokens included) random, in eval mode."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = build_model()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if not value.is_floating_point() or name.endswith(
                    'img_tokenizer.pos_embed'):
                continue
            noise = torch.randn(value.shape, generator=generator) * .1
            if name.endswith('running_var'):
                noise = noise.abs() + .5
            value.copy_(noise)
    return model.eval()


def save_checkpoint(model, path):
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def build_probe(checkpoint=None, **backbone):
    """A PointCloudClassifier (mmpretrain scope) around the small point
    branch, BN neck and linear head of 5 classes; initialised."""
    import projects.pimae.pimae  # noqa: F401
    from mmpretrain.registry import MODELS
    cfg = dict(SMALL_BACKBONE, **backbone)
    if checkpoint is not None:
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)
    width = 2 * 32 if cfg.get('pool', 'max_mean') == 'max_mean' else 32
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='PointCloudClassifier',
                backbone=cfg,
                neck=dict(type='ClsBatchNormNeck', input_features=width),
                head=dict(
                    type='LinearClsHead',
                    num_classes=5,
                    in_channels=width,
                    loss=dict(type='CrossEntropyLoss'))))
    model.init_weights()
    return model


def random_clouds(batch_size=4, num_points=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch_size, num_points, 3, generator=generator) - .5
