"""Random horizontal image flip that keeps ``depth2img`` exact."""
from mmcv.transforms import RandomFlip

from mmdet3d.registry import TRANSFORMS
from ...geometry import depth2img_after_hflip


@TRANSFORMS.register_module()
class RandomImageFlipWithDepth2Img(RandomFlip):
    """mmcv's ``RandomFlip`` (horizontal) that also updates ``depth2img``.

    Only the image side is flipped (with any 2D annotations, as in mmcv);
    the points stay as they are and ``depth2img`` is updated so that each
    point still projects onto its (now mirrored) pixel. Only horizontal
    flips are supported.

    Required Keys:

    - img, depth2img

    Modified Keys:

    - img, depth2img (and mmcv ``RandomFlip``'s: gt_bboxes, ...)

    Added Keys:

    - flip (bool), flip_direction (str | None)

    Args:
        prob (float): Flip probability. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        super().__init__(prob=prob, direction='horizontal')

    def _flip(self, results: dict) -> None:
        """Flip the image (mmcv) and update ``depth2img``.

        Args:
            results (dict): Result dict; ``flip_direction`` is
                'horizontal'.
        """
        super()._flip(results)
        results['depth2img'] = depth2img_after_hflip(results['depth2img'],
                                                     results['img'].shape[1])
