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
