# Copyright (c) OpenMMLab. All rights reserved.
"""Writing: scenes to point / image files and mmdet3d v1.x info files."""
import io
import os
import os.path as osp
import pickle
from multiprocessing import Pool
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np
from PIL import Image

from .scene_layout import CLASSES, SceneConfig
from .scene_renderer import SyntheticScene, backproject, render_scene


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """Encode an RGB uint8 image as JPEG (deterministic).

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        quality (int): JPEG quality.

    Returns:
        bytes: The JPEG file content.
    """
    buf = io.BytesIO()
    Image.fromarray(image, 'RGB').save(buf, format='JPEG', quality=quality)
    return buf.getvalue()


def scene_info(scene: SyntheticScene, sample_id: int) -> dict:
    """The mmdet3d v1.x SUN RGB-D ``data_list`` entry of a scene.

    Args:
        scene (SyntheticScene): The rendered scene.
        sample_id (int): Number used in the file names (``%06d``).

    Returns:
        dict: ``images.CAM0`` (``img_path``, ``height``, ``width``,
        ``depth2img`` as a nested list), ``lidar_points`` (``num_pts_feats``,
        ``lidar_path``) and ``instances`` (``bbox``, ``bbox_label``,
        ``bbox_3d``, ``bbox_label_3d``), like mmdet3d's converter.
    """
    height, width = scene.depth.shape
    instances = []
    for box2d, box3d, label in zip(scene.boxes_2d, scene.boxes_3d,
                                   scene.labels):
        instances.append(
            dict(
                bbox=[float(x) for x in box2d],
                bbox_label=int(label),
                bbox_3d=[float(x) for x in box3d],
                bbox_label_3d=int(label)))
    return dict(
        images=dict(
            CAM0=dict(
                img_path=f'{sample_id:06d}.jpg',
                height=int(height),
                width=int(width),
                depth2img=scene.depth2img.tolist())),
        lidar_points=dict(num_pts_feats=6, lidar_path=f'{sample_id:06d}.bin'),
        instances=instances)


def generate_scene(out_dir: str, seed: int, sample_id: int,
                   cfg: SceneConfig) -> dict:
    """Render one scene and write its point and image files.

    The scene's random stream depends only on ``(seed, sample_id)``, so
    output does not depend on worker count or order.

    Args:
        out_dir (str): Dataset root.
        seed (int): Global seed.
        sample_id (int): Scene number.
        cfg (SceneConfig): Scene parameters.

    Returns:
        dict: The scene's ``data_list`` entry (see :func:`scene_info`).
    """
    rng = np.random.default_rng([seed, sample_id])
    scene = render_scene(rng, cfg)
    jpeg = encode_jpeg(scene.image, cfg.jpeg_quality)
    # Colour the points from the decoded file, as on real data.
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert('RGB'))
    pixel_index = np.flatnonzero(scene.depth.ravel() > 0)
    if 0 <= cfg.num_points < len(pixel_index):
        pixel_index = pixel_index[rng.choice(
            len(pixel_index), cfg.num_points, replace=False)]
    points = backproject(scene.depth, decoded, scene.depth2img, pixel_index)
    with open(
            osp.join(out_dir, 'sunrgbd_trainval', 'image',
                     f'{sample_id:06d}.jpg'), 'wb') as f:
        f.write(jpeg)
    points.tofile(osp.join(out_dir, 'points', f'{sample_id:06d}.bin'))
    return scene_info(scene, sample_id)


def _generate_scene_star(args: tuple) -> dict:
    # A pickle round trip gives the info the same object sharing whether it
    # was made here or in a worker, so the info files are byte-identical
    # for any worker count.
    return pickle.loads(pickle.dumps(generate_scene(*args), protocol=4))


def sunrgbd_metainfo() -> dict:
    """``metainfo`` of mmdet3d v1.x SUN RGB-D info files.

    Returns:
        dict: ``categories`` (name -> label), ``dataset``, ``info_version``.
    """
    return dict(
        categories={
            c: i
            for i, c in enumerate(CLASSES)
        },
        dataset='sunrgbd',
        info_version='1.1')


def generate_dataset(
    out_dir: str,
    num_scenes: int,
    seed: int = 0,
    val_ratio: float = 0.2,
    cfg: Optional[SceneConfig] = None,
    workers: int = 1,
    progress: Optional[Callable[[Iterable], Iterable]] = None
) -> Dict[str, List[dict]]:
    """Generate a synthetic SUN RGB-D dataset in mmdet3d's layout.

    Scenes are numbered from 1 (``000001``); the last
    ``round(num_scenes * val_ratio)`` scenes form the val split.

    Args:
        out_dir (str): Dataset root (created if needed).
        num_scenes (int): Number of scenes (> 0).
        seed (int): Seed; same seed and arguments give identical files.
        val_ratio (float): Fraction of scenes in the val split, in [0, 1).
        cfg (SceneConfig, optional): Scene parameters.
        workers (int): Worker processes; 1 renders in this process.
        progress (callable, optional): Wraps the iterable of finished
            scenes, e.g. a progress bar; it must yield every item.

    Returns:
        dict[str, list[dict]]: ``{'train': data_list, 'val': data_list}``.
    """
    if num_scenes <= 0:
        raise ValueError(f'num_scenes must be positive, got {num_scenes}')
    if not 0. <= val_ratio < 1.:
        raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
    cfg = cfg or SceneConfig()
    os.makedirs(osp.join(out_dir, 'points'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'sunrgbd_trainval', 'image'), exist_ok=True)
    jobs = [(out_dir, seed, i, cfg) for i in range(1, num_scenes + 1)]
    wrap = progress or (lambda x: x)
    if workers > 1:
        with Pool(workers) as pool:
            infos = list(wrap(pool.imap(_generate_scene_star, jobs)))
    else:
        infos = list(wrap(map(_generate_scene_star, jobs)))
    num_val = int(round(num_scenes * val_ratio))
    splits = dict(
        train=infos[:num_scenes - num_val], val=infos[num_scenes - num_val:])
    for split, data_list in splits.items():
        with open(osp.join(out_dir, f'sunrgbd_infos_{split}.pkl'), 'wb') as f:
            pickle.dump(
                dict(metainfo=sunrgbd_metainfo(), data_list=data_list),
                f,
                protocol=4)
    return splits
