"""LoggedPointSample: sampling without replacement, logged small-cloud
repair that keeps every point."""
import numpy as np
import pytest
import torch

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import DepthPoints
from projects.pimae.pimae.datasets import BadSampleError, LoggedPointSample
from ..conftest import rows_in


def _results(n, name='000001'):
    points = np.random.default_rng(n).normal(size=(n, 6)).astype(np.float32)
    return dict(
        points=DepthPoints(points, points_dim=6),
        sample_idx=0,
        lidar_points=dict(lidar_path=f'points/{name}.bin'))


def test_without_replacement_when_enough(mm_log):
    sample = TRANSFORMS.build(dict(type='LoggedPointSample', num_points=300))
    res = _results(1000)
    src = res['points'].tensor.clone()
    out = sample(res)['points'].tensor
    assert out.shape == (300, 6)
    assert len(torch.unique(out, dim=0)) == 300
    # every output row is an input row
    assert rows_in(out, src)
    assert not mm_log


def test_small_cloud_keeps_all_points_and_logs_once(mm_log):
    sample = LoggedPointSample(num_points=300)
    for _ in range(2):
        res = _results(120)
        src = res['points'].tensor.clone()
        out = sample(res)['points'].tensor
        assert out.shape == (300, 6)
        assert len(torch.unique(out, dim=0)) == 120  # none lost
        assert rows_in(src, out)
    warnings = [m for m in mm_log if 'fewer than 300' in m]
    assert len(warnings) == 1
    assert 'points/000001.bin' in warnings[0]
    assert 'with replacement' in warnings[0]
    sample(_results(100, name='000002'))
    assert len([m for m in mm_log if 'fewer than 300' in m]) == 2


def test_empty_cloud_raises():
    with pytest.raises(BadSampleError, match='points/000001.bin.*empty'):
        LoggedPointSample(num_points=10)(_results(0))


def test_invalid_num_points():
    with pytest.raises(ValueError, match='num_points'):
        LoggedPointSample(num_points=0)
