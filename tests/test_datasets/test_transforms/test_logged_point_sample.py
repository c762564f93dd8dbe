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


@pytest.mark.parametrize('num', [300, 1000])
def test_same_draw_as_mmdet3d_point_sample(num):
    # oracle: mmdet3d's PointSample (np.random.choice over range(N)) from the
    # same random state gives the same points, and leaves the same state
    ours, theirs = _results(num), _results(num)
    ours['pts_semantic_mask'] = np.arange(num)
    theirs['pts_semantic_mask'] = np.arange(num)
    np.random.seed(7)
    out = LoggedPointSample(num_points=300)(ours)
    after_ours = np.random.rand()
    np.random.seed(7)
    ref = TRANSFORMS.build(dict(type='PointSample', num_points=300))(theirs)
    after_theirs = np.random.rand()
    assert torch.equal(out['points'].tensor, ref['points'].tensor)
    np.testing.assert_array_equal(out['pts_semantic_mask'],
                                  ref['pts_semantic_mask'])
    assert after_ours == after_theirs


def test_with_replacement_is_mmdet3d_draw():
    np.random.seed(3)
    out = LoggedPointSample(num_points=50, replace=True)(_results(40))
    np.random.seed(3)
    ref = TRANSFORMS.build(
        dict(type='PointSample', num_points=50, replace=True))(
            _results(40))
    assert torch.equal(out['points'].tensor, ref['points'].tensor)
