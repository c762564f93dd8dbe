"""ThreeDETRDecoderLayer against its formula, written out with the layer's
own weights (multi-head attention, LayerNorm and FFN by hand)."""
import math

import pytest
import torch

from projects.pimae.pimae.models.layers import ThreeDETRDecoderLayer

DIMS, HEADS, FFN = 8, 2, 12


def attention(query, key, value, attn, key_padding_mask=None):
    """Multi-head attention of ``nn.MultiheadAttention`` by hand."""
    weight, bias = attn.in_proj_weight, attn.in_proj_bias
    q = query @ weight[:DIMS].T + bias[:DIMS]
    k = key @ weight[DIMS:2 * DIMS].T + bias[DIMS:2 * DIMS]
    v = value @ weight[2 * DIMS:].T + bias[2 * DIMS:]
    head_dims = DIMS // HEADS
    out = torch.zeros(query.shape[:2] + (DIMS, ), dtype=query.dtype)
    for b in range(query.size(0)):
        for h in range(HEADS):
            cols = slice(h * head_dims, (h + 1) * head_dims)
            scores = q[b, :, cols] @ k[b, :, cols].T / math.sqrt(head_dims)
            if key_padding_mask is not None:
                scores[:, key_padding_mask[b]] = -math.inf
            out[b, :, cols] = scores.softmax(dim=-1) @ v[b, :, cols]
    return out @ attn.out_proj.weight.T + attn.out_proj.bias


def layer_norm(x, norm):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean)**2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def ffn(x, layer):
    hidden = (x @ layer.linear1.weight.T + layer.linear1.bias).clamp(min=0)
    return hidden @ layer.linear2.weight.T + layer.linear2.bias


def reference(layer, x, memory, query_pos, memory_pos, padding):
    """The documented formula of the layer (pre- or post-norm)."""
    if layer.normalize_before:
        q = layer_norm(x, layer.norm1)
        x = x + attention(q + query_pos, q + query_pos, q, layer.self_attn)
        q = layer_norm(x, layer.norm2)
        x = x + attention(q + query_pos, memory + memory_pos, memory,
                          layer.cross_attn, padding)
        return x + ffn(layer_norm(x, layer.norm3), layer)
    x = layer_norm(
        x + attention(x + query_pos, x + query_pos, x, layer.self_attn),
        layer.norm1)
    x = layer_norm(
        x + attention(x + query_pos, memory + memory_pos, memory,
                      layer.cross_attn, padding), layer.norm2)
    return layer_norm(x + ffn(x, layer), layer.norm3)


def make_layer(normalize_before):
    torch.manual_seed(0)
    layer = ThreeDETRDecoderLayer(
        embed_dims=DIMS,
        num_heads=HEADS,
        feedforward_channels=FFN,
        normalize_before=normalize_before).double()
    layer.init_weights()
    with torch.no_grad():  # non-trivial biases and norm affines
        for param in layer.parameters():
            param.add_(0.3 * torch.randn_like(param))
    return layer.eval()


@pytest.mark.parametrize('normalize_before', [True, False])
def test_forward_matches_formula(normalize_before):
    layer = make_layer(normalize_before)
    generator = torch.Generator().manual_seed(1)
    x, query_pos = torch.randn(
        2, 2, 4, DIMS, generator=generator, dtype=torch.float64)
    memory, memory_pos = torch.randn(
        2, 2, 5, DIMS, generator=generator, dtype=torch.float64)
    padding = torch.tensor([[False, False, True, False, True],
                            [False, False, False, False, False]])
    out = layer(x, memory, query_pos, memory_pos, padding)
    expected = reference(layer, x, memory, query_pos, memory_pos, padding)
    assert out.shape == (2, 4, DIMS)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    # without position embeddings and mask: zeros and no padding
    zeros_q, zeros_m = torch.zeros_like(x), torch.zeros_like(memory)
    torch.testing.assert_close(
        layer(x, memory),
        reference(layer, x, memory, zeros_q, zeros_m, None),
        rtol=1e-10,
        atol=1e-10)


def test_padded_memory_is_ignored():
    layer = make_layer(True)
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, DIMS, generator=generator, dtype=torch.float64)
    memory = torch.randn(1, 4, DIMS, generator=generator, dtype=torch.float64)
    padding = torch.tensor([[False, True, False, True]])
    changed = memory.clone()
    changed[:, padding[0]] += 100.
    torch.testing.assert_close(
        layer(x, memory, memory_key_padding_mask=padding),
        layer(x, changed, memory_key_padding_mask=padding))


def test_dropout_only_in_training():
    layer = make_layer(True)
    x = torch.randn(1, 3, DIMS, dtype=torch.float64)
    memory = torch.randn(1, 4, DIMS, dtype=torch.float64)
    torch.testing.assert_close(layer(x, memory), layer(x, memory))
    layer.train()
    torch.manual_seed(3)
    first = layer(x, memory)
    torch.manual_seed(4)
    assert not torch.allclose(first, layer(x, memory))
