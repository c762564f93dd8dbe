"""The default model against the original's layer shapes.

The expected count is derived from the module tree of the released model
(PyTorch's print of the original PiMAE, transcribed below layer by layer)
plus the parameters the print does not show (tokens, modality embeddings);
see projects/pimae/docs/original_code.md, 'Sizes'.
"""
import torch

from .._helpers import make_batch


def linear(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


def conv1d(n_in, n_out):
    return linear(n_in, n_out)


def norm(dims):
    return 2 * dims


def timm_block(dims, qkv_bias=True):
    return (norm(dims) + linear(dims, 3 * dims, qkv_bias) +
            linear(dims, dims) + norm(dims) + linear(dims, 4 * dims) +
            linear(4 * dims, dims))


def detr_layer(dims=256, ffn=128):
    return (linear(dims, 3 * dims) + linear(dims, dims) + linear(dims, ffn) +
            linear(ffn, dims) + 2 * norm(dims))


#: trainable parameters of the original, per module of the print, that this
#: re-implementation has too
ORIGINAL = {
    # pc_branch.MAE_encoder.encoder (mini-PointNet, with its 2 BatchNorms)
    'first_conv': conv1d(3, 128) + norm(128) + conv1d(128, 256),
    'second_conv': conv1d(512, 512) + norm(512) + conv1d(512, 256),
    'pc pos_embed': linear(3, 128) + linear(128, 256),
    'pc MAE_encoder.blocks (3 x 3DETR)': 3 * detr_layer(),
    'pc decoder_pos_embed': linear(3, 128) + linear(128, 192),
    'pc MAE_decoder.blocks (2, no qkv bias)': 2 * timm_block(192, False),
    'pc MAE_decoder.norm': norm(192),
    'pc decoder_embed': linear(256, 192),
    'pc increase_dim': conv1d(192, 96),
    'pc mask_token (not printed)': 192,
    'img patch_embed.proj': 3 * 16 * 16 * 256 + 256,
    'img blocks (3)': 3 * timm_block(256),
    'img decoder_embed': linear(256, 192),
    'img mask_token (not printed)': 192,
    'img decoder_blocks (2)': 2 * timm_block(192),
    'img decoder_norm': norm(192),
    'img decoder_pred': linear(192, 768),
    'increase_dim_feat': conv1d(192, 6144),
    'blocks (shared, 3 x 3DETR)': 3 * detr_layer(),
    'decoder_blocks (joint, 1)': timm_block(192),
    'decoder_norm (joint)': norm(192),
    'cls_token (not printed)': 256,
    'modality_img/pc_embedding (not printed)': 2 * 256,
    'decoder_modality_img/pc_embed (not printed)': 2 * 192,
}

#: parameters of the original that are intentionally absent here: they are
#: never used in the original's forward pass (projects/pimae/docs/
#: original_code.md, 'Sizes')
ABSENT_UNUSED = {
    'pc_branch.MAE_encoder.norm': norm(256),
    'img_branch.cls_token': 256,
    'img_branch.norm': norm(256),
    'norm (PiMAE.norm)': norm(256),
}
#: fixed sin-cos tables: ``nn.Parameter(requires_grad=False)`` in the
#: original, persistent buffers here (not parameters)
FROZEN_POS_EMBEDS = {
    'img_branch.pos_embed': 352 * 256,
    'img_branch.decoder_pos_embed': 352 * 192,
}


def build_default():
    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    model = MODELS.build(dict(type='PiMAE'))
    model.init_weights()
    return model


def test_parameter_count_equals_the_original():
    model = build_default()
    expected = sum(ORIGINAL.values())
    count = sum(p.numel() for p in model.parameters())
    assert count == expected
    assert 8.6e6 < count < 8.8e6
    # the whole original, unused and frozen tables included
    original_total = expected + sum(ABSENT_UNUSED.values()) + sum(
        FROZEN_POS_EMBEDS.values())
    buffers = dict(model.named_buffers())
    assert buffers['backbone.img_tokenizer.pos_embed'].numel(
    ) + buffers['neck.img_decoder_pos_embed'].numel() == sum(
        FROZEN_POS_EMBEDS.values())
    assert original_total - expected == 1792 + 157696
    # every parameter is trainable
    assert all(p.requires_grad for p in model.parameters())
    # the 6 transferable 3DETR layers are 1.98 M (docs/original_code.md,
    # 'Sizes')
    transfer = sum(p.numel() for n, p in model.named_parameters()
                   if n.startswith(('backbone.pts_encoder.',
                                    'backbone.shared_encoder.')))
    assert transfer == 6 * detr_layer() == 1980672


def test_default_initialisation():
    torch.manual_seed(0)
    model = build_default()
    backbone, neck = model.backbone, model.neck
    for token in (backbone.cls_token, backbone.modality_img_embed,
                  backbone.modality_pts_embed, neck.modality_img_embed,
                  neck.modality_pts_embed):
        assert token.abs().max() == 0
    for linear_layer in (neck.img_decoder_pred, neck.pts_decoder_embed,
                         backbone.img_encoder[0].ffn.layers[0][0],
                         backbone.img_encoder[0].attn.qkv,
                         model.cross_head.increase_dim_feat):
        assert abs(float(linear_layer.weight.std()) - 0.02) < 0.002
        # truncation at +-2 (absolute) does not bite: effectively N(0, .02)
        assert linear_layer.weight.abs().max() > 0.06
        assert linear_layer.bias.abs().max() == 0
    weight = backbone.img_tokenizer.patch_embed.projection.weight
    bound = (6 / (768 + 256))**.5
    assert weight.abs().max() <= bound and weight.abs().max() > .95 * bound
    assert abs(float(neck.img_mask_token.std()) - 0.02) < 0.005
    assert backbone.img_encoder[0].ln1.eps == 1e-6
    assert backbone.img_encoder[0].ln1.weight.eq(1).all()


def test_default_forward_batch_one():
    torch.manual_seed(0)
    model = build_default()
    inputs, samples = make_batch(
        batch_size=1, num_points=2048, img_shape=(256, 352))
    points, imgs, depth2img, _ = model._unpack(inputs, samples, True)
    enc = model.backbone(points, imgs, depth2img)
    dec = model._decode(enc)
    assert enc.pts_latent.shape == (1, 52, 256)
    assert enc.img_latent.shape == (1, 140, 256)
    assert dec.img_pred.shape == (1, 352, 768)
    assert dec.img_feat.shape == (1, 352, 192)
    assert dec.pts_feat.shape == (1, 76, 192)
    assert model.pts_head(dec.pts_feat).shape == (1, 76, 32, 3)
    assert enc.groups.neighborhood.shape == (1, 128, 32, 3)
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
