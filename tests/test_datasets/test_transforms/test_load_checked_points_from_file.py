"""LoadCheckedPointsFromFile: mmdet3d loading plus clear file errors."""
import numpy as np
import pytest

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import DepthPoints
from projects.pimae.pimae.datasets import (BadSampleError,
                                           LoadCheckedPointsFromFile)


def _results(path):
    return dict(
        sample_idx=7,
        lidar_points=dict(lidar_path=str(path)),
        img_path='image/000008.jpg')


def _good(n=50):
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, (n, 6)).astype(np.float32)
    points[:, 3:] = rng.uniform(0, 1, (n, 3))
    return points


def test_loads_like_mmdet3d(tmp_path):
    path = tmp_path / 'p.bin'
    points = _good()
    points.tofile(path)
    load = TRANSFORMS.build(dict(type='LoadCheckedPointsFromFile'))
    out = load(_results(path))['points']
    assert isinstance(out, DepthPoints)
    np.testing.assert_array_equal(out.tensor.numpy(), points)
    np.testing.assert_array_equal(out.color.numpy(), points[:, 3:])
    reference = TRANSFORMS.build(
        dict(
            type='LoadPointsFromFile',
            coord_type='DEPTH',
            load_dim=6,
            use_dim=[0, 1, 2, 3, 4, 5],
            use_color=True))
    np.testing.assert_array_equal(
        reference(_results(path))['points'].tensor.numpy(), points)
    np.save(tmp_path / 'p.npy', points)
    np.testing.assert_array_equal(
        load(_results(tmp_path / 'p.npy'))['points'].tensor.numpy(), points)
    xyz_only = LoadCheckedPointsFromFile(use_dim=[0, 1, 2], use_color=False)
    assert xyz_only(_results(path))['points'].shape == (50, 3)
    # row-major, unlike mmdet3d's (its column selection is column-major),
    # so that the row gathers of sampling and FPS read whole rows
    assert not reference(_results(path))['points'].tensor.is_contiguous()
    assert out.tensor.is_contiguous()
    np.testing.assert_array_equal(
        xyz_only(_results(path))['points'].tensor.numpy(), points[:, :3])


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(use_dim=[0, 1, 2], use_color=False),
    dict(use_dim=2, use_color=False),
    dict(load_dim=7, use_dim=[0, 1, 2, 4, 5, 6]),
    dict(load_dim=7, use_dim=[2, 0, 1, 6, 5, 4], coord_type='LIDAR'),
    dict(shift_height=True),
])
def test_equal_to_mmdet3d_for_every_column_choice(tmp_path, kwargs):
    """The row-major selection gives mmdet3d's points, type and
    attributes (the independent oracle) for any ``use_dim``."""
    load_dim = kwargs.get('load_dim', 6)
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 1, (40, load_dim)).astype(np.float32)
    path = tmp_path / 'p.bin'
    points.tofile(path)
    cfg = dict(coord_type='DEPTH', load_dim=6, use_dim=[0, 1, 2, 3, 4, 5],
               use_color=True)
    cfg.update(kwargs)
    ours = TRANSFORMS.build(dict(type='LoadCheckedPointsFromFile', **cfg))
    theirs = TRANSFORMS.build(dict(type='LoadPointsFromFile', **cfg))
    out = ours(_results(path))['points']
    expected = theirs(_results(path))['points']
    assert type(out) is type(expected)
    assert out.attribute_dims == expected.attribute_dims
    np.testing.assert_array_equal(out.tensor.numpy(),
                                  expected.tensor.numpy())
    assert out.tensor.is_contiguous()
    out.tensor[0, 0] = -1.  # its own, writable memory
    assert ours(_results(path))['points'].tensor[0, 0] != -1.


def test_use_color_needs_six_columns():
    with pytest.raises(ValueError, match='at least 6 columns'):
        LoadCheckedPointsFromFile(use_dim=[0, 1, 2], use_color=True)


@pytest.mark.parametrize('case, message', [
    ('missing', 'does not exist'),
    ('truncated', 'not a multiple of 24'),
    ('odd_bytes', 'not a multiple of 24'),
    ('empty', 'is empty'),
    ('nan', '2 points with NaN or Inf values (first at row 3'),
    ('inf', 'NaN or Inf'),
    ('colour', 'outside color_range'),
    ('npy_shape', 'expected (N, load_dim=6)'),
])
def test_bad_files_named(tmp_path, case, message):
    path = tmp_path / ('p.npy' if case == 'npy_shape' else 'p.bin')
    points = _good()
    if case == 'truncated':
        path.write_bytes(points.tobytes()[:-24 * 3 - 8])
    elif case == 'odd_bytes':
        path.write_bytes(points.tobytes() + b'\x00')
    elif case == 'empty':
        path.write_bytes(b'')
    elif case == 'nan':
        points[3, 2] = np.nan
        points[9, 0] = np.nan
        points.tofile(path)
    elif case == 'inf':
        points[0, 4] = -np.inf
        points.tofile(path)
    elif case == 'colour':
        points[:, 3:] *= 255.
        points.tofile(path)
    elif case == 'npy_shape':
        np.save(path, points[:, :5])
    with pytest.raises(BadSampleError) as info:
        LoadCheckedPointsFromFile()(_results(path))
    text = str(info.value)
    assert text.startswith('sample 7 (points: ')
    assert str(path) in text and message in text


def test_colour_range_options(tmp_path):
    path = tmp_path / 'p.bin'
    points = _good()
    points[:, 3:] *= 255.
    points.tofile(path)
    out = LoadCheckedPointsFromFile(color_range=(0, 255))(_results(path))
    assert out['points'].shape == (50, 6)
    out = LoadCheckedPointsFromFile(color_range=None)(_results(path))
    assert out['points'].shape == (50, 6)
    with pytest.raises(ValueError, match='color_range'):
        LoadCheckedPointsFromFile(color_range=(0, ))
