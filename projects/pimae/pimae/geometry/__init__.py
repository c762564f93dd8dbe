# Copyright (c) OpenMMLab. All rights reserved.
"""Geometry of PiMAE: projecting points into images and sampling features.

Written once and used by both the data pipeline and the model; pure numpy +
torch.

Conventions:

- Points are in mmdet3d's depth frame: x right, y forward, z up.
- ``depth2img`` is a 3x3 matrix mapping a depth-frame point to homogeneous
  **1-based** pixel coordinates of the *current* image (SUN RGB-D / mmdet3d
  convention, ``depth2img = K @ F @ Rt.T`` with
  ``F = DEPTH_TO_CAMERA = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]``):
  ``w * [u1, v1, 1] = depth2img @ p``.
- Every pixel coordinate this package takes or returns is **0-based and
  continuous, with pixel centres at integers**: x = column, y = row,
  ``x = u1 - 1``. Pixel (r, c) covers ``[c - 0.5, c + 0.5) x
  [r - 0.5, r + 0.5)``, so the pixel holding x is ``floor(x + 0.5)``.
- Image shapes are ``(H, W)``, the compat normaliser ``compat_norm_shape``
  included: ``(530, 730)`` is the official ``MAX_HEIGHT, MAX_WIDTH``.
- Every augmentation that moves pixels or points updates ``depth2img`` with
  the ``depth2img_after_*`` functions (numpy float64, pure), so projection
  stays exact. Rotations follow mmdet3d's ``DepthPoints.rotate``:
  ``rotation_z_matrix(a)`` turns +x towards +y (counter-clockwise seen from
  above), and ``points @ rotation_z_matrix(a).T`` equals
  ``DepthPoints.rotate(a)``.
- Points behind the camera get finite, meaningless pixels;
  :func:`points_in_image` (depth and bounds) gives the valid mask.
- Official-code quirks (grid axis swap, 730x530 normalisation, upsampling
  to 256x352 before sampling) are behind ``compat_*`` options, off by
  default. The 730x530 normalisation applies to pixels of the *native*
  image, so pixels of the resized network input are mapped back first
  (:func:`native_frame_pixels`, factors from
  :func:`native_scale_from_metainfo`).
- Wrong shapes, ranks or values raise ``ValueError`` naming the argument.
"""
from .calibration import (DEPTH_TO_CAMERA, check_depth2img, check_matrix,
                          depth2img_after_crop, depth2img_after_hflip,
                          depth2img_after_pixel_affine,
                          depth2img_after_point_transform,
                          depth2img_after_resize, depth2img_from_calib,
                          flip_x_matrix, rotation_z_matrix, scale_matrix)
from .patch_index import pixel_to_patch_index
from .projection import points_in_image, project_points
from .sampling import (PIMAE_COMPAT_NORM_SHAPE, PIMAE_COMPAT_UPSAMPLE_SIZE,
                       native_frame_pixels, native_scale_from_metainfo,
                       pixels_to_grid, sample_feature_map,
                       sample_patch_tokens)

__all__ = [
    'DEPTH_TO_CAMERA', 'PIMAE_COMPAT_NORM_SHAPE', 'PIMAE_COMPAT_UPSAMPLE_SIZE',
    'check_depth2img', 'check_matrix', 'depth2img_after_crop',
    'depth2img_after_hflip', 'depth2img_after_pixel_affine',
    'depth2img_after_point_transform', 'depth2img_after_resize',
    'depth2img_from_calib', 'flip_x_matrix', 'native_frame_pixels',
    'native_scale_from_metainfo', 'pixel_to_patch_index',
    'pixels_to_grid', 'points_in_image', 'project_points',
    'rotation_z_matrix', 'sample_feature_map', 'sample_patch_tokens',
    'scale_matrix'
]
