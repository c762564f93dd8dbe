"""GlobalFlipRotScaleWithDepth2Img: points move, projections do not."""
import math

import numpy as np
import pytest
import torch

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import DepthInstance3DBoxes
from projects.pimae.pimae.datasets import GlobalFlipRotScaleWithDepth2Img
from projects.pimae.pimae.geometry import project_points
from ..conftest import colour_errors, scene_results


@pytest.mark.parametrize('flip_ratio', [0., 1.])
def test_projection_invariant(flip_ratio):
    np.random.seed(1)
    res = scene_results(seed=2)
    xyz = res['points'].tensor[:, :3].numpy().astype(np.float64)
    uv_before, _ = project_points(xyz, res['depth2img'])
    aug = TRANSFORMS.build(
        dict(type='GlobalFlipRotScaleWithDepth2Img', flip_ratio=flip_ratio))
    out = aug(res)
    xyz_after = out['points'].tensor[:, :3].numpy().astype(np.float64)
    uv_after, _ = project_points(xyz_after, out['depth2img'])
    np.testing.assert_allclose(uv_after, uv_before, atol=1e-2)
    assert np.median(colour_errors(out)) <= 3
    # the points really moved as recorded: p' = s R(angle) F p
    angle, scale = out['pcd_rotation_angle'], out['pcd_scale_factor']
    assert abs(angle) <= math.pi / 6 and 0.85 <= scale <= 1.15
    assert out['pcd_horizontal_flip'] == bool(flip_ratio)
    flipped = xyz * ([-1., 1., 1.] if flip_ratio else [1., 1., 1.])
    c, s = math.cos(angle), math.sin(angle)
    expected = scale * np.stack([
        c * flipped[:, 0] - s * flipped[:, 1],
        s * flipped[:, 0] + c * flipped[:, 1], flipped[:, 2]
    ],
                                axis=1)
    np.testing.assert_allclose(xyz_after, expected, atol=1e-4)
    # mmdet3d semantics of the recorded rotation: points @ pcd_rotation
    np.testing.assert_allclose(
        (flipped @ out['pcd_rotation'].numpy().astype(np.float64)) * scale,
        expected,
        atol=1e-4)
    flow = ['HF', 'R', 'S'] if flip_ratio else ['R', 'S']
    assert out['transformation_3d_flow'] == flow
    # colours untouched
    np.testing.assert_array_equal(out['points'].color.numpy(),
                                  res['points'].color.numpy())


def test_boxes_follow_points():
    np.random.seed(4)
    res = scene_results(seed=2)
    boxes = DepthInstance3DBoxes(
        torch.tensor([[0.5, 3., -0.8, 1.2, 0.6, 0.9, 0.4],
                      [-1., 2., -0.5, 0.5, 0.5, 1.5, -1.2]]),
        origin=(0.5, 0.5, 0.5))
    res['gt_bboxes_3d'] = boxes.clone()
    corners = boxes.corners.reshape(-1, 3)
    res['points'].tensor = torch.cat([
        res['points'].tensor,
        torch.cat([corners, torch.zeros_like(corners)], dim=1)
    ])
    out = GlobalFlipRotScaleWithDepth2Img(flip_ratio=1.)(res)
    moved_corners = out['points'].tensor[-16:, :3]
    new = out['gt_bboxes_3d'].corners.reshape(-1, 3)
    # same corner set (the flip reorders corners)
    dist = torch.cdist(new.double(), moved_corners.double())
    assert dist.min(dim=1).values.max() < 1e-4
    assert dist.min(dim=0).values.max() < 1e-4


def test_identity_leaves_points_and_depth2img_bit_equal():
    # the released recipe's settings (no flip, angle 0, scale 1): the output
    # is the input exactly, and the augmentation is still recorded
    np.random.seed(5)
    res = scene_results(seed=2)
    points, depth2img = res['points'].tensor.clone(), res['depth2img'].copy()
    out = GlobalFlipRotScaleWithDepth2Img(
        flip_ratio=0., rot_range=[0., 0.], scale_range=[1., 1.])(res)
    assert torch.equal(out['points'].tensor, points)
    np.testing.assert_array_equal(out['depth2img'], depth2img)
    assert out['pcd_rotation_angle'] == 0. and out['pcd_scale_factor'] == 1.
    assert out['pcd_horizontal_flip'] is False
    assert out['transformation_3d_flow'] == ['R', 'S']
    assert torch.equal(out['pcd_rotation'], torch.eye(3))


def test_invalid_arguments():
    with pytest.raises(ValueError, match='flip_ratio'):
        GlobalFlipRotScaleWithDepth2Img(flip_ratio=1.5)
    with pytest.raises(ValueError, match='rot_range'):
        GlobalFlipRotScaleWithDepth2Img(rot_range=(1., 0.))
    with pytest.raises(ValueError, match='scale_range'):
        GlobalFlipRotScaleWithDepth2Img(scale_range=(0., 1.))
