import pytest
import torch
import torch.nn.functional as F

from projects.pimae.pimae.models.layers import (DETRStyleEncoder,
                                                DETRStyleEncoderLayer)

#: the 12 tensors per layer that 3DETR's loader copies (see
#: projects/pimae/docs/original_code.md, 'Transfer to 3DETR')
THREEDETR_KEYS = {
    'self_attn.in_proj_weight', 'self_attn.in_proj_bias',
    'self_attn.out_proj.weight', 'self_attn.out_proj.bias', 'linear1.weight',
    'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight',
    'norm1.bias', 'norm2.weight', 'norm2.bias'
}


def manual_attention(x, layer):
    """Multi-head self-attention written out with the layer's weights."""
    attn = layer.self_attn
    batch, length, dims = x.shape
    heads = attn.num_heads
    q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(
        3, dim=-1)

    def split(t):
        return t.reshape(batch, length, heads, -1).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    weights = (q @ k.transpose(-1, -2) / (dims // heads)**.5).softmax(-1)
    out = (weights @ v).transpose(1, 2).reshape(batch, length, dims)
    return attn.out_proj(out)


def test_state_dict_keys_match_3detr():
    layer = DETRStyleEncoderLayer()
    assert set(layer.state_dict()) == THREEDETR_KEYS
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert shapes['self_attn.in_proj_weight'] == (768, 256)
    assert shapes['linear1.weight'] == (128, 256)
    assert shapes['linear2.weight'] == (256, 128)
    encoder = DETRStyleEncoder(num_layers=3)
    assert {k.split('.', 2)[2] for k in encoder.state_dict()} == THREEDETR_KEYS
    assert {k.split('.')[1] for k in encoder.state_dict()} == {'0', '1', '2'}


@pytest.mark.parametrize('normalize_before', [True, False])
def test_forward_matches_formula(normalize_before):
    torch.manual_seed(0)
    layer = DETRStyleEncoderLayer(
        embed_dims=16,
        num_heads=2,
        feedforward_channels=8,
        normalize_before=normalize_before)
    layer.init_weights()
    for param in layer.parameters():  # non-trivial norms and biases
        param.data.add_(0.1 * torch.randn_like(param))
    layer.eval()
    x = torch.randn(3, 5, 16)

    def ffn(t):
        return layer.linear2(F.relu(layer.linear1(t)))

    if normalize_before:
        y = x + manual_attention(layer.norm1(x), layer)
        expected = y + ffn(layer.norm2(y))
    else:
        y = layer.norm1(x + manual_attention(x, layer))
        expected = layer.norm2(y + ffn(y))
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)


def test_dropout_config_and_not_inplace():
    layer = DETRStyleEncoderLayer()
    assert layer.self_attn.dropout == 0.1
    for drop in (layer.dropout, layer.dropout1, layer.dropout2):
        assert drop.p == 0.1 and not drop.inplace
    assert isinstance(layer.activation, torch.nn.ReLU)
    assert layer.norm1.eps == 1e-5
    # training mode is stochastic, eval mode deterministic
    x = torch.randn(2, 7, 256)
    layer.train()
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))


def test_init_weights():
    torch.manual_seed(0)
    layer = DETRStyleEncoderLayer()
    layer.init_weights()
    assert layer.self_attn.in_proj_bias.abs().max() == 0
    bound = (6 / (256 + 768))**.5  # xavier over the whole (768, 256)
    assert layer.self_attn.in_proj_weight.abs().max() <= bound
    assert layer.self_attn.in_proj_weight.abs().max() > 0.9 * bound
    for linear in (layer.linear1, layer.linear2, layer.self_attn.out_proj):
        assert abs(float(linear.weight.std()) - 0.02) < 0.003
        assert linear.bias.abs().max() == 0


def test_empty_encoder_is_identity():
    encoder = DETRStyleEncoder(num_layers=0)
    x = torch.randn(2, 3, 256)
    assert encoder(x) is x
