"""Rotated 3D IoU / GIoU against mmdet3d's box overlaps and closed forms."""
import math

import pytest
import torch

from projects.pimae.pimae.models.task_modules import generalized_box3d_iou


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
