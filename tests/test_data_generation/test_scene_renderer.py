"""Tests of the synthetic scene renderer (depth, masks, boxes, camera)."""
import numpy as np
import pytest

from projects.pimae.pimae import data_generation as gen

# SUN RGB-D's axis permutation, written out: (x, y, z) -> (x, -z, y).
_DEPTH_TO_CAMERA = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])


def test_render_geometry_depth_and_boxes():
    """Depth map, object masks and gravity-centre boxes agree."""
    cfg = gen.SceneConfig(width=200, height=150, num_objects=(4, 6))
    scene = gen.render_scene(np.random.default_rng(11), cfg)
    assert scene.image.shape == (150, 200, 3)
    assert scene.image.std() > 10  # shaded and textured, not flat
    assert len(scene.labels) > 0
    # camera tilt is a rotation, depth2img = K F Rt^T
    np.testing.assert_allclose(scene.Rt @ scene.Rt.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(scene.depth2img,
                               scene.K @ _DEPTH_TO_CAMERA @ scene.Rt.T)
    points = gen.backproject(scene.depth, scene.image, scene.depth2img)
    obj = scene.object_map.ravel()[scene.depth.ravel() > 0]
    floor_z = None
    for i, box in enumerate(scene.boxes_3d):
        mine = points[obj == i, :3].astype(np.float64)
        assert len(mine) > 0
        centre, size, yaw = box[:3], box[3:6], box[6]
        c, s = np.cos(yaw), np.sin(yaw)
        d = mine - centre
        local = np.stack(
            [c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]],
            axis=1)
        assert (np.abs(local) <= size / 2 + 2e-3).all(), i
        bottom = centre[2] - size[2] / 2
        floor_z = bottom if floor_z is None else floor_z
        assert abs(bottom - floor_z) < 1e-9  # all resting on the floor
    # 2D boxes are the tight boxes of the object masks
    for i, (x1, y1, x2, y2) in enumerate(scene.boxes_2d):
        rows, cols = np.nonzero(scene.object_map == i)
        assert (x1, y1, x2, y2) == (cols.min(), rows.min(), cols.max() + 1,
                                    rows.max() + 1)


def test_pixel_rays_hit_their_pixel_centres():
    """``depth2img @ ray`` is the 1-based pixel centre with depth 1."""
    cfg = gen.SceneConfig(width=7, height=5)
    scene_rt = np.eye(3)
    depth2img = cfg.intrinsics() @ _DEPTH_TO_CAMERA @ scene_rt.T
    rays = gen.pixel_rays(depth2img, 5, 7)
    rows, cols = np.divmod(np.arange(35), 7)
    expected = np.stack([cols + 1., rows + 1., np.ones(35)])
    np.testing.assert_allclose(depth2img @ rays, expected, atol=1e-12)


def test_backproject_rejects_pixels_without_depth():
    depth = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match='without depth'):
        gen.backproject(depth, np.zeros((4, 4, 3), np.uint8), np.eye(3),
                        np.array([0]))


def test_box_convention_is_mmdet3d_depth_box():
    """The generator's boxes, read as mmdet3d does (gravity centre, yaw
    counter-clockwise from x), have the corners the renderer used."""
    import torch
    from mmdet3d.structures import DepthInstance3DBoxes
    scene = gen.render_scene(
        np.random.default_rng(5),
        gen.SceneConfig(width=120, height=90, num_objects=(5, 6)))
    assert len(scene.boxes_3d) > 0
    boxes = DepthInstance3DBoxes(
        torch.from_numpy(scene.boxes_3d), origin=(0.5, 0.5, 0.5))
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1)
                      for sz in (-1, 1)]) / 2.
    for box, corners in zip(scene.boxes_3d, boxes.corners.numpy()):
        c, s = np.cos(box[6]), np.sin(box[6])
        rot = np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])
        mine = (signs * box[3:6]) @ rot.T + box[:3]
        dist = np.linalg.norm(mine[:, None] - corners[None], axis=-1)
        assert dist.min(axis=1).max() < 1e-5
        assert dist.min(axis=0).max() < 1e-5


def test_sensor_depth_noise_grows_with_depth_squared():
    depth = np.zeros((200, 300), np.float32)
    depth[:100] = 1.
    depth[100:, :150] = 3.
    sensed = gen.sensor_depth(np.random.default_rng(0), depth, 0.01, 0.1)
    kept = sensed > 0
    assert not kept[100:, 150:].any()  # invalid pixels stay invalid
    for d in (1., 3.):
        region = depth == d
        # a tenth of the valid pixels dropped (binomial, n=15000/30000)
        assert abs(1 - kept[region].mean() - 0.1) < 0.01
        err = sensed[region & kept] - d
        assert abs(err.mean()) < 4 * 0.01 * d * d / np.sqrt(err.size)
        assert err.std() == pytest.approx(0.01 * d * d, rel=0.03)


def test_rich_preset_renders_consistent_scenes():
    """Points of every annotated object still lie in (or, with depth
    noise, within a few sigma of) its box."""
    cfg = gen.SceneConfig(width=200, height=150, **gen.SCENE_PRESETS['rich'])
    scene = gen.render_scene(np.random.default_rng(3), cfg)
    assert len(scene.labels) > 0
    points = gen.backproject(scene.depth, scene.image, scene.depth2img)
    obj = scene.object_map.ravel()[scene.depth.ravel() > 0]
    for i, box in enumerate(scene.boxes_3d):
        mine = points[obj == i, :3].astype(np.float64)
        d = mine - box[:3]
        c, s = np.cos(box[6]), np.sin(box[6])
        local = np.stack(
            [c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]],
            axis=1)
        dist = np.linalg.norm(mine, axis=1)
        slack = 5 * 0.003 * dist[:, None]**2 + 2e-3
        assert (np.abs(local) <= box[3:6] / 2 + slack).all(), i
