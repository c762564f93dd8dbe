"""Object classification on SUN RGB-D points: one sample per annotated 3D
box."""
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .info_file import load_object_infos
from .sunrgbd_classes import SUNRGBD_CLASSES
from .transforms.load_points_in_box_3d import (LoadPointsInBox3D,
                                               points_in_box_frame)


@DATASETS.register_module()
class SUNRGBDPointCropDataset(BaseDataset):
    """The points of the annotated 3D objects of SUN RGB-D, labelled by class.

    Reads mmdet3d v1.x SUN RGB-D info files (``sunrgbd_infos_{train,val}.pkl``
    of mmdet3d's ``tools/create_data.py sunrgbd`` or of
    ``tools/create_demo_data.py``): every ``data_list`` entry has
    ``lidar_points.lidar_path`` (relative to ``data_prefix['pts']``) and
    ``instances`` with ``bbox_3d`` (``[x, y, z, dx, dy, dz, yaw]``, gravity
    centre in the depth frame) and ``bbox_label_3d`` (index into the file's
    classes, -1 for classes outside them). Each box becomes one sample
    ``dict(lidar_path, gt_label, bbox_3d, crop_box_3d, num_box_points,
    scene_idx, instance_idx)``, for :class:`LoadPointsInBox3D` (the points
    inside ``crop_box_3d``, in the box frame) and :class:`ResamplePoints` in
    the pipeline. ``crop_box_3d`` is the annotated box grown by
    ``box_margin`` on every side: points sampled on an object's surface lie
    on the faces of a tight box, where inside / outside is decided by
    rounding (half of them on the generated scenes), and SUN RGB-D's
    annotations are looser than a few centimetres anyway.

    Boxes are skipped, and counted in the log, when their class is not in
    ``classes`` (or is -1), when a size is not positive, or when fewer than
    ``min_points`` points of the scene lie inside their ``crop_box_3d``.
    Counting needs the points: every scene with a kept box is read once
    when the dataset is built. A bad file raises ``BadSampleError`` naming
    it; a malformed info entry a ``ValueError`` naming the entry.

    Args:
        ann_file (str): Info file, relative to ``data_root``.
        data_root (str): Dataset root. Defaults to ''.
        data_prefix (str | dict): Point folder, relative to ``data_root``.
            Defaults to ``dict(pts='points')``.
        min_points (int): Fewest points inside a kept box. Defaults to 50.
        box_margin (float): Growth of the box on every side, in metres.
            Defaults to 0.02.
        load_dim (int): Values per point in the point files. Defaults to 6.
        classes (Sequence[str], optional): Class names to keep, in label
            order; a subset of the file's classes. Defaults to the 10
            SUN RGB-D detection classes.
        backend_args (dict, optional): MMEngine file backend arguments of the
            point files. Defaults to None.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=SUNRGBD_CLASSES)

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = dict(pts='points'),
                 min_points: int = 50,
                 box_margin: float = 0.02,
                 load_dim: int = 6,
                 classes: Optional[Sequence[str]] = None,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if min_points < 1:
            raise ValueError(f'min_points must be >= 1, got {min_points}')
        if isinstance(data_prefix, str):
            data_prefix = dict(pts=data_prefix)
        if 'pts' not in data_prefix:
            raise ValueError("data_prefix must name the point folder as "
                             f"dict(pts=...), got {data_prefix}")
        if box_margin < 0:
            raise ValueError(f'box_margin must be >= 0, got {box_margin}')
        self.min_points = int(min_points)
        self.box_margin = float(box_margin)
        self._scene_loader = LoadPointsInBox3D(
            load_dim=load_dim, backend_args=backend_args)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            classes=classes,
            **kwargs)

    def _parse_instance(self, instance: dict, where: str) -> tuple:
        """(box (7, ) float64, label) of one instance, checked."""
        try:
            box = np.asarray(instance['bbox_3d'], dtype=np.float64)
            label = int(instance['bbox_label_3d'])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f'{where} lacks a bbox_3d [x, y, z, dx, dy, dz, yaw] or a '
                'bbox_label_3d') from None
        if box.shape != (7, ) or not np.isfinite(box).all():
            raise ValueError(f'{where}.bbox_3d must be 7 finite numbers, got '
                             f'{instance["bbox_3d"]}')
        return box, label

    def load_data_list(self) -> List[dict]:
        """Turn every usable 3D box of the info file into a sample.

        Returns:
            list[dict]: One dict per kept box (see the class docstring).
        """
        infos, names, class_to_idx = load_object_infos(
            self.ann_file, self.CLASSES, self._metainfo)

        data_list, skipped = [], Counter()
        num_boxes = num_scenes = 0
        for scene_idx, info in enumerate(infos['data_list']):
            where = f'{self.ann_file}: data_list[{scene_idx}]'
            kept = []
            for instance_idx, instance in enumerate(
                    info.get('instances') or []):
                box, label = self._parse_instance(
                    instance, f'{where}.instances[{instance_idx}]')
                num_boxes += 1
                if names.get(label) not in class_to_idx:
                    skipped['of classes not in the dataset\'s classes'] += 1
                elif not (box[3:6] > 0).all():
                    skipped['with a size <= 0'] += 1
                else:
                    kept.append((instance_idx, box,
                                 class_to_idx[names[label]]))
            if not kept:
                continue
            try:
                lidar_path = osp.join(self.data_prefix['pts'],
                                      info['lidar_points']['lidar_path'])
            except (KeyError, TypeError):
                raise ValueError(
                    f'{where} has no lidar_points.lidar_path') from None
            xyz = self._scene_loader.load_scene(lidar_path)[:, :3]
            num_kept = 0
            for instance_idx, box, label in kept:
                crop_box = box.copy()
                crop_box[3:6] += 2 * self.box_margin
                count = int(points_in_box_frame(xyz, crop_box)[0].sum())
                if count < self.min_points:
                    skipped['with fewer than min_points='
                            f'{self.min_points} points'] += 1
                    continue
                data_list.append(
                    dict(
                        lidar_path=lidar_path,
                        gt_label=label,
                        bbox_3d=box.astype(np.float32),
                        crop_box_3d=crop_box.astype(np.float32),
                        num_box_points=count,
                        scene_idx=scene_idx,
                        instance_idx=instance_idx))
                num_kept += 1
            num_scenes += num_kept > 0
        if num_boxes == 0:
            raise ValueError(
                f'{self.ann_file} has no object instances at all '
                f'({len(infos["data_list"])} scenes, no instances[*].'
                'bbox_3d): the point crop dataset needs 3D box annotations')
        reasons = ', '.join(f'{count} {why}'
                            for why, count in sorted(skipped.items()))
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: none of its {num_boxes} boxes is usable '
                f'({reasons}); lower min_points ({self.min_points}) or check '
                'classes')
        print_log(
            f'{self.ann_file}: {len(data_list)} object point crops of '
            f'{num_boxes} boxes in {num_scenes} scenes' +
            (f'; skipped {reasons}' if skipped else ''),
            logger='current')
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Prefix of points: \t{self.data_prefix["pts"]}',
            f'Min points: \t{self.min_points}',
            f'Box margin: \t{self.box_margin:g} m'
        ]
