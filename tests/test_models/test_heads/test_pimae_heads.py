import numpy as np
import pytest
import torch

import projects.pimae.pimae.models  # noqa: F401
from projects.pimae.pimae.models.heads import (PiMAECrossModalHead,
                                               PiMAEImageHead, PiMAEPointHead)
from projects.pimae.pimae.models.utils import patchify, unpatchify
from projects.pimae.pimae.ops import chamfer_loss


def test_patchify_layout_and_inverse():
    imgs = torch.randn(2, 3, 32, 48)
    patches = patchify(imgs, 16)
    assert patches.shape == (2, 6, 768)
    # patch 4 = (row 1, col 1); vector layout (p, q, c)
    p, q, c = 3, 5, 2
    assert patches[1, 4, (p * 16 + q) * 3 + c] == imgs[1, c, 16 + p, 16 + q]
    torch.testing.assert_close(unpatchify(patches, 16, (2, 3)), imgs)


def test_image_head_loss_is_masked_patch_mse():
    torch.manual_seed(0)
    head = PiMAEImageHead(patch_size=16)
    imgs = torch.randn(2, 3, 32, 48)
    pred = torch.randn(2, 6, 768)
    mask = torch.tensor([[1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0]]).bool()
    per_patch = ((pred - patchify(imgs, 16))**2).mean(-1)
    expected = per_patch[mask].mean()
    torch.testing.assert_close(head.loss(pred, imgs, mask), expected)
    # a perfect prediction of masked patches costs nothing whatever the rest
    perfect = torch.where(mask[..., None], patchify(imgs, 16), pred)
    assert head.loss(perfect, imgs, mask) < 1e-12


def test_image_head_norm_pix():
    torch.manual_seed(0)
    head = PiMAEImageHead(patch_size=16, norm_pix=True)
    imgs = torch.randn(1, 3, 32, 48) * 3 + 2
    target = head.construct_target(imgs)
    raw = patchify(imgs, 16)
    expected = (raw - raw.mean(-1, keepdim=True)) / (
        raw.var(-1, unbiased=True, keepdim=True) + 1e-6)**.5
    torch.testing.assert_close(target, expected)
    torch.testing.assert_close(head.reconstruct(target, imgs), raw)


def test_point_head():
    torch.manual_seed(0)
    head = PiMAEPointHead(in_channels=24, group_size=8)
    head.init_weights()
    feat = torch.randn(2, 5, 24)
    pred = head(feat)
    assert pred.shape == (2, 5, 8, 3)
    # slot s of group m comes from channels 3s..3s+2 of the conv
    conv = head.increase_dim(feat.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(pred[1, 3, 6], conv[1, 3, 18:21])
    target = torch.randn(2, 5, 8, 3)
    torch.testing.assert_close(
        head.loss(pred, target),
        chamfer_loss(pred.flatten(0, 1), target.flatten(0, 1)))
    # Chamfer ignores the order inside a group
    torch.testing.assert_close(
        head.loss(pred, target),
        head.loss(pred, target[:, :, [7, 0, 1, 2, 3, 4, 5, 6]]))
    assert head.loss(target, target) < 1e-10


@pytest.mark.parametrize('loss_weight', [0.5, 3.0])
def test_loss_weights(loss_weight):
    torch.manual_seed(0)
    pred, target = torch.randn(4, 2, 8, 3), torch.randn(4, 2, 8, 3)
    heads = [
        PiMAEPointHead(
            in_channels=4,
            group_size=2,
            loss=dict(type='ChamferLoss', loss_weight=loss_weight)),
        PiMAEPointHead(in_channels=4, group_size=2)
    ]
    torch.testing.assert_close(heads[0].loss(pred, target),
                               loss_weight * heads[1].loss(pred, target))
    imgs, patches = torch.randn(1, 3, 16, 32), torch.randn(1, 2, 768)
    mask = torch.tensor([[True, False]])
    img_heads = [
        PiMAEImageHead(
            loss=dict(type='mmdet.MSELoss', loss_weight=loss_weight)),
        PiMAEImageHead()
    ]
    torch.testing.assert_close(
        img_heads[0].loss(patches, imgs, mask),
        loss_weight * img_heads[1].loss(patches, imgs, mask))


def patch_feature_scene():
    """Image features equal to the patch index; points at patch centres.

    depth2img = identity maps (u1, v1, 1) to the 0-based pixel
    (u1 - 1, v1 - 1).
    """
    grid, patch = (2, 3), 16
    img_feat = torch.arange(6.).reshape(1, 6, 1).expand(1, 6, 4).clone()
    img_feat[..., 1] *= -1
    rows = torch.tensor([0, 1, 1, 0])
    cols = torch.tensor([2, 0, 1, 0])
    x = cols * patch + patch / 2 - 0.5  # 0-based pixel of the patch centre
    y = rows * patch + patch / 2 - 0.5
    points = torch.stack([x + 1, y + 1, torch.ones(4)], -1)
    return img_feat, points.reshape(1, 2, 2, 3), grid, (rows * 3 + cols)


def test_cross_head_target_is_the_feature_at_the_projection():
    img_feat, points, grid, index = patch_feature_scene()
    head = PiMAECrossModalHead(in_channels=8, feat_channels=4, group_size=2)
    target = head.construct_target(img_feat, points,
                                   torch.eye(3)[None], grid, (32, 48))
    assert target.shape == (1, 2, 2, 4)
    # bilinear sampling at a cell centre returns that cell's feature
    torch.testing.assert_close(target.reshape(4, 4), img_feat[0, index])
    # the compat axis swap samples elsewhere
    swapped = PiMAECrossModalHead(
        in_channels=8, feat_channels=4, group_size=2, compat_swap_xy=True)
    other = swapped.construct_target(img_feat, points,
                                     torch.eye(3)[None], grid, (32, 48))
    assert not torch.allclose(other, target)


def test_cross_head_target_is_detached_and_prediction_layout():
    torch.manual_seed(0)
    img_feat, points, grid, _ = patch_feature_scene()
    img_feat.requires_grad_(True)
    head = PiMAECrossModalHead(in_channels=8, feat_channels=4, group_size=2)
    head.init_weights()
    target = head.construct_target(img_feat, points,
                                   torch.eye(3)[None], grid, (32, 48))
    assert not target.requires_grad
    feat = torch.randn(1, 2, 8, requires_grad=True)
    pred = head(feat)
    assert pred.shape == (1, 2, 2, 4)
    conv = head.increase_dim_feat(feat.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(pred[0, 1, 1], conv[0, 1, 4:8])
    # the head builds its own target in its loss
    loss = head.loss(feat, img_feat, points, torch.eye(3)[None], grid,
                     (32, 48))
    torch.testing.assert_close(loss, ((pred - target)**2).mean())
    loss.backward()
    assert img_feat.grad is None and feat.grad is not None
    with pytest.raises(ValueError, match='channels'):
        head.construct_target(img_feat[..., :3], points,
                              torch.eye(3)[None], grid, (32, 48))


def test_cross_head_compat_matches_the_original_formula():
    """Original: round(u - 1) / 730, upsample to (256, 352), [v, u] grid."""
    torch.manual_seed(0)
    head = PiMAECrossModalHead(
        in_channels=8,
        feat_channels=4,
        group_size=3,
        compat_swap_xy=True,
        compat_norm_shape=(530, 730),
        compat_upsample_size=(256, 352))
    img_feat = torch.randn(2, 352, 4)
    depth2img = torch.eye(3).expand(2, 3, 3)
    uv1 = torch.rand(2, 6, 2) * torch.tensor([529., 529.]) + 1
    points = torch.cat([uv1, torch.ones(2, 6, 1)], -1).reshape(2, 2, 3, 3)
    # depth2img maps to native 730x530 pixels here: native_scale is 1
    target = head.construct_target(img_feat, points, depth2img, (16, 22),
                                   (256, 352), native_scale=torch.ones(2, 2))
    # the original's computation, written out
    u_pix = torch.round(uv1[..., 0] - 1) / 730
    v_pix = torch.round(uv1[..., 1] - 1) / 530
    grid = torch.stack([v_pix, u_pix], -1) * 2 - 1
    fmap = img_feat.transpose(1, 2).reshape(2, 4, 16, 22)
    fmap = torch.nn.functional.interpolate(
        fmap, size=(256, 352), mode='bilinear', align_corners=False)
    expected = torch.nn.functional.grid_sample(
        fmap, grid.unsqueeze(1), align_corners=False).squeeze(2)
    torch.testing.assert_close(
        target.reshape(2, 6, 4), expected.transpose(1, 2))
    assert np.isfinite(target.numpy()).all()


def test_cross_head_compat_needs_the_native_frame():
    head = PiMAECrossModalHead(
        in_channels=8,
        feat_channels=4,
        group_size=3,
        compat_norm_shape=(530, 730))
    points = torch.rand(1, 2, 3, 3) + torch.tensor([0., 0., 1.])
    with pytest.raises(ValueError, match='native_scale'):
        head.construct_target(
            torch.randn(1, 352, 4), points, torch.eye(3)[None], (16, 22),
            (256, 352))
