# Copyright (c) OpenMMLab. All rights reserved.
"""A synthetic SUN RGB-D style camera, written independently of the package.

The conventions are spelled out here from the SUN RGB-D toolbox rather than
imported from ``pimae.geometry``, so the tests compare two derivations.
"""
import numpy as np

# Depth frame (x right, y forward, z up) -> camera (x right, y down, z front).
FLIP_AXES = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])


def rot_x(angle: float) -> np.ndarray:
    """Right-handed rotation about x (column-vector form)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1., 0., 0.], [0., c, -s], [0., s, c]])


def rot_y(angle: float) -> np.ndarray:
    """Right-handed rotation about y (column-vector form)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0., s], [0., 1., 0.], [-s, 0., c]])


def make_camera(fx: float = 520.,
                fy: float = 531.,
                cx: float = 331.5,
                cy: float = 247.25,
                pitch: float = 0.12,
                roll: float = -0.05):
    """Intrinsics K (1-based pixels), tilt Rt and depth2img = K F Rt^T."""
    k = np.array([[fx, 0., cx], [0., fy, cy], [0., 0., 1.]])
    rt = rot_x(pitch) @ rot_y(roll)
    return k, rt, k @ FLIP_AXES @ rt.T


def back_project(pixels: np.ndarray, depths: np.ndarray, k: np.ndarray,
                 rt: np.ndarray) -> np.ndarray:
    """Depth-frame points seen at 0-based ``pixels`` (N, 2) at ``depths``.

    1-based homogeneous pixel ``w [x + 1, y + 1, 1]`` = K @ cam and
    cam = F @ Rt^T @ p, hence p = Rt @ F^T @ K^-1 @ (w [x + 1, y + 1, 1]).
    """
    ones = np.ones((len(pixels), 1))
    homogeneous = np.concatenate([pixels + 1., ones], axis=1) * depths[:, None]
    cam = homogeneous @ np.linalg.inv(k).T
    return cam @ FLIP_AXES @ rt.T


def votenet_pixels(points: np.ndarray, k: np.ndarray,
                   rt: np.ndarray) -> np.ndarray:
    """0-based integer pixels the way VoteNet / the official PiMAE get them:
    un-tilt, swap (x, y, z) -> (x, -z, y), apply K, divide, subtract 1 and
    round."""
    xyz = points @ rt  # (Rt^T p)^T
    cam = np.stack([xyz[:, 0], -xyz[:, 2], xyz[:, 1]], axis=1)
    uvw = cam @ k.T
    u, v = uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2]
    return np.stack([np.round(u - 1), np.round(v - 1)], axis=1)
