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


@pytest.mark.parametrize('detailed', [False, True])
@pytest.mark.parametrize('name', gen.CLASSES)
def test_object_parts_lie_inside_the_object(name, detailed):
    size = np.array([r[1] for r in gen.SIZE_PRIORS[name]])
    for center, part in object_parts(name, size, detailed):
        assert (part > 0).all()
        assert (np.abs(center[:2]) + part[:2] / 2
                <= size[:2] / 2 + 1e-12).all()
        assert center[2] - part[2] / 2 >= -1e-12
        assert center[2] + part[2] / 2 <= size[2] + 1e-12


def _inside_any(parts, point):
    return any((np.abs(point - c) <= p / 2).all() for c, p in parts)


def test_detailed_shapes_are_open_where_real_furniture_is():
    """A detailed bathtub is hollow and a bookshelf open at the front; the
    solid versions are not."""
    tub = np.array([1.6, 0.8, 0.55])
    for detailed, hollow in ((True, True), (False, False)):
        parts = object_parts('bathtub', tub, detailed)
        assert _inside_any(parts, np.array([0., 0., 0.05]))  # the base
        assert _inside_any(parts, np.array([0., 0., 0.45])) != hollow
    shelf = np.array([1.0, 0.35, 1.6])
    parts = object_parts('bookshelf', shelf, True)
    between_boards = np.array([0., 0.1, 0.2])
    assert not _inside_any(parts, between_boards)
    assert _inside_any(parts, np.array([0., -0.17, 0.2]))  # back panel
    assert _inside_any(object_parts('bookshelf', shelf), between_boards)
    dresser = np.array([1.2, 0.5, 1.0])
    # legs leave the floor free under the body's centre
    assert not _inside_any(object_parts('dresser', dresser, True),
                           np.array([0., 0., 0.05]))


def _layouts(seeds, **kwargs):
    cfg = gen.SceneConfig(width=160, height=120, **kwargs)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        rt = sample_camera_tilt(rng, cfg)
        depth2img = cfg.intrinsics() @ np.array(
            [[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]]) @ rt.T
        yield gen.sample_layout(rng, cfg, depth2img)


def test_class_colours_option_decouples_texture_from_class():
    seen = {True: {}, False: {}}
    for tied in (True, False):
        for surfaces, objects in _layouts(range(12), class_colours=tied):
            for s in surfaces[1:]:
                seen[tied].setdefault(objects[s.obj][0], set()).add(s.pattern)
    assert all(len(p) == 1 for p in seen[True].values())
    assert all(p == {gen.scene_layout.OBJECT_PATTERN[c]}
               for c, p in seen[True].items())
    assert sum(len(p) > 1 for p in seen[False].values()) >= 3


def test_size_spread_widens_the_class_ranges():
    outside = 0
    for _, objects in _layouts(range(10), size_spread=0.15):
        for name, box in objects:
            lo, hi = np.array(gen.SIZE_PRIORS[name]).T
            assert (box[3:6] >= 0.85 * lo - 1e-12).all()
            assert (box[3:6] <= 1.15 * hi + 1e-12).all()
            outside += ((box[3:6] < lo) | (box[3:6] > hi)).any()
    assert outside > 0


def test_clutter_is_unannotated_and_stands_on_floor_or_tops():
    num_clutter = 0
    for surfaces, objects in _layouts(range(8), clutter=(3, 6)):
        room = surfaces[0]
        floor_z = room.center[2] - room.half[2]
        tops = [box[2] + box[5] / 2 for _, box in objects]
        furniture = [s for s in surfaces[1:] if s.obj >= 0]
        clutter = [s for s in surfaces[1:] if s.obj < 0]
        assert {s.obj for s in furniture} == set(range(len(objects)))
        for s in clutter:
            bottom = s.center[2] - s.half[2]
            assert any(abs(bottom - z) < 1e-9 for z in [floor_z] + tops)
            if abs(bottom - floor_z) < 1e-9:  # clear of every footprint
                r = np.hypot(*s.half[:2])
                for _, box in objects:
                    assert np.hypot(*(s.center[:2] - box[:2])) >= \
                        r + 0.5 * np.hypot(box[3], box[4]) - 1e-9
        num_clutter += len(clutter)
    assert num_clutter >= 8
    for surfaces, _ in _layouts(range(3)):
        assert all(s.obj >= 0 for s in surfaces[1:])  # none by default
