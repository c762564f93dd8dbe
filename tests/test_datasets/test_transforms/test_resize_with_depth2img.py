"""ResizeWithDepth2Img: mmcv's resize, with depth2img kept exact."""
import mmcv
import numpy as np
import pytest

from mmdet3d.registry import TRANSFORMS
from projects.pimae.pimae.datasets import ResizeWithDepth2Img
from projects.pimae.pimae.geometry import depth2img_after_resize
from ..conftest import colour_errors, scene_results


@pytest.mark.parametrize('scale, keep_ratio, shape', [
    ((352, 256), False, (256, 352)),
    ((120, 90), False, (90, 120)),
    ((500, 300), True, (300, 400)),
])
def test_projection_stays_on_content(scale, keep_ratio, shape):
    res = scene_results(seed=3)  # 240x180 rendered image
    before = colour_errors(res)
    d2i = res['depth2img'].copy()
    raw = res['img'].copy()
    resize = TRANSFORMS.build(
        dict(type='ResizeWithDepth2Img', scale=scale, keep_ratio=keep_ratio))
    out = resize(res)
    assert out['img'].shape[:2] == shape and out['img_shape'] == shape
    # the image is exactly mmcv's resize
    np.testing.assert_array_equal(out['img'], mmcv.imresize(raw, shape[::-1]))
    np.testing.assert_allclose(
        out['depth2img'],
        depth2img_after_resize(d2i, (shape[1] / 240, shape[0] / 180)))
    after = colour_errors(out)
    assert np.median(before) <= 1  # rendered pixels, no JPEG
    # resampling averages the renderer's per-pixel noise (std 3)
    assert np.median(after) <= 6, np.median(after)
    assert (after > 20).mean() < 0.05
    # an un-updated depth2img would be wrong
    out['depth2img'] = d2i
    assert (colour_errors(out) > 20).mean() > 0.2


def test_defaults():
    resize = ResizeWithDepth2Img()
    assert resize.scale == (352, 256) and not resize.keep_ratio
