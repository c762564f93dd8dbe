"""Object classification on SUN RGB-D: one sample per annotated 2D box."""
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from .info_file import load_object_infos
from .sunrgbd_classes import SUNRGBD_CLASSES


@DATASETS.register_module()
class SUNRGBDObjectCropDataset(BaseDataset):
    """Crops of the annotated objects of SUN RGB-D, labelled by class.

    Reads mmdet3d v1.x SUN RGB-D info files (``sunrgbd_infos_{train,val}.pkl``
    of ``tools/create_data.py sunrgbd`` or ``tools/create_demo_data.py``):
    every ``data_list`` entry has ``images.CAM0.img_path`` (relative to
    ``data_prefix['img_path']``), ``height``, ``width`` and ``instances``
    with ``bbox`` (2D box ``[x1, y1, x2, y2]`` in pixels) and ``bbox_label``
    (index into the file's classes, -1 for classes outside them). Each box
    becomes one sample ``dict(img_path, gt_label, crop_bbox, bbox,
    scene_idx, instance_idx)``; ``crop_bbox`` is the box grown by
    ``context_ratio`` of its width / height on every side and clipped to the
    image, for the ``CropObjectBox`` transform after ``LoadImageFromFile``.

    Boxes are skipped, and counted in the log, when their class is not in
    ``classes`` (or is -1), when the shorter side of the box clipped to the
    image is below ``min_box_size`` pixels, or when the box lies outside the
    image.

    Args:
        ann_file (str): Info file, relative to ``data_root``.
        data_root (str): Dataset root. Defaults to ''.
        data_prefix (str | dict): Image folder, relative to ``data_root``.
            Defaults to ``dict(img_path='sunrgbd_trainval/image')``.
        min_box_size (float): Smallest shorter side of a kept box, in pixels.
            Defaults to 16.
        context_ratio (float): Context added on each side of a box, as a
            fraction of its width (left / right) and height (top / bottom).
            Defaults to 0.1.
        classes (Sequence[str], optional): Class names to keep, in label
            order; a subset of the file's classes. Defaults to the 10
            SUN RGB-D detection classes.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=SUNRGBD_CLASSES)

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = dict(
                     img_path='sunrgbd_trainval/image'),
                 min_box_size: float = 16.,
                 context_ratio: float = 0.1,
                 classes: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if min_box_size < 0:
            raise ValueError(f'min_box_size must be >= 0, got {min_box_size}')
        if context_ratio < 0:
            raise ValueError(
                f'context_ratio must be >= 0, got {context_ratio}')
        self.min_box_size = float(min_box_size)
        self.context_ratio = float(context_ratio)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            classes=classes,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Turn every usable 2D box of the info file into a sample.

        Returns:
            list[dict]: One dict per kept box (see the class docstring).
        """
        infos, names, class_to_idx = load_object_infos(
            self.ann_file, self.CLASSES, self._metainfo)

        data_list, skipped = [], Counter()
        num_boxes = num_images = 0
        for scene_idx, info in enumerate(infos['data_list']):
            instances = info.get('instances') or []
            num_boxes += len(instances)
            if not instances:
                continue
            try:
                cam = info['images']['CAM0']
                img_path = osp.join(self.img_prefix, cam['img_path'])
            except (KeyError, TypeError):
                raise ValueError(
                    f'{self.ann_file}: data_list[{scene_idx}] has no '
                    'images.CAM0.img_path') from None
            height, width = cam.get('height'), cam.get('width')
            kept = 0
            for instance_idx, instance in enumerate(instances):
                sample = self._parse_instance(instance, class_to_idx, names,
                                              width, height, skipped,
                                              scene_idx, instance_idx)
                if sample is None:
                    continue
                sample.update(
                    img_path=img_path,
                    scene_idx=scene_idx,
                    instance_idx=instance_idx)
                data_list.append(sample)
                kept += 1
            num_images += kept > 0
        if num_boxes == 0:
            raise ValueError(
                f'{self.ann_file} has no object instances at all '
                f'({len(infos["data_list"])} scenes, no instances[*].bbox): '
                'the object crop dataset needs 2D box annotations')
        reasons = ', '.join(f'{count} {why}'
                            for why, count in sorted(skipped.items()))
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: none of its {num_boxes} boxes is usable '
                f'({reasons}); lower min_box_size ({self.min_box_size:g}) '
                'or check classes')
        print_log(
            f'{self.ann_file}: {len(data_list)} object crops of '
            f'{num_boxes} boxes in {num_images} images' +
            (f'; skipped {reasons}' if skipped else ''),
            logger='current')
        return data_list

    def _parse_instance(self, instance: dict, class_to_idx: dict, names: dict,
                        width: Optional[float], height: Optional[float],
                        skipped: Counter, scene_idx: int,
                        instance_idx: int) -> Optional[dict]:
        """One sample from one instance, or None (counted in ``skipped``)."""
        try:
            box = np.asarray(instance['bbox'], dtype=np.float64)
            label = int(instance['bbox_label'])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f'{self.ann_file}: data_list[{scene_idx}].instances'
                f'[{instance_idx}] lacks a bbox [x1, y1, x2, y2] or a '
                'bbox_label') from None
        if box.shape != (4, ) or not np.all(np.isfinite(box)):
            raise ValueError(
                f'{self.ann_file}: data_list[{scene_idx}].instances'
                f'[{instance_idx}].bbox must be 4 finite numbers, got '
                f'{instance["bbox"]}')
        name = names.get(label)
        if name not in class_to_idx:
            skipped['of classes not in the dataset\'s classes'] += 1
            return None
        clipped = box.copy()
        if width is not None and height is not None:
            clipped = np.clip(box, 0, [width, height, width, height])
        box_w, box_h = clipped[2] - clipped[0], clipped[3] - clipped[1]
        if box_w <= 0 or box_h <= 0:
            skipped['outside the image or empty'] += 1
            return None
        if min(box_w, box_h) < self.min_box_size:
            skipped['smaller than min_box_size='
                    f'{self.min_box_size:g} px'] += 1
            return None
        pad = self.context_ratio * np.array([-box_w, -box_h, box_w, box_h])
        crop = clipped + pad
        if width is not None and height is not None:
            crop = np.clip(crop, 0, [width, height, width, height])
        return dict(
            gt_label=class_to_idx[name],
            bbox=box.astype(np.float32),
            crop_bbox=crop.astype(np.float32))

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return super().extra_repr() + [
            f'Min box size: \t{self.min_box_size:g} px',
            f'Context ratio: \t{self.context_ratio:g}'
        ]
