"""Every attention of PiMAE and 3DETR runs on
``torch.nn.functional.scaled_dot_product_attention`` (SDPA) and equals
attention written out by hand with the same weights, masks included, in
training (dropout 0) and evaluation mode.

The layers: mmpretrain's ViT blocks (``build_vit_layers``: PiMAE's image
encoder and all its decoders), ``DETRStyleEncoderLayer`` (PiMAE's point and
shared encoders, 3DETR's encoder) and ``ThreeDETRDecoderLayer`` (self- and
cross-attention).
"""
import math

import pytest
import torch
import torch.nn.functional as F

from projects.pimae.pimae.models.layers import (DETRStyleEncoderLayer,
                                                ThreeDETRDecoderLayer,
                                                build_vit_layers)

DIMS, HEADS = 16, 4


def hand_attention(query, key, value, weight, bias, out_weight, out_bias,
                   num_heads, attn_mask=None, key_padding_mask=None):
    """Scaled dot-product multi-head attention by hand.

    Args:
        query, key, value (Tensor): (B, Lq, C), (B, Lk, C), (B, Lk, C).
        weight, bias (Tensor): Stacked q, k, v projections (3C, C), (3C, ).
        out_weight, out_bias (Tensor): Output projection (C, C), (C, ).
        num_heads (int): Heads.
        attn_mask (Tensor, optional): (Lq, Lk) or (B * heads, Lq, Lk); bool
            True = not allowed, or float added to the scores.
        key_padding_mask (Tensor, optional): (B, Lk) bool, True = ignore.

    Returns:
        Tensor: (B, Lq, C).
    """
    batch, len_q, dims = query.shape
    len_k = key.size(1)
    head_dims = dims // num_heads
    w_q, w_k, w_v = weight.chunk(3)
    b_q, b_k, b_v = bias.chunk(3) if bias is not None else (0, 0, 0)

    def heads(t, w, b):
        t = t @ w.T + b
        return t.reshape(batch, t.size(1), num_heads, head_dims).transpose(
            1, 2)

    q, k, v = heads(query, w_q, b_q), heads(key, w_k, b_k), heads(
        value, w_v, b_v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(head_dims)
    if attn_mask is not None:
        mask = attn_mask.reshape(-1, num_heads, len_q, len_k) \
            if attn_mask.dim() == 3 else attn_mask
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(mask, -math.inf)
        else:
            scores = scores + mask
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None],
                                    -math.inf)
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, len_q, dims)
    return out @ out_weight.T + out_bias


def hand_mha(attn, query, key, value, **masks):
    """:func:`hand_attention` with the weights of an ``nn.MultiheadAttention``.
    """
    return hand_attention(query, key, value, attn.in_proj_weight,
                          attn.in_proj_bias, attn.out_proj.weight,
                          attn.out_proj.bias, attn.num_heads, **masks)


def perturb(module):
    """Non-trivial biases and norm affines, so that no term vanishes."""
    torch.manual_seed(0)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(0.2 * torch.randn_like(param))
    return module


class CountSDPA:
    """Count the calls of ``F.scaled_dot_product_attention``."""

    def __init__(self):
        self.calls = 0
        self.sdpa = F.scaled_dot_product_attention

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.sdpa(*args, **kwargs)


@pytest.mark.parametrize('qkv_bias', [True, False])
@pytest.mark.parametrize('training', [True, False])
def test_vit_block_attention_is_sdpa_and_matches(qkv_bias, training):
    block = perturb(build_vit_layers(1, DIMS, HEADS, qkv_bias=qkv_bias)[0])
    attn = block.attn
    # mmpretrain 1.x binds F.scaled_dot_product_attention itself (torch >= 2
    # and no qk_scale); its Python fallback would be a different function
    assert attn.scaled_dot_product_attention is F.scaled_dot_product_attention
    counter = CountSDPA()
    attn.scaled_dot_product_attention = counter
    block.train(training)
    x = torch.randn(2, 7, DIMS)
    bias = attn.qkv.bias
    expected = hand_attention(x, x, x, attn.qkv.weight, bias,
                              attn.proj.weight, attn.proj.bias, HEADS)
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)
    assert counter.calls == 1


MASK_CASES = ['none', 'bool_attn_mask', 'float_attn_mask', 'padding', 'both']


def encoder_masks(case, batch, length):
    generator = torch.Generator().manual_seed(1)
    masks = {}
    if case in ('bool_attn_mask', 'both'):
        allowed = torch.rand(length, length, generator=generator) > .4
        allowed |= torch.eye(length, dtype=torch.bool)  # no empty row
        masks['attn_mask'] = ~allowed
    if case == 'float_attn_mask':
        masks['attn_mask'] = torch.randn(
            batch * HEADS, length, length, generator=generator)
    if case in ('padding', 'both'):
        padding = torch.zeros(batch, length, dtype=torch.bool)
        padding[0, -2:] = True
        padding[1, 1] = True
        masks['key_padding_mask'] = padding
    return masks


@pytest.mark.parametrize('mode', ['train', 'eval', 'eval_no_grad'])
@pytest.mark.parametrize('case', MASK_CASES)
def test_detr_style_encoder_layer_attention(case, mode, monkeypatch):
    layer = perturb(
        DETRStyleEncoderLayer(
            embed_dims=DIMS, num_heads=HEADS, feedforward_channels=8,
            dropout=0.))
    layer.train(mode == 'train')
    batch, length = 2, 6
    x = torch.randn(batch, length, DIMS)
    pos = torch.randn(batch, length, DIMS)
    masks = encoder_masks(case, batch, length)
    counter = CountSDPA()
    monkeypatch.setattr(F, 'scaled_dot_product_attention', counter)
    with torch.set_grad_enabled(mode != 'eval_no_grad'):
        for position in (None, pos):
            query = x if position is None else x + position
            out = layer._attend(x, position, masks.get('attn_mask'),
                                masks.get('key_padding_mask'))
            expected = hand_mha(layer.self_attn, query, query, x, **masks)
            torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    if mode != 'eval_no_grad':
        # with autograd, nn.MultiheadAttention(need_weights=False) goes
        # through F.multi_head_attention_forward into SDPA; without it,
        # torch may take its fused native kernel instead (not counted)
        assert counter.calls == 2


@pytest.mark.parametrize('mode', ['train', 'eval'])
@pytest.mark.parametrize('padded', [False, True])
def test_threedetr_decoder_layer_attentions(padded, mode, monkeypatch):
    layer = perturb(
        ThreeDETRDecoderLayer(
            embed_dims=DIMS, num_heads=HEADS, feedforward_channels=8,
            dropout=0.))
    layer.train(mode == 'train')
    batch, num_queries, num_memory = 2, 5, 9
    x = torch.randn(batch, num_queries, DIMS)
    query_pos = torch.randn(batch, num_queries, DIMS)
    memory = torch.randn(batch, num_memory, DIMS)
    memory_pos = torch.randn(batch, num_memory, DIMS)
    padding = None
    if padded:
        padding = torch.zeros(batch, num_memory, dtype=torch.bool)
        padding[0, -3:] = True
    counter = CountSDPA()
    monkeypatch.setattr(F, 'scaled_dot_product_attention', counter)
    q = x + query_pos
    torch.testing.assert_close(
        layer._self_attend(x, query_pos),
        hand_mha(layer.self_attn, q, q, x),
        atol=1e-5,
        rtol=1e-5)
    torch.testing.assert_close(
        layer._cross_attend(x, memory, query_pos, memory_pos, padding),
        hand_mha(
            layer.cross_attn, q, memory + memory_pos, memory,
            key_padding_mask=padding),
        atol=1e-5,
        rtol=1e-5)
    assert counter.calls == 2


def test_hand_attention_is_not_trivially_equal():
    """The oracle sees the masks: masking a key changes the result."""
    layer = perturb(
        DETRStyleEncoderLayer(
            embed_dims=DIMS, num_heads=HEADS, feedforward_channels=8,
            dropout=0.)).eval()
    x = torch.randn(2, 6, DIMS)
    padding = torch.zeros(2, 6, dtype=torch.bool)
    padding[:, 0] = True
    plain = hand_mha(layer.self_attn, x, x, x)
    masked = hand_mha(layer.self_attn, x, x, x, key_padding_mask=padding)
    assert (plain - masked).abs().max() > 1e-3
    torch.testing.assert_close(
        layer._attend(x, None, None, padding), masked, atol=1e-5, rtol=1e-5)
