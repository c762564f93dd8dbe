# Copyright (c) OpenMMLab. All rights reserved.
"""The 3DETR transformer decoder: a stack returning every layer's output."""
from typing import Optional

import torch
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .threedetr_decoder_layer import ThreeDETRDecoderLayer


@MODELS.register_module()
class ThreeDETRDecoder(BaseModule):
    """``num_layers`` :class:`ThreeDETRDecoderLayer` and a shared final
    LayerNorm applied to the output of every layer.

    Every layer's normalised output is returned, so that box predictions
    and the auxiliary losses of all layers can be computed (3DETR's
    ``return_intermediate=True``).

    Args:
        num_layers (int): Number of layers (>= 1). Defaults to 8.
        layer_cfg (dict): Keyword arguments of :class:`ThreeDETRDecoderLayer`.
            Defaults to ``dict()`` (256-d, 4 heads, FFN 256, dropout 0.1,
            pre-norm).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_layers: int = 8,
                 layer_cfg: dict = dict(),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        self.layers = ModuleList(
            [ThreeDETRDecoderLayer(**layer_cfg) for _ in range(num_layers)])
        self.embed_dims = self.layers[0].embed_dims
        self.norm = nn.LayerNorm(self.embed_dims)

    def forward(self,
                query: Tensor,
                memory: Tensor,
                query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Run all layers.

        Args:
            query (Tensor): Initial query tokens, shape (B, Q, C).
            memory (Tensor): Encoder tokens, shape (B, N, C).
            query_pos (Tensor, optional): Query position embedding
                (B, Q, C).
            memory_pos (Tensor, optional): Memory position embedding
                (B, N, C).
            memory_key_padding_mask (Tensor, optional): (B, N), True =
                ignore.

        Returns:
            Tensor: Normalised outputs of every layer, shape (L, B, Q, C).
        """
        outputs = []
        x = query
        for layer in self.layers:
            x = layer(x, memory, query_pos, memory_pos,
                      memory_key_padding_mask)
            outputs.append(self.norm(x))
        return torch.stack(outputs)
