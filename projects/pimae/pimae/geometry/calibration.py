# Copyright (c) OpenMMLab. All rights reserved.
"""Calibration bookkeeping: keep ``depth2img`` exact under augmentation.

``depth2img`` (3x3) maps a depth-frame point ``p`` to homogeneous 1-based
pixel coordinates of the current image: ``depth2img @ p = w * [u1, v1, 1]``.
An augmentation either moves pixels (resize, crop, flip of the image) or
moves points (flip, rotation, scaling of the point cloud); each function
below returns the matrix that projects the *new* points onto the *new*
image. All functions are pure, take array-likes (numpy arrays, torch
tensors, nested lists) and return new ``float64`` numpy arrays.

Image transforms are written as 0-based pixel affine maps ``A0``
(``[x', y', 1]^T = A0 [x, y, 1]^T`` with x = column, y = row, pixel centres
at integers) and converted to the 1-based convention of ``depth2img`` by
:func:`depth2img_after_pixel_affine`.
"""
import math
from typing import Sequence, Union

import numpy as np
import torch

from .validation import check_pair, check_scalar

MatrixLike = Union[np.ndarray, torch.Tensor, Sequence[Sequence[float]]]

#: Axis permutation from mmdet3d's depth frame (x right, y forward, z up) to
#: the camera frame (x right, y down, z forward): (x, y, z) -> (x, -z, y).
DEPTH_TO_CAMERA = np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]])

# 0-based -> 1-based pixel shift: [x1, y1, 1] = _ONE_BASED_SHIFT @ [x0, y0, 1].
_ONE_BASED_SHIFT = np.array([[1., 0., 1.], [0., 1., 1.], [0., 0., 1.]])


def _as_matrix(matrix: MatrixLike, name: str) -> np.ndarray:
    """Convert ``matrix`` to a float64 numpy array and check it is 3x3."""
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().numpy()
    try:
        array = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{name} must be a 3x3 matrix of numbers, got '
                         f'{type(matrix).__name__}: {error}') from None
    if array.shape != (3, 3):
        raise ValueError(f'{name} must have shape (3, 3), got {array.shape}')
    return array


def check_matrix(matrix: MatrixLike,
                 name: str = 'matrix',
                 rtol: float = 1e-6) -> np.ndarray:
    """Check that ``matrix`` is a finite, non-singular 3x3 matrix.

    Singularity is measured scale-free by the Hadamard ratio
    ``|det(M)| / prod_i ||M[i]||``, which lies in [0, 1], is 1 for matrices
    with orthogonal rows and 0 for singular ones; it does not change when a
    row is scaled, so it judges a camera matrix with focal lengths in the
    hundreds of pixels and a unit rotation on the same footing.

    Args:
        matrix (np.ndarray | torch.Tensor | Sequence): The 3x3 matrix.
        name (str): Name used in the error messages. Defaults to 'matrix'.
        rtol (float): Smallest accepted Hadamard ratio. Defaults to 1e-6,
            above the ~1e-7 that rounding a singular matrix to float32 leaves.

    Returns:
        np.ndarray: The matrix as a new float64 array of shape (3, 3).

    Raises:
        ValueError: On a wrong shape, non-finite entries or a (near-)singular
            matrix; the message names ``name``.
    """
    array = _as_matrix(matrix, name)
    if not np.isfinite(array).all():
        raise ValueError(f'{name} has non-finite entries:\n{array}')
    row_norms = np.linalg.norm(array, axis=1)
    if (row_norms == 0).any():
        raise ValueError(f'{name} is singular (a zero row):\n{array}')
    ratio = abs(np.linalg.det(array)) / np.prod(row_norms)
    if ratio < rtol:
        raise ValueError(
            f'{name} is singular or nearly so (|det| / product of row norms '
            f'= {ratio:.3g} < {rtol:.3g}):\n{array}')
    return array


def check_depth2img(depth2img: MatrixLike,
                    name: str = 'depth2img',
                    rtol: float = 1e-6) -> np.ndarray:
    """Check a ``depth2img`` matrix: shape (3, 3), finite, non-singular.

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): The matrix.
        name (str): Name used in the error messages, e.g. the sample's file
            name. Defaults to 'depth2img'.
        rtol (float): Smallest accepted ``|det| / prod(row norms)``, see
            :func:`check_matrix`. Defaults to 1e-6.

    Returns:
        np.ndarray: The matrix as a new float64 array of shape (3, 3).

    Raises:
        ValueError: If the matrix is unusable; the message names ``name``.
    """
    return check_matrix(depth2img, name=name, rtol=rtol)


def depth2img_from_calib(rt: MatrixLike, k: MatrixLike) -> np.ndarray:
    """Build ``depth2img`` from SUN RGB-D ``Rtilt`` and intrinsics ``K``.

    SUN RGB-D projects a depth-frame point ``p`` by first un-tilting it,
    ``Rt^T p``, then permuting the axes to the camera frame with
    ``F = DEPTH_TO_CAMERA`` ((x, y, z) -> (x, -z, y)), then applying ``K``
    (1-based pixels): ``depth2img = K @ (F @ Rt^T)``, which is how mmdet3d's
    SUN RGB-D converter builds it (in this order, so the results are equal
    to the last bit).

    Args:
        rt (np.ndarray | torch.Tensor | Sequence): ``Rtilt``, shape (3, 3).
        k (np.ndarray | torch.Tensor | Sequence): ``K``, shape (3, 3), with
            the principal point in 1-based pixels.

    Returns:
        np.ndarray: ``depth2img``, float64, shape (3, 3).
    """
    rt = check_matrix(rt, name='rt')
    k = check_matrix(k, name='k')
    return k @ (DEPTH_TO_CAMERA @ rt.T)


def depth2img_after_pixel_affine(depth2img: MatrixLike,
                                 affine: MatrixLike) -> np.ndarray:
    """Update ``depth2img`` for an affine map of 0-based pixel coordinates.

    Let the image transform send the 0-based pixel ``q0 = [x, y, 1]`` to
    ``A0 q0``. 1-based pixels are ``q1 = S q0`` with ``S`` the +1 shift, so
    in 1-based coordinates the transform is ``A1 = S A0 S^-1``. Since
    ``depth2img @ p = w q1``, the new matrix is ``A1 @ depth2img``: it gives
    ``w A1 q1``, whose last entry is still ``w`` because ``A1``'s last row is
    ``[0, 0, 1]`` (the depth is unchanged by an image transform).

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): Shape (3, 3).
        affine (np.ndarray | torch.Tensor | Sequence): ``A0``, shape (3, 3),
            last row ``[0, 0, 1]``, acting on 0-based ``[x, y, 1]``.

    Returns:
        np.ndarray: The new ``depth2img``, float64, shape (3, 3).
    """
    depth2img = check_depth2img(depth2img)
    affine = check_matrix(affine, name='affine')
    if not np.array_equal(affine[2], [0., 0., 1.]):
        raise ValueError(
            f'affine must have last row [0, 0, 1], got {affine[2].tolist()}')
    affine_1based = _ONE_BASED_SHIFT @ affine @ np.linalg.inv(
        _ONE_BASED_SHIFT)
    return affine_1based @ depth2img


def depth2img_after_resize(depth2img: MatrixLike,
                           scale_xy: Sequence[float]) -> np.ndarray:
    """Update ``depth2img`` for an image resize.

    A pixel-centre-consistent resize (cv2, mmcv ``imresize``,
    ``F.interpolate(align_corners=False)``) scales the edge coordinate
    ``e = x + 0.5`` (0 at the image's left border, W at its right border) by
    ``sx``: ``e' = sx * e``. So the 0-based centre moves to
    ``x' = (x + 0.5) * sx - 0.5 = sx * x + (sx - 1) / 2``. In the 1-based
    convention (``x1 = x + 1``) this is ``x1' = sx * x1 + (1 - sx) / 2``, the
    left-multiplied matrix ``[[sx, 0, (1 - sx) / 2], [0, sy, (1 - sy) / 2],
    [0, 0, 1]]``. The same holds for rows with ``sy``.

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): Shape (3, 3).
        scale_xy (Sequence[float]): ``(new_W / old_W, new_H / old_H)``. Pass
            the ratio of the actual output size to the input size, not the
            requested scale, because resize rounds the output size.

    Returns:
        np.ndarray: The new ``depth2img``, float64, shape (3, 3).
    """
    sx, sy = check_pair(scale_xy, 'scale_xy', positive=True)
    affine = np.array([[sx, 0., (sx - 1.) / 2.], [0., sy, (sy - 1.) / 2.],
                       [0., 0., 1.]])
    return depth2img_after_pixel_affine(depth2img, affine)


def depth2img_after_crop(depth2img: MatrixLike,
                         offset_xy: Sequence[float]) -> np.ndarray:
    """Update ``depth2img`` for a crop (or a left/top padding).

    A crop whose top-left pixel was ``(x0, y0)`` in the old image moves every
    pixel by ``x' = x - x0``, ``y' = y - y0``. A shift is the same in 0- and
    1-based coordinates, so the matrix is ``[[1, 0, -x0], [0, 1, -y0],
    [0, 0, 1]]`` left-multiplied. Padding ``l`` columns on the left is
    ``x0 = -l``; padding on the right or bottom changes nothing.

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): Shape (3, 3).
        offset_xy (Sequence[float]): ``(x0, y0)`` = (column, row) of the
            crop's top-left pixel in the old image.

    Returns:
        np.ndarray: The new ``depth2img``, float64, shape (3, 3).
    """
    x0, y0 = check_pair(offset_xy, 'offset_xy')
    affine = np.array([[1., 0., -x0], [0., 1., -y0], [0., 0., 1.]])
    return depth2img_after_pixel_affine(depth2img, affine)


def depth2img_after_hflip(depth2img: MatrixLike, width: int) -> np.ndarray:
    """Update ``depth2img`` for a horizontal image flip (``np.flip(img, 1)``).

    Column x of a W-wide image becomes column ``x' = W - 1 - x`` (0-based),
    i.e. ``x1' = W + 1 - x1`` in 1-based coordinates: the left-multiplied
    matrix ``[[-1, 0, W + 1], [0, 1, 0], [0, 0, 1]]``. (Box edges flip as
    ``W - x``; pixel centres flip as ``W - 1 - x``.)

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): Shape (3, 3).
        width (int): Image width W in pixels (before and after the flip).

    Returns:
        np.ndarray: The new ``depth2img``, float64, shape (3, 3).
    """
    width = check_scalar(width, 'width', positive=True)
    affine = np.array([[-1., 0., width - 1.], [0., 1., 0.], [0., 0., 1.]])
    return depth2img_after_pixel_affine(depth2img, affine)


def depth2img_after_point_transform(depth2img: MatrixLike,
                                    rot_mat: MatrixLike) -> np.ndarray:
    """Update ``depth2img`` for a linear transform of the point cloud.

    If the points become ``p' = rot_mat @ p`` (row-vector form
    ``points' = points @ rot_mat.T``) while the image stays the same, the new
    matrix must give ``depth2img' @ p' = depth2img @ p`` for every p, hence
    ``depth2img' = depth2img @ inv(rot_mat)``. ``rot_mat`` may be any
    invertible 3x3 map: an x-flip, a rotation about z, a uniform scale, or a
    product of them (compose in application order: first ``M1`` then ``M2``
    is ``M2 @ M1``). mmdet3d's ``GlobalRotScaleTrans`` stores
    ``pcd_rotation`` as the right-multiplied matrix (``points @
    pcd_rotation``), so pass ``pcd_rotation.T`` here.

    Args:
        depth2img (np.ndarray | torch.Tensor | Sequence): Shape (3, 3).
        rot_mat (np.ndarray | torch.Tensor | Sequence): The point transform,
            shape (3, 3), acting on column vectors.

    Returns:
        np.ndarray: The new ``depth2img``, float64, shape (3, 3).
    """
    depth2img = check_depth2img(depth2img)
    rot_mat = check_matrix(rot_mat, name='rot_mat')
    return depth2img @ np.linalg.inv(rot_mat)


def flip_x_matrix() -> np.ndarray:
    """The depth-frame horizontal flip ``x -> -x`` (mmdet3d ``DepthPoints.flip
    ('horizontal')``).

    Returns:
        np.ndarray: ``diag(-1, 1, 1)``, float64, shape (3, 3).
    """
    return np.diag([-1., 1., 1.])


def rotation_z_matrix(angle: float) -> np.ndarray:
    """Rotation about the depth frame's z (up) axis, mmdet3d's convention.

    mmdet3d's ``DepthPoints.rotate(angle)`` (``rotation_3d_in_axis`` with
    ``axis=2``, ``clockwise=False``) computes ``points @ rot_mat_T`` with
    ``rot_mat_T = [[c, s, 0], [-s, c, 0], [0, 0, 1]]``, i.e.
    ``x' = c x - s y``, ``y' = s x + c y``: a counter-clockwise rotation seen
    from above, turning +x towards +y (the yaw of depth boxes grows the same
    way). This function returns the column-vector matrix
    ``R = rot_mat_T.T = [[c, -s, 0], [s, c, 0], [0, 0, 1]]``, so
    ``points @ R.T`` equals ``DepthPoints.rotate(angle)``.

    Args:
        angle (float): Rotation angle in radians.

    Returns:
        np.ndarray: ``R``, float64, shape (3, 3).
    """
    angle = check_scalar(angle, 'angle')
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array([[cos, -sin, 0.], [sin, cos, 0.], [0., 0., 1.]])


def scale_matrix(scale: float) -> np.ndarray:
    """Uniform scaling of the points, ``p' = scale * p``.

    Args:
        scale (float): Positive scale factor.

    Returns:
        np.ndarray: ``scale * I``, float64, shape (3, 3).
    """
    scale = check_scalar(scale, 'scale', positive=True)
    return np.eye(3) * scale
