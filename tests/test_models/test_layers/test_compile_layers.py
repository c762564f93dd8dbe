"""``compile_transformer_layers``: which layers, in place, same numbers."""
import torch
from torch import nn

from projects.pimae.pimae.models.layers import (DETRStyleEncoder,
                                                ThreeDETRDecoder,
                                                build_vit_layers,
                                                compile_transformer_layers)


class TinyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.vit = build_vit_layers(2, 16, 2)
        self.encoder = DETRStyleEncoder(
            num_layers=1,
            layer_cfg=dict(embed_dims=16, num_heads=2, feedforward_channels=8,
                           dropout=0.))
        self.decoder = ThreeDETRDecoder(
            num_layers=1,
            layer_cfg=dict(embed_dims=16, num_heads=2, feedforward_channels=8,
                           dropout=0.))
        self.head = nn.Linear(16, 1)

    def forward(self, x, memory):
        for layer in self.vit:
            x = layer(x)
        x = self.encoder(x)
        return self.head(self.decoder(x, memory)[-1])


def test_compiles_the_transformer_layers_in_place():
    torch.manual_seed(0)
    model = TinyModel().eval()
    keys = list(model.state_dict())
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    expected = model(x, memory)
    # the eager backend traces with Dynamo (fullgraph: no graph break, so
    # no host read either) without the C++ compile of inductor
    assert compile_transformer_layers(
        model, backend='eager', fullgraph=True) == 4
    compiled = [
        name for name, module in model.named_modules()
        if getattr(module, '_compiled_call_impl', None) is not None
    ]
    assert compiled == [
        'vit.0', 'vit.1', 'encoder.layers.0', 'decoder.layers.0'
    ]
    assert list(model.state_dict()) == keys  # checkpoints unchanged
    torch.testing.assert_close(model(x, memory), expected)
    model.train()
    out = model(x, memory)  # training (autograd) traces as well
    out.sum().backward()
    assert model.vit[0].attn.qkv.weight.grad is not None


def test_model_without_transformer_layers():
    assert compile_transformer_layers(nn.Sequential(nn.Linear(2, 2))) == 0
