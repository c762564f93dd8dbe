import torch

from projects.pimae.pimae.models.necks import PiMAEDecoder
from projects.pimae.pimae.models.utils import build_2d_sincos_pos_embed


def decoder_inputs(batch=2,
                   grid=(2, 3),
                   num_keep=2,
                   num_groups=5,
                   num_masked=3,
                   in_channels=16):
    torch.manual_seed(0)
    num_patches = grid[0] * grid[1]
    ids_shuffle = torch.stack(
        [torch.randperm(num_patches) for _ in range(batch)])
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    perm = torch.stack([torch.randperm(num_groups) for _ in range(batch)])
    ids_keep = perm[:, :num_groups - num_masked].sort(1)[0]
    ids_mask = perm[:, num_groups - num_masked:].sort(1)[0]
    return dict(
        img_latent=torch.randn(batch, num_keep, in_channels),
        pts_latent=torch.randn(batch, num_groups - num_masked, in_channels),
        img_ids_restore=ids_restore,
        center=torch.randn(batch, num_groups, 3),
        pts_ids_keep=ids_keep,
        pts_ids_mask=ids_mask), ids_shuffle


def small_decoder(**kwargs):
    cfg = dict(
        in_channels=16,
        embed_dims=8,
        grid_size=(2, 3),
        joint_num_heads=2,
        img_num_heads=2,
        pts_num_heads=2,
        pos_hidden_dims=4)
    cfg.update(kwargs)
    decoder = PiMAEDecoder(**cfg)
    decoder.init_weights()
    return decoder


def test_default_layers_match_the_original():
    decoder = PiMAEDecoder()
    shapes = {k: tuple(v.shape) for k, v in decoder.state_dict().items()}
    assert shapes['img_decoder_pred.weight'] == (768, 192)
    assert shapes['img_decoder_pos_embed'] == (1, 352, 192)
    assert shapes['pts_decoder_layers.0.attn.qkv.weight'] == (576, 192)
    assert 'pts_decoder_layers.0.attn.qkv.bias' not in shapes
    assert 'img_decoder_layers.0.attn.qkv.bias' in shapes
    assert len(decoder.joint_layers) == 1
    assert len(decoder.img_decoder_layers) == 2
    assert len(decoder.pts_decoder_layers) == 2
    assert decoder.pts_decoder_layers[0].ln1.eps == 1e-5
    assert decoder.img_decoder_layers[0].ln1.eps == 1e-6
    rates = [
        layer.attn.out_drop.drop_prob for layer in decoder.pts_decoder_layers
    ]
    assert rates == [0., 0.1]


def test_shapes():
    inputs, _ = decoder_inputs()
    img_pred, img_feat, pts_feat = small_decoder()(**inputs)
    assert img_pred.shape == (2, 6, 768)
    assert img_feat.shape == (2, 6, 8)
    assert pts_feat.shape == (2, 3, 8)


def test_joint_depth_zero():
    decoder = small_decoder(joint_depth=0)
    assert len(decoder.joint_layers) == 0 and decoder.joint_norm is None
    inputs, _ = decoder_inputs()
    img_pred, img_feat, pts_feat = decoder(**inputs)
    assert img_pred.shape == (2, 6, 768) and pts_feat.shape == (2, 3, 8)
    # without the joint stage the image branch ignores the points
    inputs2 = dict(inputs, pts_latent=inputs['pts_latent'] + 1)
    torch.testing.assert_close(decoder(**inputs2)[1], img_feat)
    # with it, the image features depend on the point tokens
    joint = small_decoder(joint_depth=1)
    assert not torch.allclose(joint(**inputs2)[1], joint(**inputs)[1])


def test_image_tokens_are_unshuffled_to_patch_order():
    """With no blocks, img_feat = LN(embed(x) or mask token + 2 pos + mod)."""
    decoder = small_decoder(joint_depth=0, img_depth=0)
    with torch.no_grad():
        decoder.img_mask_token.fill_(0.)
    inputs, ids_shuffle = decoder_inputs()
    _, img_feat, _ = decoder(**inputs)
    pos = build_2d_sincos_pos_embed((2, 3), 8)[0]
    for b in range(2):
        for slot in range(6):
            patch = ids_shuffle[b, slot]
            token = (
                decoder.img_decoder_embed(inputs['img_latent'][b, slot])
                if slot < 2 else torch.zeros(8))
            expected = decoder.img_decoder_norm(token + 2 * pos[patch])
            torch.testing.assert_close(img_feat[b, patch], expected)


def test_point_decoder_returns_masked_tokens_in_mask_order():
    decoder = small_decoder(joint_depth=0, pts_depth=0)
    inputs, _ = decoder_inputs()
    _, _, pts_feat = decoder(**inputs)
    center = inputs['center']
    for b in range(2):
        pos = decoder.pts_decoder_pos_embed(center[b,
                                                   inputs['pts_ids_mask'][b]])
        expected = decoder.pts_decoder_norm(decoder.pts_mask_token[0] + pos)
        torch.testing.assert_close(pts_feat[b], expected)


def test_one_modality_decoders_match_the_paired_branches():
    """Without the joint stage the branches are independent: a decoder of
    one modality with the paired decoder's weights gives that branch's
    outputs exactly, and has no parameter of the other."""
    import pytest
    paired = small_decoder(joint_depth=0).eval()  # no drop path
    inputs, _ = decoder_inputs()
    ref = paired(**inputs)
    for modality, prefix, kept in (('points', 'img_', 'pts_feat'),
                                   ('images', 'pts_', 'img_feat')):
        single = small_decoder(joint_depth=0, modalities=(modality, )).eval()
        state = single.state_dict()
        assert not any(k.startswith(prefix) or prefix[:-1] in k
                       for k in state), list(state)
        single.load_state_dict(
            {k: v
             for k, v in paired.state_dict().items() if k in state},
            strict=True)
        if modality == 'points':
            own = dict(inputs, img_latent=None, img_ids_restore=None)
        else:
            own = dict(
                inputs,
                pts_latent=None,
                center=None,
                pts_ids_keep=None,
                pts_ids_mask=None)
        out = single(**own)
        torch.testing.assert_close(getattr(out, kept), getattr(ref, kept))
        other = ({'img_pred', 'img_feat'}
                 if modality == 'points' else {'pts_feat'})
        assert all(getattr(out, name) is None for name in other)
        with pytest.raises(ValueError, match='takes no'):
            single(**inputs)


def test_point_only_joint_layers_run_over_the_points():
    decoder = small_decoder(modalities=('points', ), joint_depth=1).eval()
    inputs, _ = decoder_inputs()
    inputs.update(img_latent=None, img_ids_restore=None)
    pts_feat = decoder(**inputs).pts_feat
    assert pts_feat.shape == (2, 3, 8)
    # the joint block changes the point features
    with torch.no_grad():
        for param in decoder.joint_layers.parameters():
            param.add_(0.5)
    assert not torch.allclose(decoder(**inputs).pts_feat, pts_feat)
