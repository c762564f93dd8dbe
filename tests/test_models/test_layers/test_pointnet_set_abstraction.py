"""PointNetSetAbstraction's option to sample centres like the original
pointnet2 FPS kernel, which never picks points within ~3 cm of the
origin."""
import numpy as np
import pytest
import torch

from projects.pimae.pimae.models.layers import PointNetSetAbstraction
from projects.pimae.pimae.models.layers.pointnet_set_abstraction import \
    fps_coords_skipping_origin
from projects.pimae.pimae.ops import furthest_point_sample


def kernel_fps(xyz, num):
    """The original kernel's rule, one loop step at a time: seed at point 0;
    skip points with |p|^2 <= 1e-3 (never updated, never picked); pick the
    point with the largest running-min squared distance."""
    temp = np.full(len(xyz), 1e10)
    picked = [0]
    for _ in range(num - 1):
        old = xyz[picked[-1]]
        best, best_index = -1., 0
        for k, point in enumerate(xyz):
            if (point**2).sum() <= 1e-3:
                continue
            dist = min(((point - old)**2).sum(), temp[k])
            temp[k] = dist
            if dist > best:
                best, best_index = dist, k
        picked.append(best_index)
    return picked


def cloud(seed, first_near_origin=False):
    """60 points on a shell 2-3 m around the origin and 6 within 3 cm of
    it (far from the others, so plain FPS picks them early)."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(60, 3))
    points = directions / np.linalg.norm(
        directions, axis=1, keepdims=True) * rng.uniform(2, 3, (60, 1))
    points[rng.choice(np.arange(1, 60), 6,
                      replace=False)] = rng.uniform(-0.017, 0.017, (6, 3))
    if first_near_origin:
        points[0] = [0.01, -0.01, 0.005]
    return points


@pytest.mark.parametrize('first_near_origin', [False, True])
def test_fps_on_moved_coordinates_is_the_kernel_rule(first_near_origin):
    xyz = cloud(0, first_near_origin)
    near = np.flatnonzero((xyz**2).sum(1) <= 1e-3)
    assert len(near) >= 6
    expected = kernel_fps(xyz, 24)
    tensor = torch.from_numpy(xyz)[None]
    got = furthest_point_sample(fps_coords_skipping_origin(tensor), 24)
    assert got[0].tolist() == expected
    assert not set(expected[1:]) & set(near.tolist())
    if not first_near_origin:
        # plain FPS does pick points of the cluster (far from the shell)
        plain = furthest_point_sample(tensor, 24)[0].tolist()
        assert set(plain[1:]) & set(near.tolist())


def test_set_abstraction_option():
    torch.manual_seed(0)
    xyz = torch.from_numpy(np.stack([cloud(1), cloud(2)])).float()
    layer = PointNetSetAbstraction(
        num_points=16, radius=0.5, num_samples=4, mlp_channels=(8, ))
    compat = PointNetSetAbstraction(
        num_points=16,
        radius=0.5,
        num_samples=4,
        mlp_channels=(8, ),
        compat_fps_skip_origin=True)
    compat.load_state_dict(layer.state_dict())
    _, _, plain_idx = layer(xyz)
    new_xyz, feats, idx = compat(xyz)
    near = (xyz**2).sum(-1) <= 1e-3
    assert near.gather(1, plain_idx).any()
    assert not near.gather(1, idx).any()
    # the centres are gathered from the original coordinates
    torch.testing.assert_close(new_xyz,
                               xyz.gather(1, idx[..., None].expand(-1, -1, 3)))
    assert feats.shape == (2, 16, 8)
