"""Load the points of one annotated 3D box, in the box's own frame (object
classification from detection annotations)."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..bad_sample_error import BadSampleError, describe_sample
from .load_checked_points_from_file import LoadCheckedPointsFromFile


def points_in_box_frame(xyz: np.ndarray,
                        box: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Which points lie in a yawed 3D box, and their coordinates in its frame.

    The box is mmdet3d's depth-frame box ``[x, y, z, dx, dy, dz, yaw]`` with
    ``(x, y, z)`` its gravity centre (as SUN RGB-D info files store
    ``bbox_3d``; ``DepthInstance3DBoxes(..., origin=(0.5, 0.5, 0.5))``),
    ``dx`` / ``dy`` the sizes along the box's own x / y axes and ``yaw`` the
    counter-clockwise rotation about z. The box frame has its origin at the
    gravity centre and its x axis along the box's x axis:
    ``local = Rz(-yaw) @ (p - centre)``. Inside means what mmcv's
    ``points_in_boxes_all`` decides: ``|local_x| < dx / 2`` and
    ``|local_y| < dy / 2`` (open) and ``|local_z| <= dz / 2`` (closed).

    Args:
        xyz (np.ndarray): Points (N, 3) in the depth frame.
        box (np.ndarray): The box, (7, ).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``inside`` (N, ) bool and ``local``
        (N, 3) float64, the coordinates of all points in the box frame.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)
    shift = xyz - box[:3]
    cos, sin = np.cos(box[6]), np.sin(box[6])
    local = np.stack([
        shift[:, 0] * cos + shift[:, 1] * sin,
        -shift[:, 0] * sin + shift[:, 1] * cos, shift[:, 2]
    ], axis=1)
    half = box[3:6] / 2
    inside = ((np.abs(local[:, 0]) < half[0]) &
              (np.abs(local[:, 1]) < half[1]) &
              (np.abs(local[:, 2]) <= half[2]))
    return inside, local


@TRANSFORMS.register_module()
class LoadPointsInBox3D(BaseTransform):
    """Load a scene's points and keep those inside one 3D box, in its frame.

    The scene file is read by :class:`LoadCheckedPointsFromFile` (a missing,
    truncated or non-finite file raises ``BadSampleError`` naming it); the
    points inside ``crop_box_3d`` (see :func:`points_in_box_frame`; the
    annotated box grown by :class:`SUNRGBDPointCropDataset`'s
    ``box_margin``) are rotated
    into the box frame (x along the box's x axis, z up), centred on the box's
    gravity centre and multiplied by the fixed factor ``scale``. They are
    not divided by the box size: the object keeps its metric size, which is
    a cue of its class (a night stand and a dresser differ mostly in size),
    and the coordinates stay in the metres PiMAE was pre-trained in. Extra
    channels of ``use_dim`` (e.g. colour, columns 3-5 of SUN RGB-D) follow
    unchanged.

    Required keys: ``lidar_path`` (str), ``crop_box_3d`` ((7, ), gravity
    centre, sizes, yaw in the depth frame).

    Added keys: ``points`` ((M, len(use_dim)) float32 array),
    ``num_box_points`` (int, M).

    Args:
        load_dim (int): Values per point in the file. Defaults to 6.
        use_dim (Sequence[int]): Columns to keep, xyz (0, 1, 2) first.
            Defaults to (0, 1, 2).
        scale (float): Factor applied to the box-frame xyz. Defaults to 1.
        backend_args (dict, optional): MMEngine file backend arguments.
            Defaults to None.
    """

    def __init__(self,
                 load_dim: int = 6,
                 use_dim: Sequence[int] = (0, 1, 2),
                 scale: float = 1.,
                 backend_args: Optional[dict] = None) -> None:
        use_dim = [int(d) for d in use_dim]
        if use_dim[:3] != [0, 1, 2]:
            raise ValueError(f'use_dim must start with the xyz columns '
                             f'(0, 1, 2), got {use_dim}')
        if not scale > 0:
            raise ValueError(f'scale must be > 0, got {scale}')
        self.use_dim = use_dim
        self.scale = float(scale)
        self._loader = LoadCheckedPointsFromFile(
            coord_type='DEPTH',
            load_dim=load_dim,
            use_dim=use_dim,
            use_color=False,
            backend_args=backend_args)

    def load_scene(self, lidar_path: str,
                   sample_idx: Optional[int] = None) -> np.ndarray:
        """Read a scene's points with the checks of
        :class:`LoadCheckedPointsFromFile`.

        Args:
            lidar_path (str): The point file.
            sample_idx (int, optional): The sample's index, for errors.
                Defaults to None.

        Returns:
            np.ndarray: (N, len(use_dim)) float32 points.
        """
        loaded = self._loader.transform(
            dict(lidar_points=dict(lidar_path=lidar_path),
                 sample_idx=sample_idx))
        return loaded['points'].tensor.numpy()

    def transform(self, results: dict) -> dict:
        """Crop ``results['crop_box_3d']`` out of the sample's scene.

        Args:
            results (dict): Result dict with ``lidar_path`` and
                ``crop_box_3d``.

        Returns:
            dict: ``results`` with ``points`` and ``num_box_points``.
        """
        sample = describe_sample(results)
        box = np.asarray(results['crop_box_3d'], dtype=np.float64)
        if box.shape != (7, ) or not np.isfinite(box).all():
            raise BadSampleError(
                sample, f'crop_box_3d must be 7 finite numbers, got '
                f'{results["crop_box_3d"]}')
        points = self.load_scene(results['lidar_path'],
                                 results.get('sample_idx'))
        inside, local = points_in_box_frame(points[:, :3], box)
        if not inside.any():
            raise BadSampleError(
                sample, f'no point of {results["lidar_path"]} lies in its '
                f'box {box.tolist()}')
        crop = points[inside].copy()
        crop[:, :3] = local[inside] * self.scale
        results['points'] = crop.astype(np.float32)
        results['num_box_points'] = int(inside.sum())
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(use_dim={self.use_dim}, '
                f'scale={self.scale:g})')
