"""Synthetic scenes and small PiMAE configs shared by the model tests."""
import copy

import numpy as np
import torch

#: depth frame (x right, y forward, z up) -> camera (x right, y down, z fwd)
DEPTH_TO_CAMERA = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])
#: 0-based -> 1-based pixels
ONE_BASED = np.array([[1., 0., 1.], [0., 1., 1.], [0., 0., 1.]])


def pinhole_depth2img(img_shape, focal=None):
    """depth2img of an upright pinhole camera looking along +y."""
    height, width = img_shape
    focal = focal or 0.6 * width
    intrinsic = np.array([[focal, 0., (width - 1) / 2],
                          [0., focal, (height - 1) / 2], [0., 0., 1.]])
    return (ONE_BASED @ intrinsic @ DEPTH_TO_CAMERA).astype(np.float32)


def synthetic_points(batch_size, num_points, generator=None, channels=3):
    """Points in front of the pinhole camera, projecting into the image."""
    generator = generator or torch.Generator().manual_seed(0)
    depth = 2 + 3 * torch.rand(batch_size, num_points, generator=generator)
    x = (torch.rand(batch_size, num_points, generator=generator) - .5) * depth
    z = (torch.rand(batch_size, num_points, generator=generator) - .5) * .6 \
        * depth
    points = torch.stack([x, depth, z], dim=-1)
    if channels > 3:
        extra = torch.rand(
            batch_size, num_points, channels - 3, generator=generator)
        points = torch.cat([points, extra], dim=-1)
    return points


def make_batch(batch_size=2,
               num_points=256,
               img_shape=(64, 96),
               seed=0,
               channels=3):
    """inputs and data samples of a synthetic paired scene."""
    from mmdet3d.structures import Det3DDataSample
    generator = torch.Generator().manual_seed(seed)
    points = synthetic_points(batch_size, num_points, generator, channels)
    # smooth images (bilinear upsampling of a coarse random grid) plus noise
    coarse = torch.randn(batch_size, 3, 4, 6, generator=generator)
    imgs = torch.nn.functional.interpolate(
        coarse, size=tuple(img_shape), mode='bilinear', align_corners=False)
    imgs = imgs + 0.1 * torch.randn(
        batch_size, 3, *img_shape, generator=generator)
    samples = []
    for i in range(batch_size):
        sample = Det3DDataSample()
        sample.set_metainfo(
            dict(
                depth2img=pinhole_depth2img(img_shape),
                img_shape=tuple(img_shape),
                sample_idx=i))
        samples.append(sample)
    return dict(points=points, imgs=imgs), samples


SMALL_MODEL = dict(
    type='PiMAE',
    backbone=dict(
        type='PiMAEEncoder',
        embed_dims=32,
        pts_tokenizer=dict(
            type='PointGroupTokenizer',
            num_groups=16,
            group_size=8,
            embed_dims=32,
            pointnet_channels=(16, 32, 64),
            pos_hidden_dims=16),
        img_tokenizer=dict(
            type='ImagePatchTokenizer',
            img_size=(64, 96),
            patch_size=16,
            embed_dims=32),
        masker=dict(type='CrossModalMasker'),
        img_encoder=dict(num_layers=1, num_heads=2),
        pts_encoder=dict(
            type='DETRStyleEncoder',
            num_layers=1,
            layer_cfg=dict(
                embed_dims=32, num_heads=2, feedforward_channels=16)),
        shared_encoder=dict(
            type='DETRStyleEncoder',
            num_layers=1,
            layer_cfg=dict(
                embed_dims=32, num_heads=2, feedforward_channels=16))),
    neck=dict(
        type='PiMAEDecoder',
        in_channels=32,
        embed_dims=24,
        grid_size=(4, 6),
        patch_size=16,
        joint_depth=1,
        joint_num_heads=2,
        img_depth=1,
        img_num_heads=2,
        pts_depth=2,
        pts_num_heads=2,
        pos_hidden_dims=16),
    pts_head=dict(type='PiMAEPointHead', in_channels=24, group_size=8),
    img_head=dict(type='PiMAEImageHead', patch_size=16),
    cross_head=dict(
        type='PiMAECrossModalHead',
        in_channels=24,
        feat_channels=24,
        group_size=8))


def small_model_cfg(**overrides):
    """A deep copy of :data:`SMALL_MODEL` with nested overrides merged."""
    cfg = copy.deepcopy(SMALL_MODEL)

    def merge(dst, src):
        for key, value in src.items():
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value)
            else:
                dst[key] = value

    merge(cfg, overrides)
    return cfg


def build_model(**overrides):
    """Build and initialise a small PiMAE."""
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    model = MODELS.build(small_model_cfg(**overrides))
    model.init_weights()
    return model
