"""Validate a sample's ``depth2img`` before anything uses it."""
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from ...geometry import check_depth2img
from ..bad_sample_error import BadSampleError, describe_sample


@TRANSFORMS.register_module()
class CheckDepth2Img(BaseTransform):
    """Check that ``depth2img`` exists and is a finite, invertible 3x3 matrix.

    Put it right after loading so that a sample with broken calibration
    fails with a message naming it, rather than producing wrong projections
    later. The matrix is stored back as float64 so that the
    ``depth2img``-updating transforms compose it without float32 rounding.

    Required Keys:

    - depth2img (array-like | None): (3, 3), from ``SUNRGBDDataset``.

    Modified Keys:

    - depth2img (np.ndarray): (3, 3) float64.

    Args:
        rtol (float): Smallest accepted ``|det| / prod(row norms)``, see
            :func:`projects.pimae.pimae.geometry.check_matrix`. Defaults to
            1e-6.
    """

    def __init__(self, rtol: float = 1e-6) -> None:
        self.rtol = rtol

    def transform(self, results: dict) -> dict:
        """Validate ``results['depth2img']``.

        Args:
            results (dict): Result dict.

        Returns:
            dict: ``results`` with a float64 ``depth2img``.

        Raises:
            BadSampleError: If the matrix is missing, malformed, non-finite
                or singular.
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
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(rtol={self.rtol})'
