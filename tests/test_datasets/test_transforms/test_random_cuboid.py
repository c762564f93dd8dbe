"""RandomCuboid (3DETR's crop) on a hand-made lattice scene."""
import numpy as np
import pytest
import torch

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import DepthInstance3DBoxes, DepthPoints
from projects.pimae.pimae.datasets.transforms import RandomCuboid

#: lattice of the scene: x = 0, 0.1, ..., 9.9; y = 0, ..., 4.9; z = 0, 0.5,
#: ..., 3 (35000 points, extent (9.9, 4.9, 3))
XS = np.arange(100, dtype=np.float32) * np.float32(0.1)
YS = np.arange(50, dtype=np.float32) * np.float32(0.1)
ZS = np.arange(7, dtype=np.float32) * np.float32(0.5)


def lattice():
    grid = np.stack(np.meshgrid(XS, YS, ZS, indexing='ij'), -1)
    return grid.reshape(-1, 3)


def scene(centres, with_masks=False):
    """Points of the lattice and unit boxes at the given gravity centres."""
    xyz = lattice()
    colours = np.random.default_rng(0).random((len(xyz), 3), np.float32)
    points = DepthPoints(np.concatenate([xyz, colours], 1), points_dim=6)
    boxes = np.zeros((len(centres), 7), np.float32)
    boxes[:, :3] = centres
    boxes[:, 3:6] = 1.
    results = dict(
        points=points,
        gt_bboxes_3d=DepthInstance3DBoxes(boxes, origin=(0.5, 0.5, 0.5)),
        gt_labels_3d=np.arange(len(centres), dtype=np.int64))
    if with_masks:
        results['pts_instance_mask'] = np.arange(len(xyz), dtype=np.int64)
        results['pts_semantic_mask'] = np.arange(len(xyz)) % 7
    return results


def index_of(point):
    """Index of a lattice point in ``lattice()``."""
    i, j, k = (int(np.flatnonzero(axis == value)[0])
               for axis, value in zip((XS, YS, ZS), point))
    return (i * len(YS) + j) * len(ZS) + k


class Scripted:
    """Replaces np.random.rand / np.random.choice with scripted draws."""

    def __init__(self, monkeypatch, sizes, centres):
        self.sizes, self.centres = list(sizes), list(centres)
        self.size_draws = self.centre_draws = 0
        monkeypatch.setattr(np.random, 'rand', self.rand)
        monkeypatch.setattr(np.random, 'choice', self.choice)

    def rand(self, n):
        assert n == 3
        value = self.sizes[min(self.size_draws, len(self.sizes) - 1)]
        self.size_draws += 1
        # rand() in [0, 1) maps to min_crop + rand * (max_crop - min_crop)
        return (np.asarray(value, np.float64) - 0.5) / 0.5

    def choice(self, n):
        value = self.centres[min(self.centre_draws, len(self.centres) - 1)]
        self.centre_draws += 1
        return value


#: a crop of half the x and y extents, full height, centred on (2, 1, 1.5):
#: x in [-0.475, 4.475], y in [-0.225, 2.225], z in [0, 3]
HALF = [0.5, 0.5, 1.0]
CENTRE = (XS[20], YS[10], ZS[3])
KEPT = (XS <= 4.475)[:, None, None] & (YS <= 2.225)[None, :, None] & (
    ZS >= 0)[None, None, :]


def test_crop_keeps_points_in_the_cuboid_and_boxes_within_point_bounds(
        monkeypatch):
    centres = np.array(
        [
            [1.0, 1.0, 1.0],  # inside: kept
            [4.45, 1.0, 1.0
             ],  # inside the cuboid, beyond the kept points: gone
            [8.0, 3.0, 1.0],  # outside: gone
            [XS[44], YS[22], ZS[6]],  # on the kept points' bounds: kept
        ],
        np.float32)
    results = scene(centres, with_masks=True)
    mask_before = results['pts_instance_mask'].copy()
    script = Scripted(monkeypatch, [HALF], [index_of(CENTRE)])
    out = RandomCuboid(min_points=1000)(results)
    assert script.size_draws == 1 and script.centre_draws == 1
    expected = lattice()[KEPT.reshape(-1)]
    assert len(expected) == 45 * 23 * 7
    np.testing.assert_array_equal(out['points'].coord.numpy(), expected)
    assert out['points'].tensor.shape[1] == 6  # colours kept
    np.testing.assert_array_equal(out['pts_instance_mask'],
                                  mask_before[KEPT.reshape(-1)])
    assert len(out['pts_semantic_mask']) == len(expected)
    np.testing.assert_array_equal(out['gt_labels_3d'], [0, 3])
    torch.testing.assert_close(out['gt_bboxes_3d'].gravity_center,
                               torch.from_numpy(centres[[0, 3]]))


def test_crop_that_keeps_no_box_is_rejected(monkeypatch):
    results = scene(np.array([[8.0, 3.0, 1.0]], np.float32))
    # first crop around (2, 1, 1.5) keeps no box; the second, around
    # (8, 3, 1.5), keeps it
    script = Scripted(
        monkeypatch, [HALF, HALF],
        [index_of(CENTRE), index_of((XS[80], YS[30], ZS[3]))])
    out = RandomCuboid(min_points=1000)(results)
    assert script.size_draws == 2 and script.centre_draws == 2
    assert len(out['gt_bboxes_3d']) == 1
    coords = out['points'].coord.numpy()
    assert coords[:, 0].min() >= 8.0 - 2.475 - 1e-6
    assert coords[:, 1].min() >= 3.0 - 1.225 - 1e-6


def test_scene_without_boxes_is_cropped(monkeypatch):
    results = scene(np.zeros((0, 3), np.float32))
    Scripted(monkeypatch, [HALF], [index_of(CENTRE)])
    out = RandomCuboid(min_points=1000)(results)
    assert len(out['points']) == 45 * 23 * 7
    assert len(out['gt_bboxes_3d']) == 0


def test_min_points_and_the_fallback_after_max_trials(monkeypatch):
    count = 45 * 23 * 7
    centres = np.array([[1.0, 1.0, 1.0]], np.float32)
    # exactly min_points inside: accepted
    Scripted(monkeypatch, [HALF], [index_of(CENTRE)])
    out = RandomCuboid(min_points=count)(scene(centres))
    assert len(out['points']) == count
    # one point short on every trial: 100 trials, then the scene unchanged
    script = Scripted(monkeypatch, [HALF], [index_of(CENTRE)])
    results = scene(centres)
    before = results['points'].tensor.clone()
    out = RandomCuboid(min_points=count + 1)(results)
    assert script.size_draws == 100 and script.centre_draws == 100
    assert torch.equal(out['points'].tensor, before)
    assert len(out['gt_bboxes_3d']) == 1
    # max_trials is configurable
    script = Scripted(monkeypatch, [HALF], [index_of(CENTRE)])
    RandomCuboid(min_points=count + 1, max_trials=7)(scene(centres))
    assert script.size_draws == 7


def test_sizes_failing_the_aspect_test_draw_no_centre(monkeypatch):
    # relative sides 0.5, 0.7, 0.95: every pair's min / max < 0.8
    script = Scripted(monkeypatch, [[0.5, 0.7, 0.95], HALF],
                      [index_of(CENTRE)])
    out = RandomCuboid(min_points=1000)(
        scene(np.array([[1.0, 1.0, 1.0]], np.float32)))
    assert script.size_draws == 2 and script.centre_draws == 1
    assert len(out['points']) == 45 * 23 * 7


def test_aspect_rule():
    crop = RandomCuboid()
    assert crop.aspect_ok(np.array([0.5, 0.7, 0.95])) is False
    assert crop.aspect_ok(np.array([0.5, 1.0, 0.8]))  # y / z = 0.8
    assert crop.aspect_ok(np.array([0.5, 0.9, 0.4 / 0.8]))  # x / z = 1
    assert not RandomCuboid(aspect=1.0).aspect_ok(np.array([0.5, 0.6, 0.7]))


def test_proposed_sizes_are_half_to_full_extent_and_centred_on_points():
    np.random.seed(0)
    crop = RandomCuboid()
    xyz = lattice()[::11].astype(np.float64)  # 11: all z levels stay
    extent = xyz.max(0) - xyz.min(0)
    accepted = 0
    for _ in range(300):
        bounds = crop.propose(xyz, extent)
        if bounds is None:
            continue
        accepted += 1
        lower, upper = bounds
        relative = (upper - lower) / extent
        assert (relative >= 0.5 - 1e-9).all() and (relative <= 1.0).all()
        assert crop.aspect_ok(relative)
        centre = (lower + upper) / 2
        assert np.abs(xyz - centre).sum(1).min() < 1e-9
    # both outcomes of the aspect test occur
    assert 0 < accepted < 300


def test_registered_and_errors():
    assert TRANSFORMS.get('RandomCuboid') is RandomCuboid
    assert 'min_points=30000' in repr(RandomCuboid())
    with pytest.raises(ValueError, match='min_crop'):
        RandomCuboid(min_crop=0.8, max_crop=0.5)
    with pytest.raises(ValueError, match='min_points'):
        RandomCuboid(min_points=0)
