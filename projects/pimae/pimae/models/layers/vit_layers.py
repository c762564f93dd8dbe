# Copyright (c) OpenMMLab. All rights reserved.
"""Stacks of mmpretrain ViT blocks (timm ``Block`` equivalents)."""
import numpy as np
from mmengine.model import ModuleList
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer


def build_vit_layers(num_layers: int,
                     embed_dims: int,
                     num_heads: int,
                     mlp_ratio: float = 4.,
                     qkv_bias: bool = True,
                     drop_path_rate: float = 0.,
                     norm_eps: float = 1e-6) -> ModuleList:
    """Build ``num_layers`` pre-norm ViT blocks.

    Each block is mmpretrain's ``TransformerEncoderLayer`` (``ln1``,
    ``attn.qkv``, ``attn.proj``, ``ln2``, ``ffn.layers.0.0``,
    ``ffn.layers.1``; GELU, no dropout), numerically the timm 0.4.5 /
    Point-MAE ``Block`` of the original. Stochastic depth grows linearly
    from 0 to ``drop_path_rate`` over the stack, as in timm and Point-MAE.

    Args:
        num_layers (int): Number of blocks (0 gives an empty list).
        embed_dims (int): Token dimension.
        num_heads (int): Attention heads.
        mlp_ratio (float): FFN hidden / embed_dims. Defaults to 4.
        qkv_bias (bool): Bias of the qkv projection. Defaults to True.
        drop_path_rate (float): Largest drop-path rate. Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.

    Returns:
        ModuleList: The blocks.
    """
    if num_layers < 0:
        raise ValueError(f'num_layers must be >= 0, got {num_layers}')
    rates = np.linspace(0, drop_path_rate, num_layers)
    return ModuleList([
        TransformerEncoderLayer(
            embed_dims=embed_dims,
            num_heads=num_heads,
            feedforward_channels=int(embed_dims * mlp_ratio),
            drop_path_rate=float(rate),
            qkv_bias=qkv_bias,
            norm_cfg=dict(type='LN', eps=norm_eps)) for rate in rates
    ])
