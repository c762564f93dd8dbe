"""GIoU3DLoss against hand-computed boxes."""
import math

import pytest
import torch

from projects.pimae.pimae.models.losses import GIoU3DLoss


def box(x=0., y=0., z=0., dx=2., dy=2., dz=2., yaw=0.):
    return [x, y, z, dx, dy, dz, yaw]


#: (pred, target, 1 - GIoU) computed by hand:
#: - the same box (also turned by 90 degrees, a square footprint): 0;
#: - 2-cubes shifted by 1 along x: IoU = 4 / 12, the enclosing box is the
#:   union, so 1 - GIoU = 2 / 3;
#: - 1-cubes 3 apart: IoU 0, enclosing volume 4, union 2: 1 + 2 / 4;
#: - a 2-square turned by 45 degrees over itself: the intersection is a
#:   regular octagon of area 8 (sqrt 2 - 1), IoU = 1 / sqrt 2, the
#:   axis-aligned enclosing box has volume (2 sqrt 2)^2 * 2 = 16 and the
#:   union 16 (2 - sqrt 2), so 1 - GIoU = 1 / sqrt 2;
#: - boxes stacked 1 apart in z: IoU 0, enclosing 2 * 2 * 5 = 20, union 16.
CASES = [
    (box(), box(), 0.),
    (box(yaw=math.pi / 2), box(), 0.),
    (box(x=1.), box(), 2. / 3.),
    (box(dx=1., dy=1., dz=1.), box(x=3., dx=1., dy=1., dz=1.), 1.5),
    (box(yaw=math.pi / 4), box(), 1. / math.sqrt(2.)),
    (box(z=3.), box(), 1. + 4. / 20.),
]


@pytest.mark.parametrize('pred, target, expected', CASES)
def test_hand_computed_boxes(pred, target, expected):
    loss = GIoU3DLoss(reduction='none')(torch.tensor([pred],
                                                     dtype=torch.float64),
                                        torch.tensor([target],
                                                     dtype=torch.float64))
    assert loss.item() == pytest.approx(expected, abs=1e-9)


def test_reductions_weights_and_loss_weight():
    pred = torch.tensor([c[0] for c in CASES], dtype=torch.float64)
    target = torch.tensor([c[1] for c in CASES], dtype=torch.float64)
    expected = torch.tensor([c[2] for c in CASES], dtype=torch.float64)
    weight = torch.tensor([1., 0., 2., 1., 0.5, 3.], dtype=torch.float64)
    loss = GIoU3DLoss(loss_weight=2.)
    torch.testing.assert_close(loss(pred, target), 2. * expected.mean())
    torch.testing.assert_close(
        loss(pred, target, reduction_override='sum'), 2. * expected.sum())
    torch.testing.assert_close(
        loss(pred, target, weight, reduction_override='none'),
        2. * weight * expected)
    torch.testing.assert_close(
        loss(pred, target, weight, avg_factor=4.),
        2. * (weight * expected).sum() / 4.)
    with pytest.raises(ValueError, match='reduction'):
        GIoU3DLoss(reduction='max')


def test_gradient_of_a_shift_and_a_size():
    """A 2-cube at x = s over the 2-cube at 0: 1 - GIoU = 1 - (2 - s) /
    (2 + s), so d/ds = 4 / (2 + s)^2 = 4 / 9 at s = 1. Its length dx (centre
    kept at 1): IoU = GIoU = dx / (dx + 4), so d/d(dx) of the loss is
    -4 / (dx + 4)^2 = -1 / 9 at dx = 2."""
    pred = torch.tensor([box(x=1.)], dtype=torch.float64, requires_grad=True)
    GIoU3DLoss()(pred, torch.tensor([box()], dtype=torch.float64)).backward()
    assert pred.grad[0, 0].item() == pytest.approx(4. / 9., abs=1e-9)
    assert pred.grad[0, 3].item() == pytest.approx(-1. / 9., abs=1e-9)
