"""CheckDepth2Img: missing or singular calibration names the sample."""
import numpy as np
import pytest

from mmdet3d.registry import TRANSFORMS
from projects.pimae.pimae.datasets import BadSampleError, CheckDepth2Img

GOOD = [[529.5, 365., 0.], [0., 265., -529.5], [0., 1., 0.]]


def _results(depth2img, drop=False):
    results = dict(
        sample_idx=4,
        img_path='image/000005.jpg',
        lidar_points=dict(lidar_path='points/000005.bin'))
    if not drop:
        results['depth2img'] = depth2img
    return results


def test_valid_matrix_becomes_float64():
    check = TRANSFORMS.build(dict(type='CheckDepth2Img'))
    out = check(_results(np.array(GOOD, np.float32)))
    assert out['depth2img'].dtype == np.float64
    np.testing.assert_allclose(out['depth2img'], GOOD)


@pytest.mark.parametrize('value, drop, message', [
    (None, True, 'depth2img is missing'),
    (None, False, 'depth2img is missing'),
    ([[1., 2., 3.], [2., 4., 6.], [0., 1., 0.]], False, 'singular'),
    ([[0., 0., 0.], [0., 1., 0.], [0., 0., 1.]], False, 'singular'),
    ([[np.nan, 0., 0.], [0., 1., 0.], [0., 0., 1.]], False, 'non-finite'),
    ([[1., 0.], [0., 1.]], False, 'shape (3, 3)'),
])
def test_bad_matrix_named(value, drop, message):
    with pytest.raises(BadSampleError) as info:
        CheckDepth2Img()(_results(value, drop))
    text = str(info.value)
    assert text.startswith('sample 4 (points: points/000005.bin, image: '
                           'image/000005.jpg)')
    assert message in text
