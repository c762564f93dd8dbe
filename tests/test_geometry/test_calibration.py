# Copyright (c) OpenMMLab. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from projects.pimae.pimae.geometry import (
    check_depth2img, depth2img_after_crop, depth2img_after_hflip,
    depth2img_after_pixel_affine, depth2img_after_point_transform,
    depth2img_after_resize, depth2img_from_calib, flip_x_matrix,
    project_points, rotation_z_matrix, scale_matrix)
from .synthetic_camera import back_project, make_camera

# mmdet3d's own point operations, transcribed from
# mmdet3d/structures/points/depth_points.py (flip 'horizontal': x -> -x) and
# mmdet3d/structures/bbox_3d/utils.py (rotation_3d_in_axis, axis=2,
# clockwise=False: points @ rot_mat_T).


def mmdet3d_flip_horizontal(points: np.ndarray) -> np.ndarray:
    return points * np.array([-1., 1., 1.])


def mmdet3d_rotate_z(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rot_mat_t = np.array([[c, s, 0.], [-s, c, 0.], [0., 0., 1.]])
    return points @ rot_mat_t


def pixel_of(uv: np.ndarray) -> np.ndarray:
    """Integer pixel (col, row) holding 0-based continuous coordinates."""
    return np.floor(uv + 0.5).astype(np.int64)


class AugmentedScene:
    """Points, their 0-based pixels and depth2img, transformed in lockstep.

    Pixels and points are moved by the test's own formulas; depth2img is
    moved only by the functions under test.
    """

    def __init__(self, rng, img_shape=(480, 640), num=40):
        self.k, self.rt, self.depth2img = make_camera()
        self.height, self.width = img_shape
        self.pixels = rng.uniform([-0.5, -0.5],
                                  [self.width - 0.5, self.height - 0.5],
                                  (num, 2))
        self.depths = rng.uniform(0.5, 8., num)
        self.points = back_project(self.pixels, self.depths, self.k, self.rt)

    def resize(self, rng):
        new_w, new_h = rng.integers(50, 900, 2)
        scale = np.array([new_w / self.width, new_h / self.height])
        self.pixels = (self.pixels + 0.5) * scale - 0.5
        self.width, self.height = int(new_w), int(new_h)
        self.depth2img = depth2img_after_resize(self.depth2img, scale)

    def crop(self, rng):
        x0 = int(rng.integers(-20, self.width // 3))
        y0 = int(rng.integers(-20, self.height // 3))
        self.pixels = self.pixels - np.array([x0, y0])
        self.width -= x0 + int(rng.integers(0, self.width // 4))
        self.height -= y0 + int(rng.integers(0, self.height // 4))
        self.depth2img = depth2img_after_crop(self.depth2img, (x0, y0))

    def hflip(self, rng):
        self.pixels = self.pixels * np.array([-1., 1.]) + np.array(
            [self.width - 1., 0.])
        self.depth2img = depth2img_after_hflip(self.depth2img, self.width)

    def flip3d(self, rng):
        self.points = mmdet3d_flip_horizontal(self.points)
        self.depth2img = depth2img_after_point_transform(
            self.depth2img, flip_x_matrix())

    def rotate3d(self, rng):
        angle = rng.uniform(-np.pi, np.pi)
        self.points = mmdet3d_rotate_z(self.points, angle)
        self.depth2img = depth2img_after_point_transform(
            self.depth2img, rotation_z_matrix(angle))

    def scale3d(self, rng):
        scale = rng.uniform(0.8, 1.2)
        self.points = self.points * scale
        self.depth2img = depth2img_after_point_transform(
            self.depth2img, scale_matrix(scale))

    OPS = ('resize', 'crop', 'hflip', 'flip3d', 'rotate3d', 'scale3d')


def test_random_augmentation_chains_keep_projection_exact():
    rng = np.random.default_rng(0)
    for _ in range(200):
        scene = AugmentedScene(rng)
        ops = rng.choice(AugmentedScene.OPS, size=rng.integers(1, 9))
        for op in ops:
            getattr(scene, op)(rng)
        uv, depth = project_points(scene.points, scene.depth2img)
        np.testing.assert_allclose(uv, scene.pixels, atol=1e-4, err_msg=ops)
        np.testing.assert_allclose(depth, scene.depths, rtol=1e-9)
        # The torch path agrees.
        uv_t, _ = project_points(
            torch.from_numpy(scene.points), torch.from_numpy(scene.depth2img))
        np.testing.assert_allclose(uv_t.numpy(), scene.pixels, atol=1e-4)


def _tiny_scene(rng, height=6, width=8, margin=0.1):
    """A tiny image with a distinct colour per pixel and 3D points seen at
    random sub-pixel positions of every pixel."""
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([rows * width + cols, rows, cols], axis=-1)
    centres = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    pixels = centres + rng.uniform(-0.5 + margin, 0.5 - margin,
                                   centres.shape)
    k, rt, _ = make_camera(
        fx=7., fy=7.5, cx=width / 2 + 0.3, cy=height / 2 - 0.2)
    depth2img = depth2img_from_calib(rt, k)
    points = back_project(pixels, rng.uniform(1., 5., len(pixels)), k, rt)
    colours = image[centres[:, 1].astype(int), centres[:, 0].astype(int)]
    return image, depth2img, points, colours


def _colours_at(image, points, depth2img):
    uv, _ = project_points(points, depth2img)
    cols, rows = pixel_of(uv).T
    height, width = image.shape[:2]
    assert ((cols >= 0) & (cols < width) & (rows >= 0) &
            (rows < height)).all()
    return image[rows, cols]


@pytest.mark.parametrize('factor', [2, 3, 5])
def test_nearest_upsample_picks_same_colour(factor):
    image, depth2img, points, colours = _tiny_scene(
        np.random.default_rng(factor))
    big = image.repeat(factor, axis=0).repeat(factor, axis=1)
    new_d2i = depth2img_after_resize(depth2img, (factor, factor))
    np.testing.assert_array_equal(_colours_at(big, points, new_d2i), colours)


def test_area_downsample_picks_same_colour():
    factor = 4
    image, _, _, _ = _tiny_scene(np.random.default_rng(0))
    big = image.repeat(factor, axis=0).repeat(factor, axis=1)
    height, width = big.shape[:2]
    # Points at every pixel centre of the big image, including the block
    # borders where a half-pixel error lands in the neighbouring block.
    rows, cols = np.mgrid[0:height, 0:width]
    pixels = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    k, rt, big_d2i = make_camera(fx=30., fy=29., cx=16.5, cy=12.25)
    points = back_project(pixels, np.full(len(pixels), 2.), k, rt)
    small = big.reshape(height // factor, factor, width // factor, factor,
                        3).mean(axis=(1, 3))
    np.testing.assert_array_equal(small, image)  # area semantics
    small_d2i = depth2img_after_resize(big_d2i, (1 / factor, 1 / factor))
    np.testing.assert_array_equal(
        _colours_at(small, points, small_d2i), big[rows.ravel(),
                                                   cols.ravel()])


def test_hflip_and_crop_pick_same_colour():
    image, depth2img, points, colours = _tiny_scene(np.random.default_rng(1))
    flipped = np.flip(image, axis=1)
    np.testing.assert_array_equal(
        _colours_at(flipped, points,
                    depth2img_after_hflip(depth2img, image.shape[1])),
        colours)
    x0, y0 = 3, 2
    cropped = image[y0:, x0:]
    inside = (colours[:, 2] >= x0) & (colours[:, 1] >= y0)
    np.testing.assert_array_equal(
        _colours_at(cropped, points[inside],
                    depth2img_after_crop(depth2img, (x0, y0))),
        colours[inside])


def test_point_and_image_augmentations_pick_same_colour():
    rng = np.random.default_rng(2)
    image, depth2img, points, colours = _tiny_scene(rng)
    angle, scale = 0.4, 1.1
    points = mmdet3d_flip_horizontal(points)
    points = mmdet3d_rotate_z(points, angle)
    points = points * scale
    rot_mat = scale_matrix(scale) @ rotation_z_matrix(angle) @ flip_x_matrix()
    depth2img = depth2img_after_point_transform(depth2img, rot_mat)
    depth2img = depth2img_after_hflip(depth2img, image.shape[1])
    depth2img = depth2img_after_resize(depth2img, (3, 2))
    big = np.flip(image, axis=1).repeat(2, axis=0).repeat(3, axis=1)
    np.testing.assert_array_equal(
        _colours_at(big, points, depth2img), colours)


def _torch_bilinear(ramp: np.ndarray, size) -> np.ndarray:
    return F.interpolate(
        torch.from_numpy(ramp)[None, None],
        size=size[::-1],
        mode='bilinear',
        align_corners=False)[0, 0].numpy()


def _cv2_bilinear(ramp: np.ndarray, size) -> np.ndarray:
    cv2 = pytest.importorskip('cv2')
    return cv2.resize(ramp, size, interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize('resize', [_torch_bilinear, _cv2_bilinear])
def test_resize_matches_real_image_resize(resize):
    """The resize formula is the one of F.interpolate(align_corners=False)
    and of cv2.resize (used by mmcv.imresize), checked on a ramp image whose
    value is the old column coordinate: new pixel i must come from exactly
    where the updated depth2img projects the point seen at the old pixel."""
    old_w, new_w = 730, 352
    ramp = np.tile(np.arange(old_w, dtype=np.float32), (4, 1))
    resized = resize(ramp, (new_w, 4))[0].astype(np.float64)
    k, rt, depth2img = make_camera(cx=365.5)
    new_cols = np.arange(2, new_w - 2)
    old_x = resized[new_cols]  # where the new pixels come from
    points = back_project(
        np.stack([old_x, np.full_like(old_x, 100.)], axis=1),
        np.full(len(old_x), 3.), k, rt)
    new_d2i = depth2img_after_resize(depth2img, (new_w / old_w, 1.))
    uv, _ = project_points(points, new_d2i)
    np.testing.assert_allclose(uv[:, 0], new_cols, atol=1e-3)


def test_rotation_follows_mmdet3d_convention():
    np.testing.assert_allclose(
        rotation_z_matrix(np.pi / 2) @ [1., 0., 0.], [0., 1., 0.], atol=1e-12)
    rng = np.random.default_rng(3)
    points = rng.normal(size=(10, 3))
    for angle in rng.uniform(-np.pi, np.pi, 5):
        np.testing.assert_allclose(points @ rotation_z_matrix(angle).T,
                                   mmdet3d_rotate_z(points, angle))
    np.testing.assert_array_equal(points @ flip_x_matrix().T,
                                  mmdet3d_flip_horizontal(points))
    np.testing.assert_allclose(points @ scale_matrix(1.3).T, points * 1.3)


def test_rotation_matches_installed_mmdet3d():
    structures = pytest.importorskip('mmdet3d.structures')
    points = np.random.default_rng(4).normal(size=(10, 3)).astype(np.float32)
    depth_points = structures.DepthPoints(torch.from_numpy(points))
    rot_mat_t = depth_points.rotate(0.7)
    np.testing.assert_allclose(
        depth_points.tensor.numpy(),
        points @ rotation_z_matrix(0.7).T,
        atol=1e-5)
    # GlobalRotScaleTrans stores pcd_rotation = rot_mat_T: pass its .T.
    np.testing.assert_allclose(
        rot_mat_t.numpy().T, rotation_z_matrix(0.7), atol=1e-6)


def test_composition_and_inverses():
    _, _, depth2img = make_camera()
    rot = rotation_z_matrix(0.3)
    once = depth2img_after_point_transform(depth2img, rot @ flip_x_matrix())
    twice = depth2img_after_point_transform(
        depth2img_after_point_transform(depth2img, flip_x_matrix()), rot)
    np.testing.assert_allclose(once, twice, rtol=1e-12)
    back = depth2img_after_resize(
        depth2img_after_resize(depth2img, (0.5, 2.)), (2., 0.5))
    np.testing.assert_allclose(back, depth2img, rtol=1e-12)
    flip2 = depth2img_after_hflip(depth2img_after_hflip(depth2img, 37), 37)
    np.testing.assert_allclose(flip2, depth2img, rtol=1e-12, atol=1e-9)
    # A crop is a pixel affine with a pure shift.
    shift = np.array([[1., 0., -4.], [0., 1., 7.], [0., 0., 1.]])
    np.testing.assert_allclose(
        depth2img_after_pixel_affine(depth2img, shift),
        depth2img_after_crop(depth2img, (4, -7)))


def test_functions_are_pure_and_return_float64():
    _, _, depth2img = make_camera()
    original = depth2img.astype(np.float32)
    copy = original.copy()
    for result in [
            depth2img_after_resize(original, (2., 2.)),
            depth2img_after_crop(original, (1, 1)),
            depth2img_after_hflip(original, 10),
            depth2img_after_point_transform(original, flip_x_matrix()),
            check_depth2img(torch.from_numpy(original)),
    ]:
        assert isinstance(result, np.ndarray) and result.dtype == np.float64
        assert result.shape == (3, 3)
    np.testing.assert_array_equal(original, copy)


def test_check_depth2img_accepts_real_matrices():
    _, _, depth2img = make_camera()
    np.testing.assert_array_equal(
        check_depth2img(depth2img.tolist()), depth2img)
    # A tiny image (scaled intrinsics) is still well-conditioned.
    check_depth2img(depth2img_after_resize(depth2img, (0.01, 0.01)))


@pytest.mark.parametrize('matrix, match', [
    (np.zeros((3, 4)), r'got \(3, 4\)'),
    (np.zeros((1, 3, 3)), r'got \(1, 3, 3\)'),
    (np.array([[1., 2., 3.], [2., 4., 6.], [0., 0., 1.]]), 'singular'),
    (np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]],
              dtype=np.float32), 'singular'),
    (np.array([[1., 0., 0.], [0., 0., 0.], [0., 0., 1.]]), 'singular'),
    (np.array([[1., 0., 0.], [0., np.nan, 0.], [0., 0., 1.]]), 'non-finite'),
    (np.array([[1., 0., 0.], [0., np.inf, 0.], [0., 0., 1.]]), 'non-finite'),
    ('abc', 'must be a 3x3 matrix|got'),
])
def test_check_depth2img_rejects_bad_matrices(matrix, match):
    with pytest.raises(ValueError, match=match):
        check_depth2img(matrix, name='scene_000042 depth2img')
    with pytest.raises(ValueError, match='scene_000042 depth2img'):
        check_depth2img(matrix, name='scene_000042 depth2img')


def test_bookkeeping_rejects_bad_arguments():
    _, _, depth2img = make_camera()
    singular = np.ones((3, 3))
    with pytest.raises(ValueError, match='depth2img'):
        depth2img_after_resize(singular, (2., 2.))
    with pytest.raises(ValueError, match='scale_xy'):
        depth2img_after_resize(depth2img, (0., 2.))
    with pytest.raises(ValueError, match='scale_xy'):
        depth2img_after_resize(depth2img, (np.nan, 2.))
    with pytest.raises(ValueError, match='scale_xy'):
        depth2img_after_resize(depth2img, 2.)
    with pytest.raises(ValueError, match='offset_xy'):
        depth2img_after_crop(depth2img, (1, 2, 3))
    with pytest.raises(ValueError, match='width'):
        depth2img_after_hflip(depth2img, -3)
    with pytest.raises(ValueError, match='rot_mat'):
        depth2img_after_point_transform(depth2img, np.diag([1., 0., 1.]))
    with pytest.raises(ValueError, match='rot_mat'):
        depth2img_after_point_transform(depth2img, np.eye(4))
    with pytest.raises(ValueError, match='last row'):
        depth2img_after_pixel_affine(depth2img, np.diag([1., 1., 2.]))
    with pytest.raises(ValueError, match='angle'):
        rotation_z_matrix(float('nan'))
    with pytest.raises(ValueError, match='scale'):
        scale_matrix(0.)
