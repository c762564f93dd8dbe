"""Tests of the synthetic scene layout (room, furniture, camera)."""
import numpy as np
import pytest

from projects.pimae.pimae import data_generation as gen
from projects.pimae.pimae.data_generation.scene_layout import (
    object_parts, sample_camera_tilt)


def _corners_xy(center, half, yaw):
    """(4, 2) footprint corners of an oriented box, written out."""
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * half[:2]
    return local @ np.array([[c, -s], [s, c]]).T + center[:2]


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_furniture_stands_in_the_room_without_overlap(seed):
    rng = np.random.default_rng(seed)
    cfg = gen.SceneConfig(width=160, height=120, num_objects=(6, 8))
    rt = sample_camera_tilt(rng, cfg)
    depth2img = cfg.intrinsics() @ np.array([[1., 0., 0.], [0., 0., -1.],
                                             [0., 1., 0.]]) @ rt.T
    surfaces, objects = gen.sample_layout(rng, cfg, depth2img)
    room = surfaces[0]
    assert room.inside and room.obj == -1
    assert all(not s.inside for s in surfaces[1:])
    assert {s.obj for s in surfaces[1:]} == set(range(len(objects)))
    floor_z = room.center[2] - room.half[2]
    c, s = np.cos(room.yaw), np.sin(room.yaw)
    to_room = np.array([[c, s], [-s, c]])
    discs = []
    for name, box in objects:
        assert name in gen.CLASSES
        lo, hi = np.array(gen.SIZE_PRIORS[name]).T
        assert (box[3:6] >= lo).all() and (box[3:6] <= hi).all()
        assert box[2] - box[5] / 2 == pytest.approx(floor_z)
        corners = _corners_xy(box[:3], box[3:6] / 2, box[6])
        local = (corners - room.center[:2]) @ to_room.T
        assert (np.abs(local) < room.half[:2]).all(), name
        assert corners[:, 1].min() >= 0.4  # in front of the camera
        discs.append((box[:2], 0.5 * np.hypot(box[3], box[4])))
    for i, (ci, ri) in enumerate(discs):
        for cj, rj in discs[:i]:
            assert np.linalg.norm(ci - cj) >= ri + rj


@pytest.mark.parametrize('name', gen.CLASSES)
def test_object_parts_lie_inside_the_object(name):
    size = np.array([r[1] for r in gen.SIZE_PRIORS[name]])
    for center, part in object_parts(name, size):
        assert (part > 0).all()
        assert (np.abs(center[:2]) + part[:2] / 2
                <= size[:2] / 2 + 1e-12).all()
        assert center[2] - part[2] / 2 >= -1e-12
        assert center[2] + part[2] / 2 <= size[2] + 1e-12
