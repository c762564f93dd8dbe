"""Crop an image to an object box (object classification from detection
annotations)."""
import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropObjectBox(BaseTransform):
    """Crop ``img`` to the pixel box ``crop_bbox``.

    The box ``[x1, y1, x2, y2]`` is in continuous 0-based pixel coordinates
    (pixel ``(u, v)`` covers ``[u, u + 1) x [v, v + 1)``); the crop takes
    every pixel the box touches (``floor`` of the start, ``ceil`` of the
    end), clipped to the image.

    Required keys: ``img`` ((H, W[, C]) array), ``crop_bbox`` ((4, )).

    Modified keys: ``img`` ((h, w[, C])), ``img_shape`` ((h, w)).

    Added keys: ``crop_offset`` ((x1, y1) of the crop in the image, ints).

    Args:
        min_size (int): Smallest crop side in pixels after clipping; a
            smaller crop (e.g. a box outside the image) raises a
            ``ValueError`` naming the image. Defaults to 1.
    """

    def __init__(self, min_size: int = 1) -> None:
        if min_size < 1:
            raise ValueError(f'min_size must be >= 1, got {min_size}')
        self.min_size = min_size

    def transform(self, results: dict) -> Optional[dict]:
        """Crop ``results['img']``.

        Args:
            results (dict): Result dict with ``img`` and ``crop_bbox``.

        Returns:
            dict: The result dict with the cropped image.
        """
        img = results['img']
        height, width = img.shape[:2]
        box = np.asarray(results['crop_bbox'], dtype=np.float64).reshape(-1)
        if box.shape != (4, ) or not np.all(np.isfinite(box)):
            raise ValueError(
                f'{results.get("img_path", "image")}: crop_bbox must be 4 '
                f'finite numbers [x1, y1, x2, y2], got {box.tolist()}')
        x1 = min(max(math.floor(box[0]), 0), width)
        y1 = min(max(math.floor(box[1]), 0), height)
        x2 = min(max(math.ceil(box[2]), 0), width)
        y2 = min(max(math.ceil(box[3]), 0), height)
        if x2 - x1 < self.min_size or y2 - y1 < self.min_size:
            raise ValueError(
                f'{results.get("img_path", "image")}: crop_bbox '
                f'{box.tolist()} gives a {x2 - x1}x{y2 - y1} crop of the '
                f'{width}x{height} image, smaller than min_size '
                f'{self.min_size}')
        results['img'] = np.ascontiguousarray(img[y1:y2, x1:x2])
        results['img_shape'] = (y2 - y1, x2 - x1)
        results['crop_offset'] = (x1, y1)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size})'
