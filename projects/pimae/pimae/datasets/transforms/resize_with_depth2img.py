"""Image resize that keeps ``depth2img`` exact."""
from mmcv.transforms import Resize

from mmdet3d.registry import TRANSFORMS
from ...geometry import depth2img_after_resize


@TRANSFORMS.register_module()
class ResizeWithDepth2Img(Resize):
    """mmcv's ``Resize`` that also updates ``depth2img``.

    The image (and any 2D boxes, segmentation maps, keypoints) is resized
    exactly as by mmcv's ``Resize``; ``depth2img`` is then updated with the
    ratio of the actual output size to the input size, so that projected
    points land on the same content in the resized image. A
    ``scale_factor`` already in ``results`` (set by
    :class:`LoadImageFromFileWithDepth2Img` after a reduced decode) is
    multiplied by this resize's, so that ``scale_factor`` keeps mapping
    ``ori_shape`` to ``img_shape``. PiMAE uses
    ``scale=(352, 256), keep_ratio=False`` (width 352, height 256).

    Required Keys:

    - img, depth2img

    Modified Keys:

    - img, img_shape, depth2img (and mmcv ``Resize``'s: gt_bboxes, ...)
    - scale_factor (composed with an earlier one, see above)

    Added Keys:

    - scale, scale_factor (when absent before), keep_ratio

    Args:
        scale (tuple[int, int]): Target ``(width, height)``. Defaults to
            (352, 256).
        keep_ratio (bool): Keep the aspect ratio (then ``scale`` bounds the
            long / short edges, as in mmcv). Defaults to False.
        **kwargs: Other arguments of mmcv's ``Resize`` (``interpolation``,
            ``backend``, ``clip_object_border`` ...).
    """

    def __init__(self,
                 scale=(352, 256),
                 keep_ratio: bool = False,
                 **kwargs) -> None:
        super().__init__(scale=scale, keep_ratio=keep_ratio, **kwargs)

    def transform(self, results: dict) -> dict:
        """Resize the image and update ``depth2img``.

        Args:
            results (dict): Result dict with ``img`` and ``depth2img``.

        Returns:
            dict: The resized results.
        """
        old_h, old_w = results['img'].shape[:2]
        prior = results.get('scale_factor')
        results = super().transform(results)
        new_h, new_w = results['img'].shape[:2]
        if prior is not None:  # e.g. a reduced JPEG decode before
            sx, sy = results['scale_factor']
            results['scale_factor'] = (prior[0] * sx, prior[1] * sy)
        results['depth2img'] = depth2img_after_resize(
            results['depth2img'], (new_w / old_w, new_h / old_h))
        return results
