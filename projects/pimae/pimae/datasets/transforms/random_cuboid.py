# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR's RandomCuboid: crop a random axis-aligned cuboid of the scene."""
from typing import Optional, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomCuboid(BaseTransform):
    """Crop the point cloud to a random axis-aligned cuboid (3DETR).

    The augmentation 3DETR trains SUN RGB-D and ScanNet with (taken by 3DETR
    from DepthContrast and adapted to detection). Up to ``max_trials`` times:

    1. draw the cuboid's size per axis as ``U(min_crop, max_crop)`` times the
       cloud's extent on that axis (max - min of the coordinates); reject it
       unless at least one pair of sides (xy, xz or yz) has an aspect
       ``min / max >= aspect``;
    2. centre it on a random point of the cloud and keep the points inside
       (bounds inclusive);
    3. reject it if fewer than ``min_points`` points are inside;
    4. if the scene has boxes, keep those whose gravity centre lies within
       the bounding box of the *kept points* (not of the cuboid) and reject
       the crop if none is kept.

    The first accepted crop is applied; after ``max_trials`` rejections the
    scene is left unchanged. The random draws follow the original's order
    (sizes, then the centre point) from numpy's global generator, like the
    other mmdet3d transforms.

    In the original pipelines the crop comes after the flip / rotation /
    scaling for SUN RGB-D, and before the point sampling and the flips /
    rotation for ScanNet; in both it precedes the sampling of the 20000 /
    40000 network points. One difference is kept on purpose: the original
    decides "the scene has boxes" by testing whether its box array *sums*
    to a positive number, so a scene whose few boxes sum to <= 0 would keep
    all its boxes whatever the crop; here the box count decides.

    Required Keys:

    - points (:obj:`BasePoints`)
    - gt_bboxes_3d (:obj:`BaseInstance3DBoxes`, optional)
    - gt_labels_3d (np.ndarray, optional)
    - pts_instance_mask, pts_semantic_mask (np.ndarray, optional)

    Modified Keys:

    - points, gt_bboxes_3d, gt_labels_3d, pts_instance_mask,
      pts_semantic_mask

    Args:
        min_points (int): Fewest points a crop must keep. Defaults to 30000
            (the original, for both datasets).
        aspect (float): Smallest accepted ``min / max`` of at least one pair
            of the relative side lengths. Defaults to 0.8.
        min_crop (float): Smallest side as a fraction of the cloud's extent.
            Defaults to 0.5.
        max_crop (float): Largest side as a fraction of the cloud's extent.
            Defaults to 1.0.
        max_trials (int): Crops tried before giving up. Defaults to 100.
    """

    def __init__(self,
                 min_points: int = 30000,
                 aspect: float = 0.8,
                 min_crop: float = 0.5,
                 max_crop: float = 1.0,
                 max_trials: int = 100) -> None:
        if not isinstance(min_points, int) or min_points < 1:
            raise ValueError(
                f'min_points must be a positive int, got {min_points!r}')
        if not 0 < min_crop <= max_crop:
            raise ValueError('need 0 < min_crop <= max_crop, got '
                             f'min_crop={min_crop}, max_crop={max_crop}')
        if not 0 <= aspect <= 1:
            raise ValueError(f'aspect must be in [0, 1], got {aspect}')
        if not isinstance(max_trials, int) or max_trials < 1:
            raise ValueError(
                f'max_trials must be a positive int, got {max_trials!r}')
        self.min_points = min_points
        self.aspect = aspect
        self.min_crop = min_crop
        self.max_crop = max_crop
        self.max_trials = max_trials

    def aspect_ok(self, crop_range: np.ndarray) -> bool:
        """Whether a pair of relative sides has ``min / max >= aspect``.

        Args:
            crop_range (np.ndarray): Relative side lengths, shape (3, ).

        Returns:
            bool: True if the xy, xz or yz pair is square enough.
        """
        for i, j in ((0, 1), (0, 2), (1, 2)):
            pair = crop_range[[i, j]]
            if pair.min() / pair.max() >= self.aspect:
                return True
        return False

    def propose(self, xyz: np.ndarray,
                extent: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Draw one cuboid (steps 1 and 2).

        Args:
            xyz (np.ndarray): Point coordinates, shape (N, 3).
            extent (np.ndarray): The cloud's extent per axis, shape (3, ).

        Returns:
            tuple[np.ndarray, np.ndarray] | None: The cuboid's lower and
            upper corners, each (3, ), or None when the drawn size fails the
            aspect test.
        """
        crop_range = self.min_crop + np.random.rand(3) * (
            self.max_crop - self.min_crop)
        if not self.aspect_ok(crop_range):
            return None
        centre = xyz[np.random.choice(len(xyz))]
        half = extent * crop_range / 2.0
        return centre - half, centre + half

    def transform(self, results: dict) -> dict:
        """Crop the scene, or leave it unchanged after ``max_trials``.

        Args:
            results (dict): Result dict with ``points`` and, for training,
                ``gt_bboxes_3d`` / ``gt_labels_3d``.

        Returns:
            dict: The (possibly) cropped results.
        """
        points = results['points']
        xyz = points.coord.numpy().astype(np.float64)
        if len(xyz) == 0:
            return results
        extent = xyz.max(axis=0) - xyz.min(axis=0)
        boxes = results.get('gt_bboxes_3d')
        centres = None
        if boxes is not None and len(boxes) > 0:
            centres = boxes.gravity_center.numpy().astype(np.float64)
        for _ in range(self.max_trials):
            bounds = self.propose(xyz, extent)
            if bounds is None:
                continue
            lower, upper = bounds
            inside = np.all((xyz >= lower) & (xyz <= upper), axis=1)
            if inside.sum() < self.min_points:
                continue
            keep_boxes = None
            if centres is not None:
                kept = xyz[inside]
                keep_boxes = np.all(
                    (centres >= kept.min(axis=0)) &
                    (centres <= kept.max(axis=0)),
                    axis=1)
                if not keep_boxes.any():
                    continue
            return self._apply(results, inside, keep_boxes)
        return results

    @staticmethod
    def _apply(results: dict, inside: np.ndarray,
               keep_boxes: Optional[np.ndarray]) -> dict:
        """Keep the points in the crop and the boxes that survive."""
        results['points'] = results['points'][inside]
        for key in ('pts_instance_mask', 'pts_semantic_mask'):
            if results.get(key) is not None:
                results[key] = results[key][inside]
        if keep_boxes is not None:
            results['gt_bboxes_3d'] = results['gt_bboxes_3d'][torch.from_numpy(
                keep_boxes)]
            if results.get('gt_labels_3d') is not None:
                results['gt_labels_3d'] = results['gt_labels_3d'][keep_boxes]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_points={self.min_points}, '
                f'aspect={self.aspect}, min_crop={self.min_crop}, '
                f'max_crop={self.max_crop}, max_trials={self.max_trials})')
