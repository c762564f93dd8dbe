"""Rotated 3D IoU / GIoU against mmdet3d's box overlaps and closed forms."""
import math

import pytest
import torch

from projects.pimae.pimae.models.task_modules import (
    compat_generalized_box3d_iou, generalized_box3d_iou)


def random_boxes(num, seed):
    g = torch.Generator().manual_seed(seed)
    center = torch.rand(num, 3, generator=g) * 2
    size = 0.3 + torch.rand(num, 3, generator=g) * 1.5
    yaw = (torch.rand(num, 1, generator=g) - .5) * 2 * math.pi
    return torch.cat([center, size, yaw], dim=1).double()


@pytest.mark.parametrize('seed', [0, 1])
def test_iou_matches_mmdet3d_depth_box_overlaps(seed):
    from mmdet3d.structures import DepthInstance3DBoxes
    boxes1, boxes2 = random_boxes(7, seed), random_boxes(5, seed + 10)
    iou, giou = generalized_box3d_iou(boxes1, boxes2)
    expected = DepthInstance3DBoxes.overlaps(
        DepthInstance3DBoxes(boxes1.float(), origin=(0.5, 0.5, 0.5)),
        DepthInstance3DBoxes(boxes2.float(), origin=(0.5, 0.5, 0.5)))
    assert expected.max() > 0.05  # the case has real overlaps
    torch.testing.assert_close(iou.float(), expected, atol=2e-4, rtol=1e-3)
    assert (giou <= iou + 1e-9).all() and (giou >= -1 - 1e-9).all()


def test_closed_form_cases_and_aligned_mode():
    unit = torch.tensor([[0., 0., 0., 1., 1., 1., 0.]])
    shifted = torch.tensor([[0.5, 0., 0., 1., 1., 1., 0.]])
    far = torch.tensor([[3., 0., 0., 1., 1., 1., 0.]])
    rotated = torch.tensor([[0., 0., 0., 1., 1., 1., math.pi / 2]])
    iou, giou = generalized_box3d_iou(unit,
                                      torch.cat([unit, shifted, far, rotated]))
    torch.testing.assert_close(
        iou[0], torch.tensor([1., 1 / 3, 0., 1.]), atol=1e-5, rtol=0)
    # disjoint unit cubes 2 apart: enclosing volume 4, union 2
    torch.testing.assert_close(
        giou[0, 2], torch.tensor(-0.5), atol=1e-5, rtol=0)
    iou_a, _ = generalized_box3d_iou(
        torch.cat([unit, unit]), torch.cat([shifted, far]), aligned=True)
    torch.testing.assert_close(
        iou_a, torch.tensor([1 / 3, 0.]), atol=1e-5, rtol=0)


def test_giou_is_differentiable_in_every_box_parameter():
    boxes1 = random_boxes(4, 3).requires_grad_()
    # partly overlapping pairs: the same sizes, shifted and turned, so
    # that neither box contains the other
    boxes2 = boxes1.detach().clone()
    boxes2[:, :3] += 0.2
    boxes2[:, 6] += 0.3
    _, giou = generalized_box3d_iou(boxes1, boxes2, aligned=True)
    giou.sum().backward()
    assert torch.isfinite(boxes1.grad).all()
    assert (boxes1.grad.abs() > 0).all()  # yaw included


def test_bad_box_width():
    with pytest.raises(ValueError, match='7 values'):
        generalized_box3d_iou(torch.zeros(2, 6), torch.zeros(2, 7))


# ---------------------------------------------------------------------------
# The original 3DETR's GIoU (compat)
# ---------------------------------------------------------------------------
def original_style_giou(pred, gt):
    """The original's computation written from its description, in its own
    frame: 8 corners per box in the upright camera frame (x right, y down,
    z forward) from a clockwise heading (= -yaw); the bird's-eye rectangle
    is corners 3, 2, 1, 0 in (x, z); the "non-rotated" proxy takes its
    entries 1 and 3 as min / max corners; the exact area is used only where
    the proxy is non-zero and for ground-truth index < 4 (the corner
    count)."""

    def corners_cam(box):
        x, y, z, dx, dy, dz, yaw = box.tolist()
        heading = -yaw
        c, s = math.cos(heading), math.sin(heading)
        rot = torch.tensor([[c, 0., s], [0., 1., 0.], [-s, 0., c]]).double()
        local = torch.tensor([
            [dx / 2, dx / 2, -dx / 2, -dx / 2] * 2,
            [dz / 2] * 4 + [-dz / 2] * 4,
            [dy / 2, -dy / 2, -dy / 2, dy / 2] * 2,
        ]).double()
        centre = torch.tensor([x, -z, y]).double()
        return (rot @ local).T + centre  # (8, 3)

    out = torch.zeros(len(pred), len(gt), dtype=torch.float64)
    for i, box1 in enumerate(pred):
        for j, box2 in enumerate(gt):
            c1, c2 = corners_cam(box1), corners_cam(box2)
            rect1 = c1[[3, 2, 1, 0]][:, [0, 2]]
            rect2 = c2[[3, 2, 1, 0]][:, [0, 2]]
            wh = (torch.minimum(rect1[3], rect2[3]) -
                  torch.maximum(rect1[1], rect2[1])).clamp(min=0)
            proxy = wh[0] * wh[1]
            volumes = float(box1[3:6].prod() + box2[3:6].prod())
            inter = 0.
            if proxy != 0 and j < 4:
                # the exact intersection volume, from the exact IoU (checked
                # against mmdet3d above): iou = inter / (volumes - inter)
                iou = float(generalized_box3d_iou(box1[None], box2[None])[0])
                inter = iou * volumes / (1 + iou)
            union = volumes - inter
            both = torch.cat([c1, c2])
            enclosing = float((both.amax(0) - both.amin(0)).prod())
            out[i, j] = inter / union - (1 - union / enclosing)
    return out


def test_compat_identical_boxes_at_45_degrees():
    """Two identical 2 x 1 boxes at the original's heading of 45 degrees
    (yaw -45 here) score -1/9 in the original: their proxy is empty, so
    IoU 0, union 4 and enclosing 4.5 (the axis-aligned box around both).
    Exactly: IoU 1 and GIoU 1 - (4.5 - 2) / 4.5 = 4/9."""
    turned = torch.tensor([[0., 0., 0., 2., 1., 1., -math.pi / 4]])
    iou, giou = compat_generalized_box3d_iou(turned, turned)
    torch.testing.assert_close(
        giou, torch.tensor([[-1 / 9]]), atol=1e-5, rtol=0)
    assert iou.item() == 0
    iou, exact = generalized_box3d_iou(turned, turned)
    torch.testing.assert_close(iou, torch.ones(1, 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        exact, torch.tensor([[4 / 9]]), atol=1e-5, rtol=0)
    # 4 l w / (l + w)^2 - 1 for an l x w box whose proxy is empty
    other = torch.tensor([[1., 2., 0.5, 1., 2., 1., math.pi / 4]])
    _, giou = compat_generalized_box3d_iou(other, other)
    torch.testing.assert_close(
        giou, torch.tensor([[-1 / 9]]), atol=1e-5, rtol=0)
    straight = turned.clone()
    straight[:, 6] = 0.
    iou, giou = compat_generalized_box3d_iou(straight, straight)
    torch.testing.assert_close(iou, torch.ones(1, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(giou, torch.ones(1, 1), atol=1e-6, rtol=0)


def test_compat_fifth_ground_truth_box_never_intersects():
    """Axis-aligned unit cubes: prediction k is ground truth k moved by
    (0.5, 0.5). Ground truths 0-3 get the exact GIoU; ground truth 4 gets
    no intersection: union 2, enclosing 2.25, GIoU 2 / 2.25 - 1."""
    gt = torch.zeros(5, 7)
    gt[:, 0] = torch.arange(5) * 3.
    gt[:, 3:6] = 1.
    pred = gt.clone()
    pred[:, :2] += 0.5
    iou, giou = compat_generalized_box3d_iou(pred, gt)
    exact_iou, exact_giou = generalized_box3d_iou(pred, gt)
    torch.testing.assert_close(giou[:, :4], exact_giou[:, :4], atol=1e-5,
                               rtol=0)
    # exact: intersection 0.25, union 1.75, enclosing 2.25
    torch.testing.assert_close(
        exact_giou[4, 4], torch.tensor(0.25 / 1.75 - 0.5 / 2.25),
        atol=1e-5, rtol=0)
    torch.testing.assert_close(
        giou[4, 4], torch.tensor(2 / 2.25 - 1), atol=1e-5, rtol=0)
    assert iou[:, 4].abs().max() == 0 and exact_iou[4, 4] > 0.1


@pytest.mark.parametrize('seed', [0, 1])
def test_compat_matches_the_original_recipe_on_random_boxes(seed):
    boxes1, boxes2 = random_boxes(6, seed), random_boxes(6, seed + 10)
    # some near-duplicates of the ground truth among the predictions
    boxes1[:3] = boxes2[:3] + 0.05
    _, giou = compat_generalized_box3d_iou(boxes1, boxes2)
    expected = original_style_giou(boxes1, boxes2)
    torch.testing.assert_close(giou, expected, atol=1e-6, rtol=1e-6)
    _, exact = generalized_box3d_iou(boxes1, boxes2)
    assert (giou - exact).abs().max() > 0.05  # the two differ here


def test_compat_degenerate_and_errors():
    flat = torch.tensor([[0., 0., 0., 0., 0., 0., 0.]])
    _, giou = compat_generalized_box3d_iou(flat, flat)
    assert giou.item() == 0  # malformed boxes score 0
    with pytest.raises(ValueError, match=r'\(N, 7\)'):
        compat_generalized_box3d_iou(torch.zeros(2, 6), torch.zeros(2, 7))
