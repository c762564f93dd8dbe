import pytest
import torch

from .._helpers import build_model, make_batch


def encode(model, seed=0, **kwargs):
    inputs, samples = make_batch(seed=seed)
    depth2img = torch.stack(
        [torch.as_tensor(s.metainfo['depth2img']) for s in samples])
    return model.backbone(inputs['points'], inputs['imgs'], depth2img,
                          **kwargs)


def test_masked_shapes():
    torch.manual_seed(0)
    model = build_model()
    out = encode(model)
    # 16 groups: 9 masked, 7 visible; 24 patches: keep int(24 * .4) = 9
    assert out.pts_latent.shape == (2, 7, 32)
    assert out.img_latent.shape == (2, 9, 32)
    assert out.cls_latent.shape == (2, 32)
    assert out.groups.center.shape == (2, 16, 3)
    assert out.groups.neighborhood.shape == (2, 16, 8, 3)
    assert out.masks.pts_mask.shape == (2, 16)
    assert out.masks.img_mask.shape == (2, 24)
    assert 0 <= float(out.masks.mask_overlap) <= 1


def test_unmasked_shapes():
    torch.manual_seed(0)
    model = build_model()
    out = encode(model, mask=False)
    assert out.pts_latent.shape == (2, 16, 32)
    assert out.img_latent.shape == (2, 24, 32)
    assert out.masks is None


def test_embedding_visible_groups_only_is_equivalent_in_eval_mode():
    """The fast path (embed visible groups) equals the original's path
    (embed all, then drop) once BN uses running statistics."""
    torch.manual_seed(0)
    model = build_model().eval()
    assert not model.backbone.embed_masked_groups
    torch.manual_seed(1)
    fast = encode(model)
    model.backbone.embed_masked_groups = True
    torch.manual_seed(1)
    faithful = encode(model)
    torch.testing.assert_close(fast.masks.pts_mask, faithful.masks.pts_mask)
    for key in ('pts_latent', 'img_latent', 'cls_latent'):
        torch.testing.assert_close(
            getattr(fast, key), getattr(faithful, key))


def test_visible_tokens_do_not_depend_on_masked_content():
    """Masked groups and patches are really dropped before the encoders."""
    torch.manual_seed(0)
    model = build_model().eval()
    inputs, samples = make_batch()
    depth2img = torch.stack(
        [torch.as_tensor(s.metainfo['depth2img']) for s in samples])
    torch.manual_seed(3)
    ref = model.backbone(inputs['points'], inputs['imgs'], depth2img)
    imgs = inputs['imgs'].clone()
    mask = ref.masks.img_mask.reshape(2, 1, 4, 6).repeat_interleave(
        16, 2).repeat_interleave(16, 3)
    imgs[mask.expand_as(imgs)] = 100.
    torch.manual_seed(3)
    out = model.backbone(inputs['points'], imgs, depth2img)
    torch.testing.assert_close(out.img_latent, ref.img_latent)
    imgs[~mask.expand_as(imgs)] = 100.
    torch.manual_seed(3)
    out = model.backbone(inputs['points'], imgs, depth2img)
    assert not torch.allclose(out.img_latent, ref.img_latent)


def test_contradicting_sub_config_is_rejected():
    with pytest.raises(ValueError, match='embed_dims'):
        build_model(backbone=dict(img_tokenizer=dict(embed_dims=16)))


def point_only_encoder():
    return build_model(
        backbone=dict(
            modalities=('points', ), img_tokenizer=None, img_encoder=None),
        neck=dict(modalities=('points', )),
        img_head=None,
        cross_head=None).backbone


def test_point_only_masks_and_encodes_the_points_alone():
    torch.manual_seed(0)
    backbone = point_only_encoder().eval()
    assert backbone.img_tokenizer is None and backbone.img_encoder is None
    assert backbone.modality_img_embed is None
    inputs, _ = make_batch()
    torch.manual_seed(3)
    ref = backbone(inputs['points'], None)
    assert ref.img_latent is None and ref.masks.img_mask is None
    assert ref.masks.mask_overlap is None
    assert ref.pts_latent.shape == (2, 7, 32)
    assert ref.cls_latent.shape == (2, 32)
    assert ref.masks.pts_mask.sum(1).tolist() == [9, 9]
    # the visible / masked indices split the groups as the mask says
    keep, masked = ref.masks.pts_ids_keep, ref.masks.pts_ids_mask
    for b in range(2):
        assert not ref.masks.pts_mask[b, keep[b]].any()
        assert ref.masks.pts_mask[b, masked[b]].all()
    # the documented flow: the visible groups' tokens, the point encoder,
    # then the shared encoder over [cls, visible point tokens] alone
    visible = ref.groups.select(keep)
    tokens = backbone.pts_tokenizer.embed_groups(visible.neighborhood) + \
        backbone.pts_tokenizer.embed_pos(visible.center) + \
        backbone.modality_pts_embed
    tokens = backbone.pts_encoder(tokens)
    cls = backbone.cls_token.expand(2, -1, -1)
    expected = backbone.shared_encoder(torch.cat([cls, tokens], 1))
    torch.testing.assert_close(ref.cls_latent, expected[:, 0])
    torch.testing.assert_close(ref.pts_latent, expected[:, 1:])
    with pytest.raises(ValueError, match='takes no imgs'):
        backbone(inputs['points'], inputs['imgs'])
    with pytest.raises(ValueError, match='needs points'):
        backbone(None, None)


def test_image_only_drops_masked_patches():
    torch.manual_seed(0)
    backbone = build_model(
        backbone=dict(
            modalities=('images', ), pts_tokenizer=None, pts_encoder=None),
        neck=dict(modalities=('images', )),
        pts_head=None,
        cross_head=None).backbone.eval()
    inputs, _ = make_batch()
    torch.manual_seed(3)
    ref = backbone(None, inputs['imgs'])
    assert ref.pts_latent is None and ref.groups is None
    assert ref.masks.pts_mask is None
    # keep int(24 * .4) = 9 patches
    assert ref.img_latent.shape == (2, 9, 32)
    assert ref.masks.img_mask.sum(1).tolist() == [15, 15]
    imgs = inputs['imgs'].clone()
    mask = ref.masks.img_mask.reshape(2, 1, 4, 6).repeat_interleave(
        16, 2).repeat_interleave(16, 3)
    imgs[mask.expand_as(imgs)] = 100.
    torch.manual_seed(3)
    torch.testing.assert_close(
        backbone(None, imgs).img_latent, ref.img_latent)
