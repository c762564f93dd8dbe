"""Point loading that rejects malformed files with a clear message."""
import io
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.fileio import get

from mmdet3d.datasets.transforms import LoadPointsFromFile
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures.points import get_points_type
from ..bad_sample_error import BadSampleError, describe_sample


def _select_columns(points: np.ndarray, use_dim: Sequence[int]) -> np.ndarray:
    """Copy the columns ``use_dim`` of ``points`` into a new row-major array.

    Args:
        points (np.ndarray): (N, load_dim) points (may be read-only).
        use_dim (Sequence[int]): Columns to keep, in order.

    Returns:
        np.ndarray: (N, len(use_dim)), C-contiguous and writable.
    """
    first = use_dim[0]
    if list(use_dim) == list(range(first, first + len(use_dim))):
        return points[:, first:first + len(use_dim)].copy()
    return np.ascontiguousarray(points[:, list(use_dim)])


@TRANSFORMS.register_module()
class LoadCheckedPointsFromFile(LoadPointsFromFile):
    """mmdet3d's ``LoadPointsFromFile`` plus validation of the file.

    Loading works exactly as in mmdet3d (``coord_type='DEPTH'``,
    ``load_dim=6``, ``use_dim=[0, 1, 2, 3, 4, 5]``, ``use_color=True`` for
    SUN RGB-D: xyz in the depth frame and rgb in [0, 1]), but a file that
    is missing, empty, truncated (size not a multiple of ``load_dim``
    float32), contains NaN / Inf, or has colours outside ``color_range``
    raises :class:`BadSampleError` naming the sample and the file, instead
    of a reshape error or silently wrong points.

    Required Keys:

    - lidar_points (dict): ``lidar_path``.

    Added Keys:

    - points (:obj:`BasePoints`): (N, len(use_dim)), a row-major tensor
      (mmdet3d's column selection leaves a column-major one).

    Args:
        coord_type (str): 'DEPTH', 'LIDAR' or 'CAMERA'. Defaults to 'DEPTH'.
        load_dim (int): Values per point in the file. Defaults to 6.
        use_dim (list[int] | int): Columns to keep. Defaults to
            [0, 1, 2, 3, 4, 5].
        use_color (bool): Mark the last 3 kept columns as ``color``.
            Defaults to True.
        color_range (tuple[float, float], optional): Allowed colour range
            (checked on the last 3 kept columns when ``use_color``); ``None``
            skips the check. Defaults to (0., 1.) (SUN RGB-D).
        **kwargs: Other arguments of ``LoadPointsFromFile``
            (``shift_height``, ``norm_intensity``, ``backend_args`` ...).
    """

    def __init__(self,
                 coord_type: str = 'DEPTH',
                 load_dim: int = 6,
                 use_dim: Union[int, Sequence[int]] = (0, 1, 2, 3, 4, 5),
                 use_color: bool = True,
                 color_range: Optional[Sequence[float]] = (0., 1.),
                 **kwargs) -> None:
        super().__init__(
            coord_type=coord_type,
            load_dim=load_dim,
            use_dim=list(use_dim) if not isinstance(use_dim, int) else use_dim,
            use_color=use_color,
            **kwargs)
        if use_color and len(self.use_dim) < 6:
            raise ValueError(
                f'use_color=True needs xyz + rgb, i.e. at least 6 columns in '
                f'use_dim, got {self.use_dim}')
        if color_range is not None and len(color_range) != 2:
            raise ValueError(f'color_range must be (low, high), got '
                             f'{color_range}')
        self.color_range = None if color_range is None else tuple(
            float(c) for c in color_range)
        self._sample = 'sample'

    def _load_points(self, pts_filename: str) -> np.ndarray:
        """Load and validate one point file.

        Replaces ``LoadPointsFromFile._load_points`` (same file formats and
        ``backend_args``) so that a bad file is reported before numpy
        raises a generic buffer or reshape error.

        Args:
            pts_filename (str): Path of the ``.bin`` (float32) or ``.npy``
                file.

        Returns:
            np.ndarray: (N, load_dim) float32 points.

        Raises:
            BadSampleError: If the file is missing or malformed.
        """
        try:
            data = get(pts_filename, backend_args=self.backend_args)
        except FileNotFoundError:
            raise BadSampleError(
                self._sample,
                f'point file {pts_filename} does not exist') from None
        width = self.load_dim
        if pts_filename.endswith('.npy'):
            points = np.load(io.BytesIO(data))
            if points.ndim != 2 or points.shape[1] != width:
                raise BadSampleError(
                    self._sample, f'point file {pts_filename} has shape '
                    f'{points.shape}, expected (N, load_dim={width})')
        else:
            if len(data) % (4 * width) != 0:
                raise BadSampleError(
                    self._sample,
                    f'point file {pts_filename} has {len(data)} bytes, not '
                    f'a multiple of {4 * width} (load_dim={width} float32 '
                    'per point): truncated, or another point width')
            points = np.frombuffer(data, dtype=np.float32).reshape(-1, width)
        if len(points) == 0:
            raise BadSampleError(
                self._sample, f'point file {pts_filename} is empty (0 '
                'points)')
        # one pass without a per-row reduction (10x cheaper for 50000 x 6
        # points); the rows are looked up only for the error message
        if not np.isfinite(points).all():
            bad = np.flatnonzero(~np.isfinite(points).all(axis=1))
            raise BadSampleError(
                self._sample,
                f'point file {pts_filename} has {len(bad)} points with NaN '
                f'or Inf values (first at row {bad[0]}: '
                f'{points[bad[0]].tolist()})')
        if self.use_color and self.color_range is not None:
            color = points[:, self.use_dim[-3:]]
            low, high = self.color_range
            if color.min() < low or color.max() > high:
                raise BadSampleError(
                    self._sample, f'point file {pts_filename} has colours in '
                    f'[{color.min():.4g}, {color.max():.4g}], outside '
                    f'color_range {self.color_range} (e.g. 0-255 colours '
                    'need color_range=(0, 255))')
        return points.astype(np.float32, copy=False)

    def transform(self, results: dict) -> dict:
        """Load the sample's points.

        Args:
            results (dict): Result dict with ``lidar_points.lidar_path``.

        Returns:
            dict: ``results`` with ``points`` added.
        """
        self._sample = describe_sample(results)
        if self.shift_height or self.norm_intensity or self.norm_elongation:
            results = super().transform(results)
            points = results['points']
            if not points.tensor.is_contiguous():
                points.tensor = torch.from_numpy(
                    np.ascontiguousarray(points.tensor.numpy()))
            return results
        # mmdet3d's ``points[:, use_dim]`` gives a column-major array, on
        # which every later row gather (sampling, FPS) is ~15x slower, and
        # reordering it costs 10x a plain copy: select the columns row-major
        points = _select_columns(
            self._load_points(results['lidar_points']['lidar_path']),
            self.use_dim)
        attribute_dims = None
        if self.use_color:
            width = points.shape[1]
            attribute_dims = dict(color=[width - 3, width - 2, width - 1])
        results['points'] = get_points_type(self.coord_type)(
            points, points_dim=points.shape[1], attribute_dims=attribute_dims)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(coord_type={self.coord_type}, '
                f'load_dim={self.load_dim}, use_dim={self.use_dim}, '
                f'use_color={self.use_color}, '
                f'color_range={self.color_range})')
