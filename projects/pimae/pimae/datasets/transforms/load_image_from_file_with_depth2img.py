"""Image loading that can decode a JPEG at a reduced scale and keeps
``depth2img`` exact."""
import io
from typing import Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine.fileio import get
from PIL import Image

from mmdet3d.registry import TRANSFORMS
from ...geometry import check_depth2img, depth2img_after_resize
from ..bad_sample_error import BadSampleError, describe_sample

#: libjpeg's DCT scales and the OpenCV flags that decode at them.
_REDUCED_FLAGS = {
    'color': {
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8
    },
    'grayscale': {
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8
    },
}
_EXIF_ORIENTATION = 0x0112


def jpeg_decode_scale(width: int, height: int,
                      min_shape: Sequence[int]) -> int:
    """The largest JPEG DCT scale ``s`` in (8, 4, 2) that divides the image
    and keeps it at least ``min_shape``; 1 when none does.

    Decoding at ``1 / s`` maps pixel ``i`` of the output to source pixels
    ``[s * i, s * i + s)``, i.e. the edge coordinate scales by exactly
    ``1 / s``, which is what :func:`depth2img_after_resize` assumes. Only an
    image whose sides are multiples of ``s`` has no partial last block, so
    only such a scale is chosen.

    Args:
        width (int): Width of the stored image.
        height (int): Height of the stored image.
        min_shape (Sequence[int]): Smallest accepted (H, W) after decoding.

    Returns:
        int: 8, 4, 2 or 1.
    """
    min_h, min_w = min_shape
    for scale in (8, 4, 2):
        if (width % scale == 0 and height % scale == 0
                and width // scale >= min_w and height // scale >= min_h):
            return scale
    return 1


@TRANSFORMS.register_module()
class LoadImageFromFileWithDepth2Img(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that can decode a JPEG at 1/2, 1/4 or
    1/8 of its size and updates ``depth2img`` to match.

    A pipeline that resizes the image to (H, W) = (256, 352) decodes
    SUN RGB-D's 530 x 730 JPEGs at 265 x 365 with ``min_shape=(256, 352)``:
    libjpeg then runs a reduced inverse DCT instead of the full one and the
    resize has a quarter of the pixels to read, which together save about
    half of the image's cost in a data worker. The reduced decode averages
    each ``s x s`` block, so its result is close to an area-averaged
    downscale of the full image, not equal to the full decode (the tests
    bound the difference). The geometry is exact: ``depth2img`` is scaled
    by ``1 / s`` (:func:`jpeg_decode_scale` says why), ``ori_shape`` stays
    the stored image's (H, W) and ``scale_factor`` is set to
    ``(1 / s, 1 / s)``, which :class:`ResizeWithDepth2Img` composes with its
    own factor, so that ``ori_shape * scale_factor`` is still the final
    image shape.

    With ``min_shape=None``, for files that are not JPEG, for JPEGs with an
    EXIF rotation, and when no scale divides the image and keeps
    ``min_shape``, the image is decoded in full exactly as by mmcv's
    ``LoadImageFromFile``.

    A missing or undecodable file raises :class:`BadSampleError` naming the
    sample and the file; so does a malformed ``depth2img`` when it has to
    be scaled.

    Required Keys:

    - img_path
    - depth2img (np.ndarray, optional): (3, 3); scaled when the image is
      decoded at a reduced scale.

    Modified Keys:

    - depth2img

    Added Keys:

    - img (np.ndarray): (H, W, 3) uint8 BGR (``color_type='color'``).
    - img_shape (tuple[int, int]): (H, W) of ``img``.
    - ori_shape (tuple[int, int]): (H, W) of the stored image.
    - scale_factor (tuple[float, float]): ``(1 / s, 1 / s)``, only when
      decoded at a reduced scale.

    Args:
        min_shape (Sequence[int], optional): Smallest (H, W) the image may be
            decoded at: the size the pipeline resizes to. None decodes every
            image in full. Defaults to None.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``backend_args``...). A
            reduced decode needs ``color_type`` 'color' or 'grayscale' and
            the 'cv2' backend.
    """

    def __init__(self,
                 min_shape: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if min_shape is not None:
            if len(min_shape) != 2 or min(min_shape) < 1:
                raise ValueError('min_shape must be (H, W) with positive '
                                 f'sides, got {min_shape}')
            if self.color_type not in _REDUCED_FLAGS or \
                    self.imdecode_backend != 'cv2':
                raise ValueError(
                    "min_shape needs color_type 'color' or 'grayscale' and "
                    f"imdecode_backend 'cv2', got {self.color_type!r} and "
                    f'{self.imdecode_backend!r}')
            min_shape = (int(min_shape[0]), int(min_shape[1]))
        self.min_shape: Optional[Tuple[int, int]] = min_shape

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict | None: ``results`` with the image; None for a missing or
            undecodable file with ``ignore_empty=True``, as in mmcv.
        """
        if self.file_client_args is not None:  # mmcv's deprecated path
            return super().transform(results)
        filename = results['img_path']
        try:
            data = get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            if self.ignore_empty:
                return None
            raise BadSampleError(
                describe_sample(results),
                f'image file {filename} does not exist') from None
        stored_shape, scale = self._stored_shape_and_scale(data)
        if scale == 1:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        else:
            img = cv2.imdecode(
                np.frombuffer(data, np.uint8),
                _REDUCED_FLAGS[self.color_type][scale])
        if img is None:
            if self.ignore_empty:
                return None
            raise BadSampleError(
                describe_sample(results),
                f'image file {filename} ({len(data)} bytes) could not be '
                'decoded: empty, truncated or not an image')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = stored_shape or img.shape[:2]
        if scale != 1:
            self._check_reduced_shape(img.shape[:2], stored_shape, scale,
                                      filename, results)
            results['scale_factor'] = (1. / scale, 1. / scale)
            if results.get('depth2img') is not None:
                try:
                    depth2img = check_depth2img(results['depth2img'])
                except ValueError as error:
                    raise BadSampleError(describe_sample(results),
                                         str(error)) from None
                results['depth2img'] = depth2img_after_resize(
                    depth2img, (1. / scale, 1. / scale))
        return results

    def _stored_shape_and_scale(
            self, data: bytes) -> Tuple[Optional[Tuple[int, int]], int]:
        """(H, W) from the file's header and the decode scale to use."""
        if self.min_shape is None or data[:2] != b'\xff\xd8':
            return None, 1
        try:
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
                if header.format != 'JPEG' or header.getexif().get(
                        _EXIF_ORIENTATION, 1) != 1:
                    return None, 1
        except (OSError, SyntaxError, ValueError):
            return None, 1  # mmcv's decoder says what is wrong
        return (height, width), jpeg_decode_scale(width, height,
                                                  self.min_shape)

    @staticmethod
    def _check_reduced_shape(shape: Tuple[int, int], stored: Tuple[int, int],
                             scale: int, filename: str,
                             results: dict) -> None:
        """The decoder must have returned exactly ``stored / scale``."""
        expected = (stored[0] // scale, stored[1] // scale)
        if tuple(shape) != expected:
            raise BadSampleError(
                describe_sample(results),
                f'image file {filename}: its header says (H, W) = {stored}, '
                f'but decoding at 1/{scale} gave {tuple(shape)}, not '
                f'{expected}')

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', min_shape={self.min_shape})'
