# Copyright (c) OpenMMLab. All rights reserved.
"""Differentiable 3D IoU / GIoU of yaw-rotated boxes, as 3DETR defines it.

Boxes are ``(x, y, z, dx, dy, dz, yaw)`` with ``(x, y, z)`` the gravity
centre and ``yaw`` the rotation about z in mmdet3d's depth-box convention
(``DepthInstance3DBoxes``: counter-clockwise, ``dx`` along the box's own x
axis). The intersection is exact for rotated boxes: the bird's-eye-view
rectangles are intersected as convex polygons (corners inside the other
box plus edge crossings, ordered by angle, shoelace area) and multiplied by
the height overlap; it matches ``DepthInstance3DBoxes.overlaps``. The GIoU
enclosing volume is that of 3DETR's ``generalized_box3d_iou``: the
axis-aligned box around both boxes' corners (not the tightest rotated
hull). Everything is pure torch, batched, on any device, and
differentiable almost everywhere (the vertex order and the inside tests
are piecewise constant).
"""
from typing import Tuple

import torch
from torch import Tensor

#: BEV corner offsets in units of (dx, dy), counter-clockwise.
_CORNERS = ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))


def box3d_bev_corners(boxes: Tensor) -> Tensor:
    """Bird's-eye-view corners of yaw-rotated boxes.

    Args:
        boxes (Tensor): Boxes, shape (..., 7).

    Returns:
        Tensor: Corners, shape (..., 4, 2), counter-clockwise.
    """
    offsets = boxes.new_tensor(_CORNERS)
    local_x = offsets[:, 0] * boxes[..., 3:4]
    local_y = offsets[:, 1] * boxes[..., 4:5]
    cos, sin = boxes[..., 6:7].cos(), boxes[..., 6:7].sin()
    x = boxes[..., 0:1] + local_x * cos - local_y * sin
    y = boxes[..., 1:2] + local_x * sin + local_y * cos
    return torch.stack([x, y], dim=-1)


def _cross(a: Tensor, b: Tensor) -> Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _inside(points: Tensor, polygon: Tensor, eps: float) -> Tensor:
    """Whether points lie in a convex counter-clockwise polygon.

    Args:
        points (Tensor): Points, shape (..., P, 2).
        polygon (Tensor): Vertices, shape (..., V, 2).
        eps (float): Tolerance; points on the boundary count as inside.

    Returns:
        Tensor: Bool mask, shape (..., P).
    """
    edges = polygon.roll(-1, dims=-2) - polygon
    relative = points.unsqueeze(-2) - polygon.unsqueeze(-3)
    return (_cross(edges.unsqueeze(-3), relative) >= -eps).all(dim=-1)


def _edge_crossings(poly1: Tensor, poly2: Tensor,
                    eps: float) -> Tuple[Tensor, Tensor]:
    """Crossing points of every edge of ``poly1`` with every edge of
    ``poly2``.

    Args:
        poly1 (Tensor): Vertices, shape (..., 4, 2).
        poly2 (Tensor): Vertices, shape (..., 4, 2).
        eps (float): Tolerance on the segment parameters and on parallel
            edges.

    Returns:
        tuple[Tensor, Tensor]: Points (..., 16, 2) and validity (..., 16).
    """
    start1 = poly1.unsqueeze(-2)
    dir1 = (poly1.roll(-1, dims=-2) - poly1).unsqueeze(-2)
    start2 = poly2.unsqueeze(-3)
    dir2 = (poly2.roll(-1, dims=-2) - poly2).unsqueeze(-3)
    denom = _cross(dir1, dir2)
    parallel = denom.abs() <= eps
    safe = torch.where(parallel, torch.ones_like(denom), denom)
    offset = start2 - start1
    t = _cross(offset, dir2) / safe
    u = _cross(offset, dir1) / safe
    valid = ~parallel & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (
        u <= 1 + eps)
    points = start1 + t.unsqueeze(-1) * dir1
    points = torch.where(valid.unsqueeze(-1), points, torch.zeros_like(points))
    return points.flatten(-3, -2), valid.flatten(-2)


def convex_quad_intersection_area(poly1: Tensor,
                                  poly2: Tensor,
                                  eps: float = 1e-6) -> Tensor:
    """Area of the intersection of two convex counter-clockwise quads.

    Args:
        poly1 (Tensor): Vertices, shape (..., 4, 2).
        poly2 (Tensor): Vertices, shape (..., 4, 2).
        eps (float): Geometric tolerance. Defaults to 1e-6.

    Returns:
        Tensor: Areas, shape (...).
    """
    crossings, crossing_valid = _edge_crossings(poly1, poly2, eps)
    points = torch.cat([poly1, poly2, crossings], dim=-2)
    valid = torch.cat([
        _inside(poly1, poly2, eps),
        _inside(poly2, poly1, eps), crossing_valid
    ], dim=-1)
    weights = valid.to(points.dtype).unsqueeze(-1)
    count = valid.sum(dim=-1, keepdim=True)
    centre = (points * weights).sum(dim=-2) / count.clamp(min=1)
    with torch.no_grad():
        relative = points - centre.unsqueeze(-2)
        angle = torch.atan2(relative[..., 1], relative[..., 0])
        # invalid points sort last
        angle = torch.where(valid, angle, torch.full_like(angle, 10.))
        order = angle.argsort(dim=-1)
    points = points.gather(-2, order.unsqueeze(-1).expand_as(points))
    valid = valid.gather(-1, order)
    # Invalid slots repeat the first vertex: zero-length edges, no area.
    points = torch.where(valid.unsqueeze(-1), points, points[..., :1, :])
    area = 0.5 * _cross(points, points.roll(-1, dims=-2)).sum(dim=-1)
    return torch.where(count.squeeze(-1) >= 3, area.abs(),
                       torch.zeros_like(area))


def generalized_box3d_iou(boxes1: Tensor,
                          boxes2: Tensor,
                          aligned: bool = False,
                          eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """3D IoU and GIoU of yaw-rotated boxes.

    Args:
        boxes1 (Tensor): Boxes, shape (N, 7) (or (..., 7) when aligned).
        boxes2 (Tensor): Boxes, shape (M, 7) (or the shape of ``boxes1``
            when aligned).
        aligned (bool): Pair ``boxes1[i]`` with ``boxes2[i]`` instead of
            all pairs. Defaults to False.
        eps (float): Geometric tolerance and the lower bound of the
            denominators. Defaults to 1e-6.

    Returns:
        tuple[Tensor, Tensor]: IoU and GIoU, each of shape (N, M), or of the
        common leading shape when aligned.
    """
    if boxes1.shape[-1] != 7 or boxes2.shape[-1] != 7:
        raise ValueError('boxes must have 7 values (x, y, z, dx, dy, dz, '
                         f'yaw), got {tuple(boxes1.shape)} and '
                         f'{tuple(boxes2.shape)}')
    if aligned:
        if boxes1.shape != boxes2.shape:
            raise ValueError('aligned boxes must have the same shape, got '
                             f'{tuple(boxes1.shape)} and '
                             f'{tuple(boxes2.shape)}')
    else:
        boxes1, boxes2 = torch.broadcast_tensors(
            boxes1.unsqueeze(-2), boxes2.unsqueeze(-3))
    corners1, corners2 = box3d_bev_corners(boxes1), box3d_bev_corners(boxes2)
    area = convex_quad_intersection_area(corners1, corners2, eps)
    low1 = boxes1[..., 2] - boxes1[..., 5] / 2
    high1 = boxes1[..., 2] + boxes1[..., 5] / 2
    low2 = boxes2[..., 2] - boxes2[..., 5] / 2
    high2 = boxes2[..., 2] + boxes2[..., 5] / 2
    height = (torch.minimum(high1, high2) -
              torch.maximum(low1, low2)).clamp(min=0)
    intersection = area * height
    volume1 = boxes1[..., 3:6].prod(dim=-1)
    volume2 = boxes2[..., 3:6].prod(dim=-1)
    union = volume1 + volume2 - intersection
    iou = intersection / union.clamp(min=eps)
    corners = torch.cat([corners1, corners2], dim=-2)
    extent = corners.amax(dim=-2) - corners.amin(dim=-2)
    enclosing = extent.prod(dim=-1) * (
        torch.maximum(high1, high2) - torch.minimum(low1, low2))
    giou = iou - (enclosing - union) / enclosing.clamp(min=eps)
    return iou, giou


def compat_generalized_box3d_iou(boxes1: Tensor, boxes2: Tensor,
                                 eps: float = 1e-8) -> Tuple[Tensor, Tensor]:
    """3D IoU and GIoU as the original 3DETR's matcher computes them.

    The original's default (Cython) GIoU, used for matching when its GIoU
    loss is off (its SUN RGB-D recipe), differs from the exact one
    (:func:`generalized_box3d_iou`) in two ways, both reproduced here:

    - **Axis-aligned proxy.** A "non-rotated" intersection area is first
      computed as if corners 2 and 0 (the local ``(-dx/2, -dy/2)`` and
      ``(+dx/2, +dy/2)`` corners) were each box's min and max:
      ``prod(clamp(min(c0, c0') - max(c2, c2'), 0))``. Wherever this proxy
      is 0, the exact polygon intersection is skipped and the intersection
      stays 0, although rotated boxes may overlap (two identical 2x1 boxes
      at a yaw of -45 degrees get IoU 0 and GIoU -1/9 instead of IoU 1
      and GIoU 4/9).
    - **Ground-truth count.** The loop over ground-truth boxes runs over the
      4 rectangle corners instead of the boxes, so ground-truth boxes with
      index >= 4 never get an intersection.

    Elsewhere it is the standard formula: height overlap, box volumes from
    the edge lengths (each clamped at ``sqrt(1e-6)``, volumes at ``eps``),
    the enclosing volume of the axis-aligned box around both boxes' corners,
    ``union = clamp(v1 + v2 - inter, eps)`` and
    ``GIoU = IoU - (1 - union / enclosing)``; pairs with an enclosing volume
    <= ``2 * eps`` or summed volumes <= ``4 * eps`` get 0. No gradient.

    With axis-aligned boxes (ScanNet) the proxy is exact, but the count bug
    stays; note that the original matches ScanNet (GIoU loss on) with its
    other, exact-for-axis-aligned implementation, so this function is the
    original's only for its SUN RGB-D recipe.

    Args:
        boxes1 (Tensor): Predicted boxes ``(x, y, z, dx, dy, dz, yaw)``,
            gravity centres, mmdet3d's counter-clockwise yaw, shape (N, 7).
        boxes2 (Tensor): Ground-truth boxes (the index >= 4 rule applies to
            them), shape (M, 7).
        eps (float): The original's epsilon. Defaults to 1e-8.

    Returns:
        tuple[Tensor, Tensor]: IoU and GIoU, each of shape (N, M).
    """
    if boxes1.dim() != 2 or boxes2.dim() != 2 or boxes1.shape[-1] != 7 or \
            boxes2.shape[-1] != 7:
        raise ValueError('boxes must have shape (N, 7) and (M, 7), got '
                         f'{tuple(boxes1.shape)} and {tuple(boxes2.shape)}')
    with torch.no_grad():
        pair1, pair2 = torch.broadcast_tensors(
            boxes1.unsqueeze(1), boxes2.unsqueeze(0))
        corners1, corners2 = box3d_bev_corners(pair1), box3d_bev_corners(
            pair2)
        exact = convex_quad_intersection_area(corners1, corners2, 1e-6)
        low = torch.maximum(corners1[..., 2, :], corners2[..., 2, :])
        high = torch.minimum(corners1[..., 0, :], corners2[..., 0, :])
        proxy = (high - low).clamp(min=0).prod(dim=-1)
        counted = torch.arange(boxes2.shape[0], device=boxes2.device) < 4
        area = torch.where((proxy != 0) & counted.unsqueeze(0), exact,
                           torch.zeros_like(exact))
        low1 = pair1[..., 2] - pair1[..., 5] / 2
        high1 = pair1[..., 2] + pair1[..., 5] / 2
        low2 = pair2[..., 2] - pair2[..., 5] / 2
        high2 = pair2[..., 2] + pair2[..., 5] / 2
        height = (torch.minimum(high1, high2) -
                  torch.maximum(low1, low2)).clamp(min=0)
        inter = area * height

        def volume(boxes: Tensor) -> Tensor:
            edges = boxes[..., 3:6].square().clamp(min=1e-6).sqrt()
            return edges.prod(dim=-1).clamp(min=eps)

        sum_vols = volume(pair1) + volume(pair2)
        corners = torch.cat([corners1, corners2], dim=-2)
        extent = corners.amax(dim=-2) - corners.amin(dim=-2)
        enclosing = extent.prod(dim=-1) * (
            torch.maximum(high1, high2) - torch.minimum(low1, low2))
        union = (sum_vols - inter).clamp(min=eps)
        iou = inter / union
        giou = iou - (1 - union / enclosing)
        good = (enclosing > 2 * eps) & (sum_vols > 4 * eps)
        giou = torch.where(good, giou, torch.zeros_like(giou))
    return iou, giou
