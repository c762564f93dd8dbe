# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch

from projects.pimae.pimae.geometry import points_in_image, project_points
from .synthetic_camera import (back_project, make_camera, rot_x,
                               votenet_pixels)

IMG_SHAPE = (480, 640)


def _chosen_pixels(rng: np.random.Generator, num: int = 64):
    """Pixel centres, sub-pixel positions and borders with depths."""
    height, width = IMG_SHAPE
    pixels = np.concatenate([
        np.array([[0., 0.], [width - 1., height - 1.], [width - 1., 0.],
                  [0., height - 1.], [12., 400.]]),
        rng.uniform([-0.5, -0.5], [width - 0.5, height - 0.5], (num, 2))
    ])
    depths = rng.uniform(0.5, 8., len(pixels))
    return pixels, depths


def test_back_projected_points_land_on_chosen_pixels():
    rng = np.random.default_rng(0)
    k, rt, depth2img = make_camera()
    pixels, depths = _chosen_pixels(rng)
    points = back_project(pixels, depths, k, rt)

    uv, depth = project_points(points, depth2img)
    assert isinstance(uv, np.ndarray) and uv.shape == pixels.shape
    np.testing.assert_allclose(uv, pixels, atol=1e-5)
    np.testing.assert_allclose(depth, depths, rtol=1e-10)

    uv_t, depth_t = project_points(
        torch.from_numpy(points), torch.from_numpy(depth2img))
    assert isinstance(uv_t, torch.Tensor)
    np.testing.assert_allclose(uv_t.numpy(), pixels, atol=1e-5)
    np.testing.assert_allclose(depth_t.numpy(), depths, rtol=1e-10)


def test_float32_points_land_within_tolerance():
    rng = np.random.default_rng(1)
    k, rt, depth2img = make_camera()
    pixels, depths = _chosen_pixels(rng)
    points = back_project(pixels, depths, k, rt).astype(np.float32)
    uv, _ = project_points(
        torch.from_numpy(points),
        torch.from_numpy(depth2img).float())
    assert uv.dtype == torch.float32
    np.testing.assert_allclose(uv.numpy(), pixels, atol=2e-3)


def test_agrees_with_votenet_style_projection():
    rng = np.random.default_rng(2)
    k, rt, depth2img = make_camera(pitch=-0.2, roll=0.1)
    points = rng.uniform([-2., 1., -1.], [2., 6., 1.5], (500, 3))
    uv, _ = project_points(points, depth2img)
    np.testing.assert_array_equal(np.round(uv), votenet_pixels(points, k, rt))


def test_batched_torch_matches_per_sample_numpy():
    rng = np.random.default_rng(3)
    cams = [
        make_camera(pitch=p, roll=r)
        for p, r in [(0.1, 0.), (-0.2, .1), (0.3, -.1)]
    ]
    points = rng.uniform([-2., 1., -1.], [2., 6., 1.5], (3, 50, 3))
    depth2img = np.stack([cam[2] for cam in cams])
    uv, depth = project_points(
        torch.from_numpy(points), torch.from_numpy(depth2img))
    assert uv.shape == (3, 50, 2) and depth.shape == (3, 50)
    for i in range(3):
        uv_i, depth_i = project_points(points[i], depth2img[i])
        np.testing.assert_allclose(uv[i].numpy(), uv_i, rtol=1e-12)
        np.testing.assert_allclose(depth[i].numpy(), depth_i, rtol=1e-12)
    # One matrix broadcasts over the batch; numpy matrices are accepted.
    uv_shared, _ = project_points(torch.from_numpy(points), depth2img[1])
    np.testing.assert_allclose(
        uv_shared[0].numpy(),
        project_points(points[0], depth2img[1])[0],
        rtol=1e-12)


@pytest.mark.parametrize('device, dtype', [
    ('cpu', torch.bfloat16),
    pytest.param(
        'cuda',
        torch.float16,
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason='requires CUDA')),
])
def test_autocast_does_not_lower_precision(device, dtype):
    rng = np.random.default_rng(4)
    k, rt, depth2img = make_camera()
    pixels, depths = _chosen_pixels(rng)
    points = torch.from_numpy(back_project(pixels, depths, k, rt)).float()
    with torch.autocast(device, dtype=dtype):
        # A numpy matrix is moved to the points' device.
        uv, depth = project_points(
            points.to(device), depth2img.astype(np.float32))
    assert uv.device.type == device and uv.dtype == torch.float32
    np.testing.assert_allclose(uv.cpu().numpy(), pixels, atol=2e-3)
    assert points_in_image(uv, depth, IMG_SHAPE).all()


def test_gradients_flow_to_points():
    _, _, depth2img = make_camera()
    points = torch.tensor([[0.3, 2., 0.1]], requires_grad=True)
    uv, _ = project_points(points, torch.from_numpy(depth2img).float())
    uv.sum().backward()
    assert points.grad is not None and points.grad.abs().sum() > 0


def test_points_behind_camera_are_finite_and_invalid():
    _, _, depth2img = make_camera(pitch=0., roll=0.)
    points = np.array([[0., 2., 0.], [0., 0., 0.], [0.1, -2., 0.2],
                       [0.01, 1e-9, 0.]])
    uv, depth = project_points(points, depth2img)
    assert np.isfinite(uv).all()
    np.testing.assert_array_equal(
        points_in_image(uv, depth, IMG_SHAPE), [True, False, False, False])
    uv_t, depth_t = project_points(
        torch.from_numpy(points), torch.from_numpy(depth2img))
    assert torch.isfinite(uv_t).all()
    assert points_in_image(uv_t, depth_t,
                           IMG_SHAPE).tolist() == [True, False, False, False]


def test_points_in_image_borders():
    height, width = IMG_SHAPE
    uv = np.array([[-0.5, 0.], [-0.5001, 0.], [width - 0.5001, 10.],
                   [width - 0.5, 10.], [3., -0.5], [3., height - 0.5],
                   [3., height - 0.5001], [np.nan, 3.]])
    depth = np.ones(len(uv))
    expected = [True, False, True, False, True, False, True, False]
    np.testing.assert_array_equal(
        points_in_image(uv, depth, IMG_SHAPE), expected)
    assert points_in_image(
        torch.from_numpy(uv), torch.from_numpy(depth),
        IMG_SHAPE).tolist() == expected
    # The image shape is (H, W): a transposed shape must change the answer.
    assert not np.array_equal(
        points_in_image(uv, depth, IMG_SHAPE[::-1]), expected)


def test_tilt_moves_projection():
    """A non-trivial Rt must matter: guards against dropping the tilt."""
    k = np.diag([500., 500., 1.])
    k[:2, 2] = 320.
    point = np.array([[0., 3., 0.]])
    flat = k @ np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])
    tilted = flat @ rot_x(0.2).T
    assert abs(
        project_points(point, tilted)[0][0, 1] -
        project_points(point, flat)[0][0, 1]) > 50


@pytest.mark.parametrize('points, depth2img, match', [
    (np.zeros((5, 2)), np.eye(3), r'points must have shape \(\.\.\., N, 3\)'),
    (np.zeros(3), np.eye(3), r'points .* got \(3,\)'),
    (np.zeros((5, 3)), np.eye(4), r'depth2img .* got \(4, 4\)'),
    (np.zeros((5, 3)), np.zeros((3, 4)), r'depth2img .* got \(3, 4\)'),
    (np.zeros((2, 5, 3)), np.zeros((3, 3, 3)), 'do not broadcast'),
    ([[0., 0., 1.]], np.eye(3), 'points must be a numpy array'),
])
def test_project_points_rejects_bad_shapes(points, depth2img, match):
    with pytest.raises(ValueError, match=match):
        project_points(points, depth2img)


def test_bad_eps_and_mismatched_depth():
    with pytest.raises(ValueError, match='eps'):
        project_points(np.zeros((2, 3)), np.eye(3), eps=0.)
    with pytest.raises(ValueError, match=r'depth must have shape'):
        points_in_image(np.zeros((4, 2)), np.ones(3), IMG_SHAPE)
    with pytest.raises(ValueError, match='both be numpy arrays'):
        points_in_image(np.zeros((4, 2)), torch.ones(4), IMG_SHAPE)
    with pytest.raises(ValueError, match='img_shape'):
        points_in_image(np.zeros((4, 2)), np.ones(4), (480, 0))
    with pytest.raises(ValueError, match='img_shape'):
        points_in_image(np.zeros((4, 2)), np.ones(4), (3, 480, 640))
