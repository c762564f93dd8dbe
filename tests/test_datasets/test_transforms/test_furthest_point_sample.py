"""FurthestPointSample: the ops' CPU FPS on the xyz, with the small-cloud
repair."""
import numpy as np
import pytest
import torch

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import DepthPoints
from projects.pimae.pimae.datasets import BadSampleError, FurthestPointSample
from projects.pimae.pimae.ops import furthest_point_sample_numpy
from ..conftest import rows_in


def _results(n):
    points = np.random.default_rng(n).uniform(0, 1, (n, 6)).astype(np.float32)
    return dict(
        points=DepthPoints(
            points, points_dim=6, attribute_dims=dict(color=[3, 4, 5])),
        sample_idx=2,
        lidar_points=dict(lidar_path='points/x.bin'))


def test_matches_ops_fps():
    fps = TRANSFORMS.build(dict(type='FurthestPointSample', num_points=64))
    res = _results(1000)
    src = res['points'].tensor.numpy().copy()
    out = fps(res)['points']
    assert isinstance(out, DepthPoints) and out.shape == (64, 6)
    expected = furthest_point_sample_numpy(src[:, :3], 64, backend='torch')
    np.testing.assert_array_equal(out.tensor.numpy(), src[expected])
    # colours travel with their points
    np.testing.assert_array_equal(out.color.numpy(), src[expected, 3:])
    # evenly spread: FPS keeps the minimum spacing larger than a random pick
    d = torch.cdist(out.coord, out.coord) + torch.eye(64) * 10
    rnd = torch.from_numpy(src[np.random.default_rng(0).choice(1000, 64), :3])
    d_rnd = torch.cdist(rnd, rnd) + torch.eye(64) * 10
    assert d.min() > 2 * d_rnd.min()


def test_small_cloud_repaired(mm_log):
    res = _results(30)
    src = res['points'].tensor.clone()
    out = FurthestPointSample(num_points=64)(res)['points'].tensor
    assert out.shape == (64, 6)
    assert len(torch.unique(out, dim=0)) == 30
    assert rows_in(src, out)
    assert any('points/x.bin' in m and 'fewer than 64' in m for m in mm_log)


def test_empty_cloud_raises():
    with pytest.raises(BadSampleError, match='points/x.bin.*empty'):
        FurthestPointSample(num_points=8)(_results(0))
