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
