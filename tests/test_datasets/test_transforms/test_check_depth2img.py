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


def _scene(depth2img, num_points=5000, seed=0):
    """Points in front of GOOD's camera (730x530 image), in the depth frame:
    u = 529.5 x / y + 365, v = 265 - 529.5 z / y (1-based pixels)."""
    from mmdet3d.structures import DepthPoints
    rng = np.random.default_rng(seed)
    y = rng.uniform(1., 5., num_points)
    x = rng.uniform(-0.6, 0.6, num_points) * y
    z = rng.uniform(-0.45, 0.45, num_points) * y
    points = DepthPoints(np.stack([x, y, z], 1).astype(np.float32),
                         points_dim=3)
    results = _results(np.array(depth2img, np.float32))
    results.update(points=points, img_shape=(530, 730))
    return results


def test_points_projecting_into_the_image_pass():
    out = CheckDepth2Img()(_scene(GOOD))
    np.testing.assert_allclose(out['depth2img'], GOOD)


def test_transposed_matrix_is_a_bad_sample():
    transposed = np.array(GOOD).T
    # oracle: by the formula, how many points the transposed matrix keeps
    results = _scene(transposed)
    xyz = results['points'].tensor.numpy().astype(np.float64)
    uvz = xyz @ transposed.T
    u, v = uvz[:, 0] / uvz[:, 2] - 1, uvz[:, 1] / uvz[:, 2] - 1
    inside = (uvz[:, 2] > 0) & (u >= -0.5) & (u < 729.5) & (v >= -0.5) & (
        v < 529.5)
    assert inside.mean() < 0.5  # the premise of the test
    with pytest.raises(BadSampleError) as info:
        CheckDepth2Img()(results)
    text = str(info.value)
    assert text.startswith('sample 4 (points: points/000005.bin')
    assert f'only {100 * inside[::4].mean():.1f}% of its points' in text
    assert 'depth2img is wrong' in text
    # switched off, the same sample passes
    CheckDepth2Img(min_in_image=0.)(_scene(transposed))


def test_check_options_are_validated():
    with pytest.raises(ValueError, match='min_in_image'):
        CheckDepth2Img(min_in_image=1.5)
    with pytest.raises(ValueError, match='max_check_points'):
        CheckDepth2Img(max_check_points=0)
