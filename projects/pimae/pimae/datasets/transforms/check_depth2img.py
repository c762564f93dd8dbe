"""Validate a sample's ``depth2img`` before anything uses it."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from ...geometry import check_depth2img, points_in_image, project_points
from ..bad_sample_error import BadSampleError, describe_sample


@TRANSFORMS.register_module()
class CheckDepth2Img(BaseTransform):
    """Check that ``depth2img`` exists, is a finite, invertible 3x3 matrix,
    and maps the sample's points into its image.

    Put it right after loading the points and the image, so that a sample
    with broken calibration fails with a message naming it, rather than
    training on wrong projections. An invertible but wrong matrix (e.g. a
    transposed one) passes the matrix checks; it is caught by projecting up
    to ``max_check_points`` of the points (a fixed stride, no random draw)
    and requiring ``min_in_image`` of them in front of the camera and inside
    the image. SUN RGB-D's points are back-projected from the registered
    depth map, so nearly all of them project into the image. The matrix is
    stored back as float64 so that the ``depth2img``-updating transforms
    compose it without float32 rounding.

    Required Keys:

    - depth2img (array-like | None): (3, 3), from ``SUNRGBDDataset``.
    - points (BasePoints, optional): The loaded points.
    - img_shape (tuple[int, int], optional): (H, W) of the loaded image.

    Modified Keys:

    - depth2img (np.ndarray): (3, 3) float64.

    Args:
        rtol (float): Smallest accepted ``|det| / prod(row norms)``, see
            :func:`projects.pimae.pimae.geometry.check_matrix`. Defaults to
            1e-6.
        min_in_image (float): Smallest accepted fraction of the checked
            points that project into the image; 0 switches the projection
            check off. Defaults to 0.5.
        max_check_points (int): Number of points projected for that check
            at most. Defaults to 1024.
    """

    def __init__(self,
                 rtol: float = 1e-6,
                 min_in_image: float = 0.5,
                 max_check_points: int = 1024) -> None:
        if not 0. <= min_in_image <= 1.:
            raise ValueError(
                f'min_in_image must be in [0, 1], got {min_in_image}')
        if max_check_points < 1:
            raise ValueError(
                f'max_check_points must be >= 1, got {max_check_points}')
        self.rtol = rtol
        self.min_in_image = min_in_image
        self.max_check_points = max_check_points

    def transform(self, results: dict) -> dict:
        """Validate ``results['depth2img']``.

        Args:
            results (dict): Result dict.

        Returns:
            dict: ``results`` with a float64 ``depth2img``.

        Raises:
            BadSampleError: If the matrix is missing, malformed, non-finite
                or singular, or if fewer than ``min_in_image`` of the points
                project into the image.
        """
        sample = describe_sample(results)
        depth2img = results.get('depth2img')
        if depth2img is None:
            raise BadSampleError(
                sample, 'depth2img is missing (expected images.CAM0.'
                'depth2img in the info file)')
        try:
            results['depth2img'] = check_depth2img(
                depth2img, name='depth2img', rtol=self.rtol)
        except ValueError as error:
            raise BadSampleError(sample, str(error)) from None
        points, img_shape = results.get('points'), results.get('img_shape')
        if self.min_in_image > 0 and points is not None and img_shape:
            self._check_projection(points.tensor[:, :3].numpy(),
                                   results['depth2img'], img_shape[:2],
                                   sample)
        return results

    def _check_projection(self, xyz: np.ndarray, depth2img: np.ndarray,
                          img_shape: tuple, sample: str) -> None:
        """Raise when too few of (a stride of) ``xyz`` (N, 3) project into
        an image of ``img_shape`` (H, W)."""
        stride = max(1, len(xyz) // self.max_check_points)
        xyz = np.asarray(xyz[::stride], dtype=np.float64)
        if not len(xyz):
            return
        uv, depth = project_points(xyz, depth2img)
        inside = float(points_in_image(uv, depth, img_shape).mean())
        if inside < self.min_in_image:
            height, width = img_shape
            raise BadSampleError(
                sample, f'only {100 * inside:.1f}% of its points project '
                f'into its {width}x{height} image (at least '
                f'{100 * self.min_in_image:.0f}% required): depth2img is '
                'wrong (e.g. transposed) or the points and the image are '
                'of different scenes')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rtol={self.rtol}, '
                f'min_in_image={self.min_in_image}, '
                f'max_check_points={self.max_check_points})')
