"""Global 3D augmentation of the points that keeps ``depth2img`` exact."""
import math
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from ...geometry import (depth2img_after_point_transform, flip_x_matrix,
                         rotation_z_matrix, scale_matrix)


@TRANSFORMS.register_module()
class GlobalFlipRotScaleWithDepth2Img(BaseTransform):
    """Random x-flip, rotation about z and scaling of the point cloud.

    PiMAE's 3D augmentation (official ``train_aug`` path): flip x with
    probability ``flip_ratio``, rotate about the up axis by an angle drawn
    from ``rot_range``, scale by a factor drawn from ``scale_range``, in
    this order. The image is left untouched and ``depth2img`` is updated
    (``depth2img @ inv(S R F)``) so that every point still projects onto
    its pixel. 3D boxes (``gt_bboxes_3d``), if loaded, move with the points.
    Rotations follow mmdet3d's ``DepthPoints.rotate`` (counter-clockwise
    seen from above).

    Required Keys:

    - points (:obj:`BasePoints`), depth2img

    Modified Keys:

    - points, depth2img, gt_bboxes_3d (optional)

    Added Keys:

    - pcd_horizontal_flip (bool), pcd_rotation (Tensor (3, 3), mmdet3d's
      right-multiplied ``rot_mat_T``), pcd_rotation_angle (float),
      pcd_scale_factor (float), transformation_3d_flow (list, 'HF', 'R',
      'S' appended as in mmdet3d)

    Args:
        flip_ratio (float): Probability of the x-flip. Defaults to 0.5.
        rot_range (Sequence[float]): Rotation angle range in radians.
            Defaults to (-pi / 6, pi / 6) (+-30 degrees).
        scale_range (Sequence[float]): Scale factor range. Defaults to
            (0.85, 1.15).
    """

    def __init__(
        self,
        flip_ratio: float = 0.5,
        rot_range: Sequence[float] = (-math.pi / 6, math.pi / 6),
        scale_range: Sequence[float] = (0.85, 1.15)
    ) -> None:
        if not 0. <= flip_ratio <= 1.:
            raise ValueError(f'flip_ratio must be in [0, 1], got '
                             f'{flip_ratio}')
        if len(rot_range) != 2 or rot_range[0] > rot_range[1]:
            raise ValueError(f'rot_range must be (low, high), got '
                             f'{rot_range}')
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f'scale_range must be (low, high) with '
                             f'0 < low <= high, got {scale_range}')
        self.flip_ratio = flip_ratio
        self.rot_range = tuple(float(r) for r in rot_range)
        self.scale_range = tuple(float(s) for s in scale_range)

    def transform(self, results: dict) -> dict:
        """Augment the points and update ``depth2img``.

        Args:
            results (dict): Result dict.

        Returns:
            dict: The augmented results.
        """
        flip = bool(np.random.rand() < self.flip_ratio)
        angle = float(np.random.uniform(*self.rot_range))
        scale = float(np.random.uniform(*self.scale_range))
        matrix = rotation_z_matrix(angle)
        if flip:
            matrix = matrix @ flip_x_matrix()
        matrix = scale_matrix(scale) @ matrix

        # the identity (augmentation off, as in the released recipe) leaves
        # the points and depth2img as they are, exactly, so it is skipped
        if not np.array_equal(matrix, np.eye(3)):
            points = results['points']
            xyz = points.tensor[:, :3]
            points.tensor[:, :3] = xyz @ torch.as_tensor(
                matrix.T, dtype=xyz.dtype)
            results['depth2img'] = depth2img_after_point_transform(
                results['depth2img'], matrix)
        boxes = results.get('gt_bboxes_3d')
        if boxes is not None:
            if flip:
                boxes.flip('horizontal')
            boxes.rotate(angle)
            boxes.scale(scale)

        flow = results.setdefault('transformation_3d_flow', [])
        if flip:
            flow.append('HF')
        flow.extend(['R', 'S'])
        results['pcd_horizontal_flip'] = flip
        results['pcd_rotation'] = torch.as_tensor(
            rotation_z_matrix(angle).T, dtype=torch.float32)
        results['pcd_rotation_angle'] = angle
        results['pcd_scale_factor'] = scale
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip_ratio={self.flip_ratio}, '
                f'rot_range={self.rot_range}, '
                f'scale_range={self.scale_range})')
