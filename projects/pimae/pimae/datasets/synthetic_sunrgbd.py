"""Synthetic SUN RGB-D scenes in mmdet3d's v1.x SUN RGB-D layout.

A scene is a room (floor, walls, optional ceiling) with furniture-like boxes
of the 10 SUN RGB-D detection classes standing on the floor. It is rendered
through a pinhole camera with a random tilt by vectorised per-pixel ray
casting, which gives a depth map and a shaded, textured colour image. The
point cloud is back-projected from the depth map and takes its colours from
the (decoded JPEG) image pixels, so points and pixels correspond exactly.

Conventions follow mmdet3d's SUN RGB-D data:

* depth frame: x right, y forward, z up, origin at the camera centre;
* ``Rt`` maps the tilted camera's depth frame to the upright depth frame and
  ``depth2img = K @ (F @ Rt.T)`` with ``F = [[1, 0, 0], [0, 0, -1],
  [0, 1, 0]]``; ``depth2img @ xyz`` gives homogeneous **1-based** pixels, so
  0-based pixel ``(u0, v0)`` has its centre at ``(u0 + 1, v0 + 1)``;
* 3D boxes are ``[x, y, z, dx, dy, dz, yaw]`` with ``(x, y, z)`` the gravity
  centre (``DepthInstance3DBoxes(..., origin=(0.5, 0.5, 0.5))`` as in
  ``SUNRGBDDataset``), ``dx`` the size along the box's own x axis and ``yaw``
  the counter-clockwise angle from the depth frame's x axis to it;
* 2D boxes are ``[x1, y1, x2, y2]`` in 0-based continuous pixel coordinates
  (the tight box of the visible pixels: ``x2 = last column + 1``), so they
  lie inside ``[0, width] x [0, height]``.

Files written by :func:`generate_dataset`::

    <root>/points/%06d.bin                  float32 N x 6 (xyz, rgb in [0, 1])
    <root>/sunrgbd_trainval/image/%06d.jpg  RGB JPEG
    <root>/sunrgbd_infos_train.pkl          {'metainfo', 'data_list'}
    <root>/sunrgbd_infos_val.pkl
"""
import io
import os
import os.path as osp
import pickle
from dataclasses import dataclass, field
from multiprocessing import Pool
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

CLASSES = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser',
           'night_stand', 'bookshelf', 'bathtub')

#: Size ranges in metres of each class: ``(dx, dy, dz)`` as ``(min, max)``
#: pairs; ``dx`` is the length along the object's own x axis.
SIZE_PRIORS: Dict[str, Tuple[Tuple[float, float], ...]] = {
    'bed': ((1.9, 2.2), (0.9, 1.8), (0.8, 1.1)),
    'table': ((0.8, 1.8), (0.6, 1.0), (0.7, 0.8)),
    'sofa': ((1.5, 2.4), (0.8, 1.0), (0.75, 0.95)),
    'chair': ((0.45, 0.6), (0.45, 0.6), (0.8, 1.0)),
    'toilet': ((0.6, 0.75), (0.38, 0.48), (0.7, 0.85)),
    'desk': ((1.0, 1.6), (0.55, 0.8), (0.72, 0.78)),
    'dresser': ((0.8, 1.4), (0.45, 0.6), (0.8, 1.2)),
    'night_stand': ((0.4, 0.6), (0.35, 0.5), (0.5, 0.7)),
    'bookshelf': ((0.6, 1.2), (0.3, 0.4), (1.2, 2.0)),
    'bathtub': ((1.5, 1.8), (0.7, 0.85), (0.5, 0.6)),
}

#: SUN RGB-D's axis permutation from the depth frame to camera axes
#: (x right, y down, z forward).
FLIP_YZ = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])

_EPS = 1e-9


@dataclass
class SceneConfig:
    """Parameters of the synthetic scenes.

    Args:
        width (int): Image width in pixels. Defaults to 730 (Kinect v2 frames
            of SUN RGB-D).
        height (int): Image height in pixels. Defaults to 530.
        focal (float, optional): Focal length in pixels; ``None`` scales
            the Kinect v2 value 529.5 with ``width / 730``.
        num_points (int): Points kept per scene (random subset of the
            back-projected pixels, like mmdet3d's converter
            ``random_sampling``); -1 keeps every valid pixel. Defaults to
            50000 (VoteNet / PiMAE preprocessing).
        num_objects (tuple[int, int]): Inclusive range of furniture pieces
            tried per scene. Defaults to (3, 8).
        ceiling_prob (float): Probability that the room has a ceiling; without
            one, pixels looking through the top have no depth. Defaults to
            0.5.
        pitch_range (tuple[float, float]): Camera pitch in degrees (negative
            looks down). Defaults to (-12, -2).
        roll_range (tuple[float, float]): Camera roll in degrees. Defaults to
            (-3, 3).
        max_depth (float): Depth beyond which pixels are invalid (no point).
            Defaults to 10.
        min_visible_fraction (float): Fraction of the image an object must
            cover to be annotated. Defaults to 5e-4.
        noise_std (float): Per-pixel colour noise (0-255 scale). Defaults to
            3.
        jpeg_quality (int): JPEG quality. Defaults to 92.
    """
    width: int = 730
    height: int = 530
    focal: Optional[float] = None
    num_points: int = 50000
    num_objects: Tuple[int, int] = (3, 8)
    ceiling_prob: float = 0.5
    pitch_range: Tuple[float, float] = (-12.0, -2.0)
    roll_range: Tuple[float, float] = (-3.0, 3.0)
    max_depth: float = 10.0
    min_visible_fraction: float = 5e-4
    noise_std: float = 3.0
    jpeg_quality: int = 92

    def intrinsics(self) -> np.ndarray:
        """Return the 3x3 intrinsic matrix K (1-based principal point).

        Returns:
            np.ndarray: K, shape (3, 3), float64.
        """
        f = self.focal if self.focal is not None else \
            529.5 * self.width / 730.
        # MATLAB-style principal point: 1-based image centre.
        cx, cy = (self.width + 1) / 2., (self.height + 1) / 2.
        return np.array([[f, 0., cx], [0., f, cy], [0., 0., 1.]])


@dataclass
class _Surface:
    """An oriented box taking part in the ray casting (internal).

    ``center`` is the box centre in the depth frame, ``half`` its half sizes
    along its own axes, ``yaw`` its rotation about z; ``inside`` marks the
    room box, seen from within. ``obj`` is the index of the annotated object
    the part belongs to (-1 for the room). Hits above ``max_z`` are
    discarded (the open top of a room without ceiling).
    """
    center: np.ndarray
    half: np.ndarray
    yaw: float
    rgb: np.ndarray
    pattern: str
    obj: int = -1
    inside: bool = False
    scale: float = 1.0
    phase: np.ndarray = field(default_factory=lambda: np.zeros(3))
    max_z: float = np.inf

    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])


@dataclass
class SyntheticScene:
    """One rendered scene.

    Attributes:
        image (np.ndarray): Rendered RGB image, (H, W, 3) uint8 (before
            JPEG compression).
        depth (np.ndarray): Depth along the camera axis, (H, W) float32;
            0 where no surface is hit.
        object_map (np.ndarray): Index of the visible annotated object per
            pixel, (H, W) int16, -1 for the room / nothing.
        K (np.ndarray): Intrinsics, (3, 3).
        Rt (np.ndarray): Tilt rotation (camera depth frame -> upright depth
            frame), (3, 3).
        depth2img (np.ndarray): ``K @ FLIP_YZ @ Rt.T``, (3, 3).
        boxes_3d (np.ndarray): Gravity-centre boxes of the annotated objects,
            (M, 7).
        boxes_2d (np.ndarray): 2D boxes of the annotated objects, (M, 4).
        labels (np.ndarray): Class indices into :data:`CLASSES`, (M,).
    """
    image: np.ndarray
    depth: np.ndarray
    object_map: np.ndarray
    K: np.ndarray
    Rt: np.ndarray
    depth2img: np.ndarray
    boxes_3d: np.ndarray
    boxes_2d: np.ndarray
    labels: np.ndarray


def compute_depth2img(K: np.ndarray, Rt: np.ndarray) -> np.ndarray:
    """Build SUN RGB-D's ``depth2img = K @ (F @ Rt.T)`` (as mmdet3d does).

    Args:
        K (np.ndarray): Intrinsics, (3, 3).
        Rt (np.ndarray): Tilt rotation, (3, 3).

    Returns:
        np.ndarray: depth2img, (3, 3) float64.
    """
    return np.asarray(K, np.float64) @ (FLIP_YZ @ np.asarray(Rt).T)


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def _rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0., s], [0., 1., 0.], [-s, 0., c]])


def _rot_z2(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def pixel_rays(depth2img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rays through the pixel centres, scaled to unit camera depth.

    Args:
        depth2img (np.ndarray): (3, 3) projection to 1-based pixels.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: (3, H * W) float64 directions ``d`` in the depth frame
        (one column per pixel, row-major over pixels), with
        ``depth2img @ d = (u0 + 1, v0 + 1, 1)``; the point at camera depth
        ``t`` on the ray is ``t * d``.
    """
    inv = np.linalg.inv(depth2img)
    u = np.arange(1, width + 1, dtype=np.float64)
    v = np.arange(1, height + 1, dtype=np.float64)
    rays = inv[:, 0, None, None] * u[None, None, :] + \
        inv[:, 1, None, None] * v[None, :, None] + inv[:, 2, None, None]
    return rays.reshape(3, -1)


def _ray_box(dirs: np.ndarray,
             surf: _Surface) -> Tuple[np.ndarray, np.ndarray]:
    """Ray / oriented-box intersection for rays from the origin.

    Args:
        dirs (np.ndarray): (3, M) float32 ray directions.
        surf (_Surface): The box. For ``inside`` boxes (the room) the exit
            point is returned, otherwise the entry point.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``t`` (M,) ray parameter of the hit
        (``inf`` where missed) and ``face`` (M,) int8 code ``2 * axis +
        (normal points to +axis)`` of the hit face in the box frame; the
        normal points towards the camera side.
    """
    c, s = np.float32(np.cos(surf.yaw)), np.float32(np.sin(surf.yaw))
    origin = -surf.rotation().T @ surf.center
    local = (c * dirs[0] + s * dirs[1], c * dirs[1] - s * dirs[0], dirs[2])
    t = None
    for axis in range(3):
        d = local[axis]
        d = np.where(np.abs(d) < _EPS, np.float32(_EPS), d)
        inv = np.float32(1.) / d
        h, o = np.float32(surf.half[axis]), np.float32(origin[axis])
        positive = d > 0
        if surf.inside:  # exit: the far slab plane
            t_axis = (np.where(positive, h, -h) - o) * inv
        else:  # entry: the near slab plane; also track the exit
            t_axis = (np.where(positive, -h, h) - o) * inv
            t_out = (np.where(positive, h, -h) - o) * inv
        # the entry face normal points against d, the exit face (seen from
        # inside) too: normal sign is -sign(d) in both cases
        code = np.int8(2 * axis) + (~positive).astype(np.int8)
        if t is None:
            t, face = t_axis, code
            if not surf.inside:
                t_exit = t_out
        elif surf.inside:
            better = t_axis < t
            t = np.where(better, t_axis, t)
            face = np.where(better, code, face)
        else:
            better = t_axis > t
            t = np.where(better, t_axis, t)
            face = np.where(better, code, face)
            t_exit = np.minimum(t_exit, t_out)
    if surf.inside:
        valid = t > 0
    else:
        valid = (t <= t_exit) & (t > 1e-6)
    if np.isfinite(surf.max_z):
        valid &= t * dirs[2] <= surf.max_z
    return np.where(valid, t, np.float32(np.inf)), face


def _face_normals(surf: _Surface) -> np.ndarray:
    """World normals of a box's 6 face codes (see :func:`_ray_box`).

    Returns:
        np.ndarray: (6, 3), row ``2 * axis + positive``.
    """
    local = np.zeros((6, 3))
    for axis in range(3):
        local[2 * axis, axis] = -1.
        local[2 * axis + 1, axis] = 1.
    return local @ surf.rotation().T


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.) % 6
    f = h * 6. - int(h * 6.)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb) * 255.


def _object_parts(cls: str,
                  size: np.ndarray) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Sub-boxes of a furniture piece in its own frame.

    Args:
        cls (str): Class name.
        size (np.ndarray): (3,) full extent ``dx, dy, dz``.

    Returns:
        list[tuple[np.ndarray, np.ndarray]]: ``(center, size)`` pairs in the
        object frame (origin at the footprint centre on the floor), all
        inside the object's extent.
    """
    dx, dy, dz = size
    parts = []

    def add(x0, x1, y0, y1, z0, z1):
        lo, hi = np.array([x0, y0, z0]), np.array([x1, y1, z1])
        parts.append(((lo + hi) / 2., hi - lo))

    hx, hy = dx / 2., dy / 2.
    if cls == 'bed':
        mattress = min(0.55, dz * 0.6)
        add(-hx + 0.08, hx, -hy, hy, 0., mattress)
        add(-hx, -hx + 0.08, -hy, hy, 0., dz)
    elif cls in ('table', 'desk'):
        top = 0.05
        add(-hx, hx, -hy, hy, dz - top, dz)
        if cls == 'table':
            leg = 0.06
            for sx in (-1, 1):
                for sy in (-1, 1):
                    cx, cy = sx * (hx - leg), sy * (hy - leg)
                    add(cx - leg / 2, cx + leg / 2, cy - leg / 2, cy + leg / 2,
                        0., dz - top)
        else:
            panel = 0.04
            add(-hx, -hx + panel, -hy, hy, 0., dz - top)
            add(hx - panel, hx, -hy, hy, 0., dz - top)
            add(-hx + panel, hx - panel, -hy, -hy + 0.03, 0.3, dz - top)
    elif cls == 'chair':
        seat, leg, back = 0.45, 0.04, 0.05
        add(-hx, hx, -hy, hy, seat - 0.05, seat)
        add(-hx, -hx + back, -hy, hy, seat, dz)
        for sx in (-1, 1):
            for sy in (-1, 1):
                cx, cy = sx * (hx - leg), sy * (hy - leg)
                add(cx - leg / 2, cx + leg / 2, cy - leg / 2, cy + leg / 2, 0.,
                    seat - 0.05)
    elif cls == 'sofa':
        arm, back = 0.15, 0.2
        add(-hx + arm, hx - arm, -hy + back, hy, 0., 0.42)
        add(-hx, hx, -hy, -hy + back, 0., dz)
        add(-hx, -hx + arm, -hy + back, hy, 0., min(0.62, dz))
        add(hx - arm, hx, -hy + back, hy, 0., min(0.62, dz))
    elif cls == 'toilet':
        add(-hx, -hx + 0.2, -hy, hy, 0., dz)
        add(-hx + 0.2, hx, -hy * 0.8, hy * 0.8, 0., 0.4)
    else:
        add(-hx, hx, -hy, hy, 0., dz)
    return parts


_OBJECT_PATTERN = {
    'bed': 'fabric',
    'table': 'wood',
    'sofa': 'fabric',
    'chair': 'wood',
    'toilet': 'ceramic',
    'desk': 'wood',
    'dresser': 'drawers',
    'night_stand': 'drawers',
    'bookshelf': 'shelves',
    'bathtub': 'ceramic'
}


def _object_color(rng: np.random.Generator, pattern: str) -> np.ndarray:
    if pattern == 'ceramic':
        return _hsv_to_rgb(
            rng.uniform(0.5, 0.65), rng.uniform(0., 0.1),
            rng.uniform(0.85, 0.97))
    if pattern in ('wood', 'drawers', 'shelves'):
        return _hsv_to_rgb(
            rng.uniform(0.04, 0.11), rng.uniform(0.35, 0.7),
            rng.uniform(0.35, 0.8))
    return _hsv_to_rgb(
        rng.uniform(0., 1.), rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.9))


def _footprint(center_xy: np.ndarray, size: np.ndarray,
               yaw: float) -> np.ndarray:
    """(4, 2) footprint corners of a box in the xy plane."""
    hx, hy = size[0] / 2., size[1] / 2.
    local = np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]])
    return local @ _rot_z2(yaw).T + center_xy


def _sample_layout(
        rng: np.random.Generator, cfg: SceneConfig, K: np.ndarray,
        Rt: np.ndarray) -> Tuple[List[_Surface], List[Tuple[str, np.ndarray]]]:
    """Sample the room and the furniture.

    Returns:
        tuple: the surfaces to ray-cast and, per furniture piece, its class
        name and gravity-centre box ``(7,)``.
    """
    room_w = rng.uniform(3.0, 6.0)
    room_d = rng.uniform(3.5, 7.0)
    room_h = rng.uniform(2.4, 3.0)
    cam_h = rng.uniform(1.0, 1.6)
    room_yaw = rng.uniform(-np.pi / 6, np.pi / 6)
    # camera position in the room frame (room centred at its origin)
    cam_q = np.array([
        rng.uniform(-0.3, 0.3) * room_w,
        -room_d / 2 + rng.uniform(0.3, 0.25 * room_d)
    ])
    rot2 = _rot_z2(room_yaw)
    room_center_xy = -rot2 @ cam_q
    floor_z = -cam_h
    has_ceiling = rng.uniform() < cfg.ceiling_prob
    # An open room extends far up so that rays leave through the top.
    top = room_h if has_ceiling else 100.
    room = _Surface(
        center=np.array([*room_center_xy, floor_z + top / 2]),
        half=np.array([room_w / 2, room_d / 2, top / 2]),
        yaw=room_yaw,
        rgb=np.zeros(3),
        pattern='room',
        inside=True,
        scale=rng.uniform(0.3, 0.6),
        phase=rng.uniform(0, 2 * np.pi, 3),
        max_z=np.inf if has_ceiling else floor_z + room_h)
    surfaces = [room]

    def to_room(p_xy):
        return (p_xy - room_center_xy) @ rot2

    depth2img = compute_depth2img(K, Rt)
    objects: List[Tuple[str, np.ndarray]] = []
    placed: List[np.ndarray] = []
    num = rng.integers(cfg.num_objects[0], cfg.num_objects[1] + 1)
    for _ in range(num):
        cls = CLASSES[rng.integers(len(CLASSES))]
        size = np.array([rng.uniform(*r) for r in SIZE_PRIORS[cls]])
        for _attempt in range(30):
            if rng.uniform() < 0.7:
                yaw = room_yaw + rng.integers(4) * np.pi / 2 + \
                    rng.normal(0., 0.05)
            else:
                yaw = rng.uniform(-np.pi, np.pi)
            yaw = float((yaw + np.pi) % (2 * np.pi) - np.pi)
            # sample a footprint centre that the camera sees
            depth = rng.uniform(1.0, min(6.0, room_d))
            u = rng.uniform(0.05, 0.95) * cfg.width + 1
            ray = np.linalg.inv(depth2img) @ np.array(
                [u, cfg.height * rng.uniform(0.45, 0.8), 1.])
            xy = (ray * depth)[:2]
            corners = _footprint(xy, size, yaw)
            q = to_room(corners)
            inside = np.all(np.abs(q[:, 0]) < room_w / 2 - 0.02) and \
                np.all(np.abs(q[:, 1]) < room_d / 2 - 0.02)
            if not inside or corners[:, 1].min() < 0.4:
                continue
            radius = 0.5 * np.hypot(size[0], size[1])
            if any(np.hypot(*(xy - p[:2])) < radius + p[2] for p in placed):
                continue
            placed.append(np.array([xy[0], xy[1], radius]))
            box = np.array([xy[0], xy[1], floor_z + size[2] / 2, *size, yaw])
            obj_idx = len(objects)
            objects.append((cls, box))
            pattern = _OBJECT_PATTERN[cls]
            rgb = _object_color(rng, pattern)
            rot = _rot_z2(yaw)
            for p_center, p_size in _object_parts(cls, size):
                c_xy = rot @ p_center[:2] + xy
                part_rgb = np.clip(rgb * rng.uniform(0.85, 1.15), 0, 255)
                surfaces.append(
                    _Surface(
                        center=np.array(
                            [c_xy[0], c_xy[1], floor_z + p_center[2]]),
                        half=p_size / 2.,
                        yaw=yaw,
                        rgb=part_rgb,
                        pattern=pattern,
                        obj=obj_idx,
                        scale=rng.uniform(0.8, 1.2),
                        phase=rng.uniform(0, 2 * np.pi, 3)))
            break
    room.rgb = np.stack([  # wall, floor, ceiling colours
        _hsv_to_rgb(
            rng.uniform(0., 1.), rng.uniform(0.05, 0.3),
            rng.uniform(0.7, 0.95)),
        _hsv_to_rgb(
            rng.uniform(0.03, 0.12), rng.uniform(0.2, 0.6),
            rng.uniform(0.35, 0.75)),
        _hsv_to_rgb(0., 0., rng.uniform(0.85, 0.97)),
    ])
    return surfaces, objects


def _box_pixel_window(surf_boxes: Sequence[_Surface], depth2img: np.ndarray,
                      height: int, width: int) -> Optional[Tuple[int, ...]]:
    """0-based pixel window ``(r0, r1, c0, c1)`` enclosing some boxes.

    Returns ``None`` when a corner is at or behind the camera plane (the
    caller then casts over the whole image) and an empty window when the
    boxes are outside the image.
    """
    corners = []
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1)
                      for sz in (-1, 1)],
                     dtype=np.float64)
    for s in surf_boxes:
        corners.append((signs * s.half) @ s.rotation().T + s.center)
    corners = np.concatenate(corners)
    uvw = corners @ depth2img.T
    if np.any(uvw[:, 2] < 0.05):
        return None
    u = uvw[:, 0] / uvw[:, 2] - 1.
    v = uvw[:, 1] / uvw[:, 2] - 1.
    c0 = int(np.clip(np.floor(u.min()) - 1, 0, width))
    c1 = int(np.clip(np.ceil(u.max()) + 2, 0, width))
    r0 = int(np.clip(np.floor(v.min()) - 1, 0, height))
    r1 = int(np.clip(np.ceil(v.max()) + 2, 0, height))
    return r0, r1, c0, c1


def _texture(surf: _Surface, points: np.ndarray,
             face: np.ndarray) -> np.ndarray:
    """Base colour times a procedural texture at hit points.

    Args:
        surf (_Surface): Surface that was hit.
        points (np.ndarray): (3, M) float32 hit points in the depth frame.
        face (np.ndarray): (M,) face codes of the hits (see
            :func:`_ray_box`).

    Returns:
        np.ndarray: (M, 3) float32 unshaded colours on the 0-255 scale.
    """
    c, s = np.float32(np.cos(surf.yaw)), np.float32(np.sin(surf.yaw))
    px = points[0] - np.float32(surf.center[0])
    py = points[1] - np.float32(surf.center[1])
    ax, ay = c * px + s * py, c * py - s * px
    height = points[2] - np.float32(surf.center[2] - surf.half[2])
    f32 = np.float32
    if surf.pattern == 'room':
        floor, ceiling = face == 5, face == 4
        tile = f32(surf.scale)
        checker = (np.floor(ax / tile) + np.floor(ay / tile)) % 2
        grout = np.minimum(ax % tile, ay % tile) < 0.012
        mod = 1 + f32(0.05) * np.sin(
            f32(2.1) * (ax + ay) + f32(surf.phase[0])) - \
            f32(0.3) * (height < 0.1)
        mod[floor] = (
            f32(0.92) + f32(0.16) * checker[floor] - f32(0.25) * grout[floor])
        mod[ceiling] = 1.
        rgb = np.empty((len(face), 3), np.float32)
        rgb[:] = surf.rgb[0]
        rgb[floor] = surf.rgb[1]
        rgb[ceiling] = surf.rgb[2]
        return rgb * mod[:, None]
    scale, phase = f32(surf.scale), surf.phase.astype(np.float32)
    if surf.pattern == 'wood':
        mod = 1 + f32(0.1) * np.sin(
            f32(40.) * scale * (ax + f32(0.3) * ay) +
            f32(4.) * np.sin(f32(3.) * height + phase[0]))
    elif surf.pattern == 'fabric':
        mod = 1 + f32(0.06) * np.sin(f32(25.) * scale * ax + phase[0]) * \
            np.sin(f32(25.) * scale * ay + phase[1]) + \
            f32(0.04) * np.sin(f32(9.) * height + phase[2])
    elif surf.pattern == 'drawers':
        mod = 1 - f32(0.35) * ((height % f32(0.22)) < 0.02) + \
            f32(0.06) * np.sin(f32(30.) * (ax + ay))
    elif surf.pattern == 'shelves':
        band = np.floor(height / f32(0.32))
        books = np.sin(
            f32(37.) * np.floor((ax + ay) / f32(0.04)) + f32(11.) * band)
        mod = np.where((height % f32(0.32)) < 0.03, f32(0.6),
                       1 + f32(0.25) * books)
    else:  # ceramic
        mod = 1 - f32(0.04) * np.cos(f32(6.) * height + phase[0])
    return surf.rgb.astype(np.float32) * mod[:, None]


def render_scene(rng: np.random.Generator,
                 cfg: Optional[SceneConfig] = None) -> SyntheticScene:
    """Render one random scene.

    Args:
        rng (np.random.Generator): Source of all randomness of the scene.
        cfg (SceneConfig, optional): Scene parameters. Defaults to
            ``SceneConfig()``.

    Returns:
        SyntheticScene: Image, depth map, calibration and annotations.
    """
    cfg = cfg or SceneConfig()
    height, width = cfg.height, cfg.width
    K = cfg.intrinsics()
    pitch = np.deg2rad(rng.uniform(*cfg.pitch_range))
    roll = np.deg2rad(rng.uniform(*cfg.roll_range))
    Rt = _rot_x(pitch) @ _rot_y(roll)
    depth2img = compute_depth2img(K, Rt)
    surfaces, objects = _sample_layout(rng, cfg, K, Rt)

    dirs = pixel_rays(depth2img, height, width).astype(np.float32)
    num_pix = height * width

    # Room over the whole image, then each object's parts inside the pixel
    # window of the object's projected corners.
    t_best, face = _ray_box(dirs, surfaces[0])
    surf_id = np.zeros(num_pix, dtype=np.int16)
    pix_index = np.arange(num_pix).reshape(height, width)
    by_object: Dict[int, List[int]] = {}
    for k, s in enumerate(surfaces[1:], start=1):
        by_object.setdefault(s.obj, []).append(k)
    for ids in by_object.values():
        window = _box_pixel_window([surfaces[k] for k in ids], depth2img,
                                   height, width)
        if window is None:
            sel = pix_index.ravel()
        else:
            r0, r1, c0, c1 = window
            sel = pix_index[r0:r1, c0:c1].ravel()
        if sel.size == 0:
            continue
        sub = dirs[:, sel]
        t_sel = t_best[sel]
        face_sel = face[sel]
        id_sel = surf_id[sel]
        for k in ids:
            t, f = _ray_box(sub, surfaces[k])
            closer = t < t_sel
            t_sel = np.where(closer, t, t_sel)
            face_sel = np.where(closer, f, face_sel)
            id_sel = np.where(closer, np.int16(k), id_sel)
        t_best[sel], face[sel], surf_id[sel] = t_sel, face_sel, id_sel

    valid = np.isfinite(t_best) & (t_best <= cfg.max_depth)
    t_valid = np.where(valid, t_best, np.float32(0.))
    surf_id[~valid] = -1

    # Shading: textured base colour, Lambert + ambient, a weak fill light
    # from the camera side and a mild distance falloff, per surface face.
    light = np.array([0.35, -0.45, 0.82])
    light /= np.linalg.norm(light)
    fill = np.array([0., -1., 0.])
    colour = np.empty((num_pix, 3), dtype=np.float32)
    order = np.argsort(surf_id, kind='stable')
    bounds = np.searchsorted(surf_id[order], np.arange(-1, len(surfaces) + 1))
    falloff = np.float32(1.) / (np.float32(1.) + np.float32(0.04) * t_valid)
    for k in range(-1, len(surfaces)):
        m = order[bounds[k + 1]:bounds[k + 2]]
        if m.size == 0:
            continue
        if k < 0:  # the dark "outside" of an open room or beyond range
            row = (m // width).astype(np.float32) / height
            colour[m] = np.array([40., 44., 52.], np.float32) + \
                20. * row[:, None]
            continue
        surf = surfaces[k]
        normals = _face_normals(surf)
        face_shade = (0.45 + 0.45 * np.clip(normals @ light, 0., None) +
                      0.12 * np.abs(normals @ fill)).astype(np.float32)
        face_m = face[m]
        shade = face_shade[face_m] * falloff[m]
        colour[m] = _texture(surf, dirs[:, m] * t_valid[m],
                             face_m) * shade[:, None]
    colour += rng.standard_normal(colour.shape, dtype=np.float32) * \
        np.float32(cfg.noise_std)
    image = np.clip(np.rint(colour), 0,
                    255).astype(np.uint8).reshape(height, width, 3)
    depth = t_valid.reshape(height, width)

    # Annotations for the objects that are visible enough.
    owner = np.array([s.obj for s in surfaces] + [-1], dtype=np.int32)
    pixel_obj = owner[surf_id]  # surf_id -1 picks the trailing -1
    counts = np.bincount(pixel_obj[pixel_obj >= 0], minlength=len(objects))
    min_pixels = max(1, int(cfg.min_visible_fraction * num_pix))
    keep = [i for i in range(len(objects)) if counts[i] >= min_pixels]
    remap = np.full(len(objects) + 1, -1, dtype=np.int16)
    boxes_3d, boxes_2d, labels = [], [], []
    obj_map = pixel_obj.reshape(height, width)
    for new, i in enumerate(keep):
        remap[i] = new
        rows, cols = np.nonzero(obj_map == i)
        boxes_2d.append(
            [cols.min(),
             rows.min(),
             cols.max() + 1.,
             rows.max() + 1.])
        boxes_3d.append(objects[i][1])
        labels.append(CLASSES.index(objects[i][0]))
    object_map = remap[obj_map]  # index -1 maps to the last entry (-1)
    return SyntheticScene(
        image=image,
        depth=depth,
        object_map=object_map,
        K=K,
        Rt=Rt,
        depth2img=depth2img,
        boxes_3d=np.array(boxes_3d, dtype=np.float64).reshape(-1, 7),
        boxes_2d=np.array(boxes_2d, dtype=np.float64).reshape(-1, 4),
        labels=np.array(labels, dtype=np.int64))


def backproject(depth: np.ndarray,
                image: np.ndarray,
                depth2img: np.ndarray,
                pixel_index: Optional[np.ndarray] = None) -> np.ndarray:
    """Back-project a depth map into a coloured point cloud.

    Args:
        depth (np.ndarray): (H, W) camera depth, 0 for invalid pixels.
        image (np.ndarray): (H, W, 3) uint8 RGB image registered to it.
        depth2img (np.ndarray): (3, 3) projection to 1-based pixels.
        pixel_index (np.ndarray, optional): (N,) flat (row-major) indices of
            the valid pixels to back-project, in the order wanted; ``None``
            takes every valid pixel in row-major order.

    Returns:
        np.ndarray: (N, 6) float32 points ``x, y, z, r, g, b`` (rgb in
        [0, 1]); each projects to the centre of its pixel.
    """
    height, width = depth.shape
    flat_depth = depth.ravel()
    if pixel_index is None:
        pixel_index = np.flatnonzero(flat_depth > 0)
    elif np.any(flat_depth[pixel_index] <= 0):
        raise ValueError('backproject: pixel_index selects pixels without '
                         'depth')
    rows, cols = np.divmod(pixel_index, width)
    pix = np.stack([cols + 1., rows + 1., np.ones(len(pixel_index))])
    xyz = (np.linalg.inv(depth2img) @ pix) * \
        flat_depth[pixel_index].astype(np.float64)
    rgb = image.reshape(-1, 3)[pixel_index].astype(np.float64) / 255.
    return np.concatenate([xyz.T, rgb], axis=1).astype(np.float32)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """Encode an RGB uint8 image as JPEG (deterministic).

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        quality (int): JPEG quality.

    Returns:
        bytes: The JPEG file content.
    """
    buf = io.BytesIO()
    Image.fromarray(image, 'RGB').save(buf, format='JPEG', quality=quality)
    return buf.getvalue()


def scene_info(scene: SyntheticScene, sample_id: int) -> dict:
    """The mmdet3d v1.x SUN RGB-D ``data_list`` entry of a scene.

    Args:
        scene (SyntheticScene): The rendered scene.
        sample_id (int): Number used in the file names (``%06d``).

    Returns:
        dict: ``images.CAM0`` (``img_path``, ``height``, ``width``,
        ``depth2img`` as a nested list), ``lidar_points`` (``num_pts_feats``,
        ``lidar_path``) and ``instances`` (``bbox``, ``bbox_label``,
        ``bbox_3d``, ``bbox_label_3d``), like mmdet3d's converter.
    """
    height, width = scene.depth.shape
    instances = []
    for box2d, box3d, label in zip(scene.boxes_2d, scene.boxes_3d,
                                   scene.labels):
        instances.append(
            dict(
                bbox=[float(x) for x in box2d],
                bbox_label=int(label),
                bbox_3d=[float(x) for x in box3d],
                bbox_label_3d=int(label)))
    return dict(
        images=dict(
            CAM0=dict(
                img_path=f'{sample_id:06d}.jpg',
                height=int(height),
                width=int(width),
                depth2img=scene.depth2img.tolist())),
        lidar_points=dict(num_pts_feats=6, lidar_path=f'{sample_id:06d}.bin'),
        instances=instances)


def generate_scene(out_dir: str, seed: int, sample_id: int,
                   cfg: SceneConfig) -> dict:
    """Render one scene and write its point and image files.

    The scene's random stream depends only on ``(seed, sample_id)``, so
    output does not depend on worker count or order.

    Args:
        out_dir (str): Dataset root.
        seed (int): Global seed.
        sample_id (int): Scene number.
        cfg (SceneConfig): Scene parameters.

    Returns:
        dict: The scene's ``data_list`` entry (see :func:`scene_info`).
    """
    rng = np.random.default_rng([seed, sample_id])
    scene = render_scene(rng, cfg)
    jpeg = encode_jpeg(scene.image, cfg.jpeg_quality)
    # Colour the points from the decoded file, as on real data.
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert('RGB'))
    pixel_index = np.flatnonzero(scene.depth.ravel() > 0)
    if 0 <= cfg.num_points < len(pixel_index):
        pixel_index = pixel_index[rng.choice(
            len(pixel_index), cfg.num_points, replace=False)]
    points = backproject(scene.depth, decoded, scene.depth2img, pixel_index)
    with open(
            osp.join(out_dir, 'sunrgbd_trainval', 'image',
                     f'{sample_id:06d}.jpg'), 'wb') as f:
        f.write(jpeg)
    points.tofile(osp.join(out_dir, 'points', f'{sample_id:06d}.bin'))
    return scene_info(scene, sample_id)


def _generate_scene_star(args: tuple) -> dict:
    # A pickle round trip gives the info the same object sharing whether it
    # was made here or in a worker, so the info files are byte-identical
    # for any worker count.
    return pickle.loads(pickle.dumps(generate_scene(*args), protocol=4))


def sunrgbd_metainfo() -> dict:
    """``metainfo`` of mmdet3d v1.x SUN RGB-D info files.

    Returns:
        dict: ``categories`` (name -> label), ``dataset``, ``info_version``.
    """
    return dict(
        categories={
            c: i
            for i, c in enumerate(CLASSES)
        },
        dataset='sunrgbd',
        info_version='1.1')


def generate_dataset(
    out_dir: str,
    num_scenes: int,
    seed: int = 0,
    val_ratio: float = 0.2,
    cfg: Optional[SceneConfig] = None,
    workers: int = 1,
    progress: Optional[Callable[[Iterable], Iterable]] = None
) -> Dict[str, List[dict]]:
    """Generate a synthetic SUN RGB-D dataset in mmdet3d's layout.

    Scenes are numbered from 1 (``000001``); the last
    ``round(num_scenes * val_ratio)`` scenes form the val split.

    Args:
        out_dir (str): Dataset root (created if needed).
        num_scenes (int): Number of scenes (> 0).
        seed (int): Seed; same seed and arguments give identical files.
        val_ratio (float): Fraction of scenes in the val split, in [0, 1).
        cfg (SceneConfig, optional): Scene parameters.
        workers (int): Worker processes; 1 renders in this process.
        progress (callable, optional): Wraps the iterable of finished
            scenes, e.g. a progress bar; it must yield every item.

    Returns:
        dict[str, list[dict]]: ``{'train': data_list, 'val': data_list}``.
    """
    if num_scenes <= 0:
        raise ValueError(f'num_scenes must be positive, got {num_scenes}')
    if not 0. <= val_ratio < 1.:
        raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
    cfg = cfg or SceneConfig()
    os.makedirs(osp.join(out_dir, 'points'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'sunrgbd_trainval', 'image'), exist_ok=True)
    jobs = [(out_dir, seed, i, cfg) for i in range(1, num_scenes + 1)]
    wrap = progress or (lambda x: x)
    if workers > 1:
        with Pool(workers) as pool:
            infos = list(wrap(pool.imap(_generate_scene_star, jobs)))
    else:
        infos = list(wrap(map(_generate_scene_star, jobs)))
    num_val = int(round(num_scenes * val_ratio))
    splits = dict(
        train=infos[:num_scenes - num_val], val=infos[num_scenes - num_val:])
    for split, data_list in splits.items():
        with open(osp.join(out_dir, f'sunrgbd_infos_{split}.pkl'), 'wb') as f:
            pickle.dump(
                dict(metainfo=sunrgbd_metainfo(), data_list=data_list),
                f,
                protocol=4)
    return splits
