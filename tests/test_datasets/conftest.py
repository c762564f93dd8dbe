"""Shared fixtures of the dataset tests: registration, a tiny generated
SUN RGB-D and the real-format samples."""
import copy
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DefaultScope

import projects.pimae.pimae.datasets  # noqa: F401  (registers)
from projects.pimae.pimae import data_generation

from tests.data import MMDET3D_SAMPLES as SAMPLES

#: Small scenes (half the Kinect v2 size) keep the tests fast.
DEMO_CFG = data_generation.SceneConfig(
    width=365, height=265, num_points=30000)

PACK_META_KEYS = ('depth2img', 'img_shape', 'ori_shape', 'sample_idx',
                  'lidar_path', 'img_path', 'num_pts_feats', 'scale_factor',
                  'flip', 'flip_direction', 'pcd_horizontal_flip',
                  'pcd_rotation', 'pcd_rotation_angle', 'pcd_scale_factor',
                  'transformation_3d_flow', 'box_type_3d', 'box_mode_3d')


def pretrain_pipeline(augment: bool = True,
                      force: bool = False,
                      num_points: int = 2048) -> list:
    """The PiMAE pre-training pipeline (as a config list).

    Args:
        augment (bool): Include the 3D augmentation and the image flip.
        force (bool): Make every augmentation fire (probabilities 1).
        num_points (int): Points after FPS.
    """
    pipeline = [
        dict(
            type='LoadCheckedPointsFromFile',
            coord_type='DEPTH',
            load_dim=6,
            use_dim=[0, 1, 2, 3, 4, 5],
            use_color=True),
        dict(type='LoadImageFromFileWithDepth2Img', min_shape=(256, 352)),
        dict(type='CheckDepth2Img'),
        dict(type='LoggedPointSample', num_points=20000),
        dict(type='FurthestPointSample', num_points=num_points),
        dict(type='ResizeWithDepth2Img', scale=(352, 256), keep_ratio=False),
    ]
    if augment:
        pipeline += [
            dict(
                type='GlobalFlipRotScaleWithDepth2Img',
                flip_ratio=1.0 if force else 0.5,
                rot_range=[-math.pi / 6, math.pi / 6],
                scale_range=[0.85, 1.15]),
            dict(
                type='RandomImageFlipWithDepth2Img',
                prob=1.0 if force else 0.5),
        ]
    pipeline.append(
        dict(
            type='Pack3DDetInputs',
            keys=['points', 'img'],
            meta_keys=PACK_META_KEYS))
    return copy.deepcopy(pipeline)


@pytest.fixture(scope='session', autouse=True)
def mmdet3d_scope():
    """Build pipelines in mmdet3d's registry scope, as configs do; the
    previous default scope is restored afterwards."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        yield


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory) -> Path:
    """Four generated scenes (3 train, 1 val) at 365x265."""
    root = tmp_path_factory.mktemp('sunrgbd_demo')
    data_generation.generate_dataset(
        str(root), 4, seed=1, val_ratio=0.25, cfg=DEMO_CFG)
    return root


@pytest.fixture(scope='session')
def samples_root() -> Path:
    """mmdet3d's real-format SUN RGB-D sample (vendored in tests/data)."""
    return SAMPLES / 'sunrgbd'


def load_bgr(path) -> np.ndarray:
    """Read an image as mmcv does (BGR uint8)."""
    import mmcv
    return mmcv.imread(str(path))


class _ListHandler(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def mm_log():
    """Warnings logged through mmengine's current logger during a test
    (MMLogger does not propagate to the root logger, so ``caplog`` misses
    them)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def scene_results(seed: int = 0,
                  width: int = 240,
                  height: int = 180,
                  num_points: int = 4000) -> dict:
    """Pipeline results of one rendered scene, as after loading.

    Returns:
        dict: ``points`` (DepthPoints with colour, sampled pixels),
        ``img`` (BGR uint8, the rendered image without JPEG), ``img_shape``,
        ``ori_shape``, ``depth2img`` (float64), ``sample_idx``,
        ``lidar_points`` / ``img_path`` names.
    """
    from mmdet3d.structures import DepthPoints
    rng = np.random.default_rng(seed)
    cfg = data_generation.SceneConfig(width=width, height=height)
    scene = data_generation.render_scene(rng, cfg)
    valid = np.flatnonzero(scene.depth.ravel() > 0)
    index = rng.choice(valid, min(num_points, len(valid)), replace=False)
    points = data_generation.backproject(scene.depth, scene.image,
                                         scene.depth2img, index)
    return dict(
        points=DepthPoints(
            points, points_dim=6, attribute_dims=dict(color=[3, 4, 5])),
        img=np.ascontiguousarray(scene.image[..., ::-1]),
        img_shape=(height, width),
        ori_shape=(height, width),
        depth2img=scene.depth2img.copy(),
        sample_idx=seed,
        lidar_points=dict(lidar_path=f'points/{seed:06d}.bin'),
        img_path=f'image/{seed:06d}.jpg')


def colour_errors(results: dict) -> np.ndarray:
    """Per-point max-channel colour error (0-255) between each point and the
    pixel it projects to with ``results['depth2img']``; points projecting
    outside the image get 255."""
    from projects.pimae.pimae.geometry import points_in_image, project_points
    points = results['points'].tensor.numpy().astype(np.float64)
    img = results['img'][..., ::-1].astype(np.float64)  # BGR -> RGB
    uv, depth = project_points(points[:, :3], results['depth2img'])
    inside = points_in_image(uv, depth, img.shape[:2])
    cols = np.clip(np.floor(uv[:, 0] + 0.5).astype(int), 0, img.shape[1] - 1)
    rows = np.clip(np.floor(uv[:, 1] + 0.5).astype(int), 0, img.shape[0] - 1)
    err = np.abs(img[rows, cols] - points[:, 3:] * 255.).max(axis=1)
    return np.where(inside, err, 255.)


def rows_in(rows, table) -> bool:
    """Whether every row of ``rows`` (M, C) occurs exactly in ``table``
    (N, C); tensors or arrays."""
    rows, table = np.asarray(rows), np.asarray(table)
    return bool((rows[:, None, :] == table[None]).all(-1).any(1).all())
