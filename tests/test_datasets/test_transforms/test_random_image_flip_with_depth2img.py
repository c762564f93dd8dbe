"""RandomImageFlipWithDepth2Img: mirrored image, depth2img follows."""
import numpy as np
import pytest

from mmdet3d.registry import TRANSFORMS
from projects.pimae.pimae.datasets import RandomImageFlipWithDepth2Img
from ..conftest import colour_errors, scene_results


def test_flip_keeps_projection():
    res = scene_results(seed=5)
    raw, d2i = res['img'].copy(), res['depth2img'].copy()
    flip = TRANSFORMS.build(
        dict(type='RandomImageFlipWithDepth2Img', prob=1.0))
    out = flip(res)
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['img'], raw[:, ::-1])
    err = colour_errors(out)
    assert np.median(err) <= 3 and (err > 20).mean() < 0.05
    out['depth2img'] = d2i
    assert (colour_errors(out) > 20).mean() > 0.2


def test_no_flip_leaves_everything():
    res = scene_results(seed=5)
    raw, d2i = res['img'].copy(), res['depth2img'].copy()
    out = RandomImageFlipWithDepth2Img(prob=0.)(res)
    assert not out['flip']
    np.testing.assert_array_equal(out['img'], raw)
    np.testing.assert_array_equal(out['depth2img'], d2i)


def test_flip_box_edges_like_mmcv():
    res = scene_results(seed=5)
    res['gt_bboxes'] = np.array([[10., 20., 50., 60.]], np.float32)
    out = RandomImageFlipWithDepth2Img(prob=1.)(res)
    np.testing.assert_allclose(out['gt_bboxes'], [[190., 20., 230., 60.]])


def test_random_rate():
    np.random.seed(0)
    flip = RandomImageFlipWithDepth2Img(prob=0.5)
    flips = [
        flip(scene_results(seed=1, width=40, height=30, num_points=10))['flip']
        for _ in range(40)
    ]
    assert 8 < sum(flips) < 32
    with pytest.raises(TypeError):
        RandomImageFlipWithDepth2Img(direction='vertical')
