# Copyright (c) OpenMMLab. All rights reserved.
"""Rendering: per-pixel ray casting of a scene layout into an image and a
depth map, and back-projection of the depth map into a point cloud."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..geometry import depth2img_from_calib
from .scene_layout import (CLASSES, SceneConfig, Surface, sample_camera_tilt,
                           sample_layout)

_EPS = 1e-9


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
        depth2img (np.ndarray): ``K @ DEPTH_TO_CAMERA @ Rt.T``, (3, 3).
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


def ray_box(dirs: np.ndarray, surf: Surface) -> Tuple[np.ndarray, np.ndarray]:
    """Ray / oriented-box intersection for rays from the origin.

    Args:
        dirs (np.ndarray): (3, M) float32 ray directions.
        surf (Surface): The box. For ``inside`` boxes (the room) the exit
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


def face_normals(surf: Surface) -> np.ndarray:
    """World normals of a box's 6 face codes (see :func:`ray_box`).

    Returns:
        np.ndarray: (6, 3), row ``2 * axis + positive``.
    """
    local = np.zeros((6, 3))
    for axis in range(3):
        local[2 * axis, axis] = -1.
        local[2 * axis + 1, axis] = 1.
    return local @ surf.rotation().T


def box_pixel_window(surf_boxes: Sequence[Surface], depth2img: np.ndarray,
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


def texture(surf: Surface, points: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Base colour times a procedural texture at hit points.

    Args:
        surf (Surface): Surface that was hit.
        points (np.ndarray): (3, M) float32 hit points in the depth frame.
        face (np.ndarray): (M,) face codes of the hits (see
            :func:`ray_box`).

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


def sensor_depth(rng: np.random.Generator, depth: np.ndarray,
                 noise: float, dropout: float) -> np.ndarray:
    """A depth sensor's reading of the exact depth map.

    Valid pixels get Gaussian noise of standard deviation ``noise * d**2``
    at depth ``d`` (the quadratic growth of structured-light and stereo
    depth error) and a random ``dropout`` fraction of them is lost (depth
    0). Invalid pixels stay 0; a noisy depth never drops below 1 mm.

    Args:
        rng (np.random.Generator): Source of randomness.
        depth (np.ndarray): (H, W) float32 exact depth, 0 where invalid.
        noise (float): Noise standard deviation in metres at 1 m.
        dropout (float): Fraction of valid pixels to drop, in [0, 1).

    Returns:
        np.ndarray: (H, W) float32 sensed depth.
    """
    valid = depth > 0
    sensed = depth + rng.standard_normal(
        depth.shape, dtype=np.float32) * np.float32(noise) * depth * depth
    sensed = np.where(valid, np.maximum(sensed, np.float32(1e-3)),
                      np.float32(0.))
    if dropout > 0:
        sensed[valid & (rng.random(depth.shape) < dropout)] = 0.
    return sensed.astype(np.float32)


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
    Rt = sample_camera_tilt(rng, cfg)
    depth2img = depth2img_from_calib(Rt, K)
    surfaces, objects = sample_layout(rng, cfg, depth2img)

    dirs = pixel_rays(depth2img, height, width).astype(np.float32)
    num_pix = height * width

    # Room over the whole image, then each object's parts inside the pixel
    # window of the object's projected corners.
    t_best, face = ray_box(dirs, surfaces[0])
    surf_id = np.zeros(num_pix, dtype=np.int16)
    pix_index = np.arange(num_pix).reshape(height, width)
    by_object: Dict[int, List[int]] = {}
    for k, s in enumerate(surfaces[1:], start=1):
        by_object.setdefault(s.obj, []).append(k)
    for ids in by_object.values():
        window = box_pixel_window([surfaces[k] for k in ids], depth2img,
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
            t, f = ray_box(sub, surfaces[k])
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
        normals = face_normals(surf)
        face_shade = (0.45 + 0.45 * np.clip(normals @ light, 0., None) +
                      0.12 * np.abs(normals @ fill)).astype(np.float32)
        face_m = face[m]
        shade = face_shade[face_m] * falloff[m]
        colour[m] = texture(surf, dirs[:, m] * t_valid[m],
                            face_m) * shade[:, None]
    colour += rng.standard_normal(colour.shape, dtype=np.float32) * \
        np.float32(cfg.noise_std)
    image = np.clip(np.rint(colour), 0,
                    255).astype(np.uint8).reshape(height, width, 3)
    depth = t_valid.reshape(height, width)
    if cfg.depth_noise > 0 or cfg.depth_dropout > 0:
        depth = sensor_depth(rng, depth, cfg.depth_noise, cfg.depth_dropout)

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
