# Copyright (c) OpenMMLab. All rights reserved.
"""Synthetic SUN RGB-D scenes in mmdet3d's v1.x SUN RGB-D layout.

A data tool, not a dataset: it writes files that mmdet3d's (and this
project's) SUN RGB-D datasets read, and registers nothing. Its command line
is ``tools/create_demo_data.py``.

A scene is a room (floor, walls, optional ceiling) with furniture-like boxes
of the 10 SUN RGB-D detection classes standing on the floor
(:mod:`.scene_layout`); the ``'rich'`` preset (:data:`SCENE_PRESETS`) adds
part-built shapes, class-independent colours, overlapping sizes, clutter
and sensor depth noise. It is rendered through a pinhole camera with a
random tilt by vectorised per-pixel ray casting, which gives a depth map and
a shaded, textured colour image (:mod:`.scene_renderer`). The point cloud is
back-projected from the depth map and takes its colours from the (decoded
JPEG) image pixels, so points and pixels correspond exactly
(:mod:`.dataset_writer`).

Conventions follow mmdet3d's SUN RGB-D data and :mod:`..geometry`:

* depth frame: x right, y forward, z up, origin at the camera centre;
* ``Rt`` maps the tilted camera's depth frame to the upright depth frame and
  ``depth2img = K @ (DEPTH_TO_CAMERA @ Rt.T)``
  (:func:`~..geometry.depth2img_from_calib`); ``depth2img @ xyz`` gives
  homogeneous **1-based** pixels, so 0-based pixel ``(u0, v0)`` has its
  centre at ``(u0 + 1, v0 + 1)``;
* 3D boxes are ``[x, y, z, dx, dy, dz, yaw]`` with ``(x, y, z)`` the gravity
  centre (``DepthInstance3DBoxes(..., origin=(0.5, 0.5, 0.5))`` as in
  ``SUNRGBDDataset``), ``dx`` the size along the box's own x axis and ``yaw``
  the counter-clockwise angle from the depth frame's x axis to it
  (:func:`~..geometry.rotation_z_matrix`);
* 2D boxes are ``[x1, y1, x2, y2]`` in 0-based continuous pixel coordinates
  (the tight box of the visible pixels: ``x2 = last column + 1``), so they
  lie inside ``[0, width] x [0, height]``.

Files written by :func:`generate_dataset`::

    <root>/points/%06d.bin                  float32 N x 6 (xyz, rgb in [0, 1])
    <root>/sunrgbd_trainval/image/%06d.jpg  RGB JPEG
    <root>/sunrgbd_infos_train.pkl          {'metainfo', 'data_list'}
    <root>/sunrgbd_infos_val.pkl

The same ``seed`` gives byte-identical files for any number of workers.
"""
from .dataset_writer import (encode_jpeg, generate_dataset, generate_scene,
                             scene_info, sunrgbd_metainfo)
from .scene_layout import (CLASSES, SCENE_PRESETS, SIZE_PRIORS, SceneConfig,
                           sample_clutter, sample_layout)
from .scene_renderer import (SyntheticScene, backproject, pixel_rays,
                             render_scene, sensor_depth)

__all__ = [
    'CLASSES', 'SCENE_PRESETS', 'SIZE_PRIORS', 'SceneConfig',
    'SyntheticScene', 'backproject', 'encode_jpeg', 'generate_dataset',
    'generate_scene', 'pixel_rays', 'render_scene', 'sample_clutter',
    'sample_layout', 'scene_info', 'sensor_depth', 'sunrgbd_metainfo'
]
