# Copyright (c) OpenMMLab. All rights reserved.
"""Scene layout: camera, room and furniture of a synthetic scene."""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from ..datasets.sunrgbd_classes import SUNRGBD_CLASSES
from ..geometry import rotation_z_matrix

#: the generated objects' classes and label order: SUN RGB-D's
CLASSES = SUNRGBD_CLASSES

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

#: Textures of furniture (see ``scene_renderer.texture``).
OBJECT_PATTERNS = ('wood', 'fabric', 'drawers', 'shelves', 'ceramic')

#: Texture of each class (see ``scene_renderer.texture``).
OBJECT_PATTERN = {
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
        aligned_yaw_prob (float): Probability that a piece is turned by a
            multiple of 90 degrees from the room's axes (plus a small jitter)
            rather than by a uniform angle. Defaults to 0.7.
        detailed_shapes (bool): Build dressers, night stands, bookshelves and
            bathtubs from parts (drawer fronts and legs, open shelves, a
            hollow tub) instead of solid boxes. Defaults to False.
        class_colours (bool): Tie each class to its texture and colour range
            (:data:`OBJECT_PATTERN`); False draws texture and colour
            independently of the class, so only shape and size tell classes
            apart. Defaults to True.
        size_spread (float): Widen every class's size range
            (:data:`SIZE_PRIORS`) by this fraction at both ends, so that the
            sizes of neighbouring classes overlap more. Defaults to 0.
        clutter (tuple[int, int]): Inclusive range of unannotated small boxes
            per scene, on the floor or on the flat tops of furniture; they
            occlude objects and lie inside annotated boxes' surroundings.
            Defaults to (0, 0).
        depth_noise (float): Standard deviation in metres of the depth
            noise at 1 m; it grows with the squared depth like a structured
            light / time-of-flight sensor's. Defaults to 0.
        depth_dropout (float): Fraction of the valid pixels whose depth is
            dropped (no point), at random. Defaults to 0.
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
    aligned_yaw_prob: float = 0.7
    detailed_shapes: bool = False
    class_colours: bool = True
    size_spread: float = 0.0
    clutter: Tuple[int, int] = (0, 0)
    depth_noise: float = 0.0
    depth_dropout: float = 0.0

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


#: Named scene settings (``tools/create_demo_data.py --variety``).
#: ``'basic'`` is :class:`SceneConfig`'s defaults (the demos' scenes);
#: ``'rich'`` makes classes differ by shape and size only (texture and
#: colour drawn independently of the class, overlapping size ranges),
#: with more and freer-standing furniture, clutter that occludes it, and
#: depth noise and dropout like a real sensor's.
SCENE_PRESETS: Dict[str, dict] = {
    'basic': {},
    'rich': dict(
        num_objects=(4, 10),
        aligned_yaw_prob=0.5,
        detailed_shapes=True,
        class_colours=False,
        size_spread=0.15,
        clutter=(2, 6),
        depth_noise=0.003,
        depth_dropout=0.02),
}


@dataclass
class Surface:
    """An oriented box taking part in the ray casting.

    Attributes:
        center (np.ndarray): Box centre in the depth frame, (3,).
        half (np.ndarray): Half sizes along the box's own axes, (3,).
        yaw (float): Rotation about z (counter-clockwise from x).
        rgb (np.ndarray): Base colour, (3,) on the 0-255 scale; the room
            has one row per wall / floor / ceiling, (3, 3).
        pattern (str): Texture name (``'room'`` or a value of
            :data:`OBJECT_PATTERN`).
        obj (int): Index of the annotated object the part belongs to, -1
            for the room.
        inside (bool): Whether the box is seen from within (the room).
        scale (float): Texture scale.
        phase (np.ndarray): Texture phases, (3,).
        max_z (float): Hits above this height are discarded (the open top
            of a room without ceiling).
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
        """The box's rotation about z, (3, 3) float64."""
        return rotation_z_matrix(self.yaw)


def rotation_x(angle: float) -> np.ndarray:
    """Rotation about x (the camera's pitch), (3, 3) float64."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def rotation_y(angle: float) -> np.ndarray:
    """Rotation about y (the camera's roll), (3, 3) float64."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0., s], [0., 1., 0.], [-s, 0., c]])


def sample_camera_tilt(rng: np.random.Generator,
                       cfg: SceneConfig) -> np.ndarray:
    """Draw SUN RGB-D's ``Rt``: the camera's pitch and roll.

    Args:
        rng (np.random.Generator): Source of randomness.
        cfg (SceneConfig): Scene parameters (pitch and roll ranges).

    Returns:
        np.ndarray: ``Rt`` (tilted camera depth frame -> upright depth
        frame), (3, 3) float64.
    """
    pitch = np.deg2rad(rng.uniform(*cfg.pitch_range))
    roll = np.deg2rad(rng.uniform(*cfg.roll_range))
    return rotation_x(pitch) @ rotation_y(roll)


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (all in [0, 1]) as RGB on the 0-255 scale, (3,)."""
    i = int(h * 6.) % 6
    f = h * 6. - int(h * 6.)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb) * 255.


def object_parts(
        cls: str,
        size: np.ndarray,
        detailed: bool = False) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Sub-boxes of a furniture piece in its own frame.

    The front of a piece faces its +y side.

    Args:
        cls (str): Class name.
        size (np.ndarray): (3,) full extent ``dx, dy, dz``.
        detailed (bool): Build dressers, night stands, bookshelves and
            bathtubs from parts (see ``SceneConfig.detailed_shapes``);
            otherwise they are solid boxes. Defaults to False.

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
    elif detailed and cls in ('dresser', 'night_stand'):
        # legs, a recessed body, drawer fronts at the front, a top
        leg, front, top = min(0.1, 0.2 * dz), 0.025, 0.03
        for sx in (-1, 1):
            for sy in (-1, 1):
                cx, cy = sx * (hx - 0.03), sy * (hy - front - 0.03)
                add(cx - 0.025, cx + 0.025, cy - 0.025, cy + 0.025, 0., leg)
        add(-hx + 0.01, hx - 0.01, -hy, hy - front, leg, dz - top)
        add(-hx, hx, -hy, hy, dz - top, dz)
        num_drawers = max(1, int(round((dz - top - leg) / 0.25)))
        pitch = (dz - top - leg) / num_drawers
        for k in range(num_drawers):
            z0 = leg + k * pitch
            add(-hx + 0.03, hx - 0.03, hy - front, hy, z0 + 0.01,
                z0 + pitch - 0.01)
    elif detailed and cls == 'bookshelf':
        # back panel, two sides, shelf boards every ~0.32 m, open front
        panel = 0.02
        add(-hx, hx, -hy, -hy + panel, 0., dz)
        add(-hx, -hx + panel, -hy + panel, hy, 0., dz)
        add(hx - panel, hx, -hy + panel, hy, 0., dz)
        num_boards = max(2, int(dz / 0.32) + 1)
        for k in range(num_boards):
            z0 = k * (dz - panel) / (num_boards - 1)
            add(-hx + panel, hx - panel, -hy + panel, hy, z0, z0 + panel)
    elif detailed and cls == 'bathtub':
        # a hollow tub: base and four rims
        rim, base = 0.07, 0.12
        add(-hx, hx, -hy, hy, 0., base)
        add(-hx, hx, -hy, -hy + rim, base, dz)
        add(-hx, hx, hy - rim, hy, base, dz)
        add(-hx, -hx + rim, -hy + rim, hy - rim, base, dz)
        add(hx - rim, hx, -hy + rim, hy - rim, base, dz)
    else:
        add(-hx, hx, -hy, hy, 0., dz)
    return parts


def _object_color(rng: np.random.Generator, pattern: str) -> np.ndarray:
    if pattern == 'ceramic':
        return hsv_to_rgb(
            rng.uniform(0.5, 0.65), rng.uniform(0., 0.1),
            rng.uniform(0.85, 0.97))
    if pattern in ('wood', 'drawers', 'shelves'):
        return hsv_to_rgb(
            rng.uniform(0.04, 0.11), rng.uniform(0.35, 0.7),
            rng.uniform(0.35, 0.8))
    return hsv_to_rgb(
        rng.uniform(0., 1.), rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.9))


def _footprint(center_xy: np.ndarray, size: np.ndarray,
               yaw: float) -> np.ndarray:
    """(4, 2) footprint corners of a box in the xy plane."""
    hx, hy = size[0] / 2., size[1] / 2.
    local = np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]])
    return local @ rotation_z_matrix(yaw)[:2, :2].T + center_xy


def sample_layout(
    rng: np.random.Generator, cfg: SceneConfig, depth2img: np.ndarray
) -> Tuple[List[Surface], List[Tuple[str, np.ndarray]]]:
    """Sample the room and the furniture the camera sees.

    The room is a box around the camera (floor, walls, and a ceiling with
    probability ``cfg.ceiling_prob``); furniture pieces stand on its floor,
    inside it, without overlapping, at footprint centres drawn on rays of
    the lower image half.

    Args:
        rng (np.random.Generator): Source of randomness.
        cfg (SceneConfig): Scene parameters.
        depth2img (np.ndarray): The camera's projection to 1-based pixels,
            (3, 3).

    Returns:
        tuple[list[Surface], list[tuple[str, np.ndarray]]]: The surfaces to
        ray-cast (the room first) and, per furniture piece, its class name
        and gravity-centre box ``(7,)``.
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
    rot2 = rotation_z_matrix(room_yaw)[:2, :2]
    room_center_xy = -rot2 @ cam_q
    floor_z = -cam_h
    has_ceiling = rng.uniform() < cfg.ceiling_prob
    # An open room extends far up so that rays leave through the top.
    top = room_h if has_ceiling else 100.
    room = Surface(
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

    img2depth = np.linalg.inv(depth2img)
    objects: List[Tuple[str, np.ndarray]] = []
    placed: List[np.ndarray] = []
    num = rng.integers(cfg.num_objects[0], cfg.num_objects[1] + 1)
    for _ in range(num):
        cls = CLASSES[rng.integers(len(CLASSES))]
        spread = np.array([1. - cfg.size_spread, 1. + cfg.size_spread])
        size = np.array(
            [rng.uniform(*(np.array(r) * spread)) for r in SIZE_PRIORS[cls]])
        for _attempt in range(30):
            if rng.uniform() < cfg.aligned_yaw_prob:
                yaw = room_yaw + rng.integers(4) * np.pi / 2 + \
                    rng.normal(0., 0.05)
            else:
                yaw = rng.uniform(-np.pi, np.pi)
            yaw = float((yaw + np.pi) % (2 * np.pi) - np.pi)
            # sample a footprint centre that the camera sees
            depth = rng.uniform(1.0, min(6.0, room_d))
            u = rng.uniform(0.05, 0.95) * cfg.width + 1
            ray = img2depth @ np.array(
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
            if cfg.class_colours:
                pattern = OBJECT_PATTERN[cls]
            else:
                pattern = OBJECT_PATTERNS[rng.integers(len(OBJECT_PATTERNS))]
            rgb = _object_color(rng, pattern)
            rot = rotation_z_matrix(yaw)[:2, :2]
            for p_center, p_size in object_parts(cls, size,
                                                 cfg.detailed_shapes):
                c_xy = rot @ p_center[:2] + xy
                part_rgb = np.clip(rgb * rng.uniform(0.85, 1.15), 0, 255)
                surfaces.append(
                    Surface(
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
    if cfg.clutter[1] > 0:
        surfaces += sample_clutter(rng, cfg, objects, placed, to_room,
                                   (room_w, room_d), floor_z, img2depth)
    room.rgb = np.stack([  # wall, floor, ceiling colours
        hsv_to_rgb(
            rng.uniform(0., 1.), rng.uniform(0.05, 0.3),
            rng.uniform(0.7, 0.95)),
        hsv_to_rgb(
            rng.uniform(0.03, 0.12), rng.uniform(0.2, 0.6),
            rng.uniform(0.35, 0.75)),
        hsv_to_rgb(0., 0., rng.uniform(0.85, 0.97)),
    ])
    return surfaces, objects


#: Classes with a flat top that clutter may stand on.
FLAT_TOPS = ('table', 'desk', 'dresser', 'night_stand')


def sample_clutter(rng: np.random.Generator, cfg: SceneConfig,
                   objects: List[Tuple[str, np.ndarray]],
                   placed: List[np.ndarray], to_room: Callable,
                   room_size: Tuple[float, float], floor_z: float,
                   img2depth: np.ndarray) -> List[Surface]:
    """Unannotated small boxes on the floor or on flat furniture tops.

    A floor box stands in view, inside the room, clear of the furniture
    (``placed`` discs, which it joins); a box on a top lies within that
    top's footprint. Neither is annotated (``obj=-1``): they occlude
    objects and add points near them, as clutter does in real scans.

    Args:
        rng (np.random.Generator): Source of randomness.
        cfg (SceneConfig): Scene parameters (``clutter`` range, image size).
        objects (list[tuple[str, np.ndarray]]): The furniture placed so far,
            class name and gravity-centre box ``(7,)``.
        placed (list[np.ndarray]): Footprint discs ``(x, y, radius)`` of
            the furniture; floor clutter is appended.
        to_room (Callable): Maps (N, 2) depth-frame xy to room coordinates.
        room_size (tuple[float, float]): Room width and depth.
        floor_z (float): Height of the floor in the depth frame.
        img2depth (np.ndarray): Inverse of ``depth2img``, (3, 3).

    Returns:
        list[Surface]: The clutter boxes.
    """
    surfaces = []
    tops = [box for name, box in objects if name in FLAT_TOPS]
    for _ in range(rng.integers(cfg.clutter[0], cfg.clutter[1] + 1)):
        size = rng.uniform([0.08, 0.08, 0.06], [0.45, 0.45, 0.5])
        yaw = float(rng.uniform(-np.pi, np.pi))
        if tops and rng.uniform() < 0.4:
            box = tops[rng.integers(len(tops))]
            size[:2] = np.minimum(size[:2], 0.8 * box[3:5])
            local = rng.uniform(-1., 1., 2) * (box[3:5] - size[:2]) / 2
            xy = rotation_z_matrix(box[6])[:2, :2] @ local + box[:2]
            bottom = box[2] + box[5] / 2
        else:
            depth = rng.uniform(0.8, 5.0)
            ray = img2depth @ np.array([
                rng.uniform(0.05, 0.95) * cfg.width + 1,
                cfg.height * rng.uniform(0.5, 0.9), 1.
            ])
            xy = (ray * depth)[:2]
            radius = 0.5 * np.hypot(size[0], size[1])
            corners = _footprint(xy, size, yaw)
            q = to_room(corners)
            if not (np.all(np.abs(q[:, 0]) < room_size[0] / 2 - 0.02)
                    and np.all(np.abs(q[:, 1]) < room_size[1] / 2 - 0.02)
                    and corners[:, 1].min() >= 0.3):
                continue
            if any(np.hypot(*(xy - p[:2])) < radius + p[2] for p in placed):
                continue
            placed.append(np.array([xy[0], xy[1], radius]))
            bottom = floor_z
        pattern = OBJECT_PATTERNS[rng.integers(len(OBJECT_PATTERNS))]
        surfaces.append(
            Surface(
                center=np.array([xy[0], xy[1], bottom + size[2] / 2]),
                half=size / 2.,
                yaw=yaw,
                rgb=_object_color(rng, pattern),
                pattern=pattern,
                obj=-1,
                scale=rng.uniform(0.8, 1.2),
                phase=rng.uniform(0, 2 * np.pi, 3)))
    return surfaces
