# Copyright (c) OpenMMLab. All rights reserved.
"""A stack of 3DETR-style encoder layers."""
from typing import Optional

from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .detr_style_encoder_layer import DETRStyleEncoderLayer


@MODELS.register_module()
class DETRStyleEncoder(BaseModule):
    """3DETR's ``TransformerEncoder``: ``num_layers`` identical layers.

    The layers live in ``self.layers`` so that the keys are
    ``layers.{i}.self_attn.in_proj_weight`` etc., as in 3DETR
    (``encoder.layers.{i}.*``) and the original PiMAE
    (``blocks.layers.{i}.*``).

    Args:
        num_layers (int): Number of layers; 0 gives the identity.
            Defaults to 3.
        layer_cfg (dict): Keyword arguments of
            :class:`DETRStyleEncoderLayer`; its defaults are the PiMAE layer
            (256-d, 4 heads, FFN 128, dropout 0.1, pre-norm). Defaults to
            ``dict()``.
        final_norm (bool): Append a LayerNorm after the last layer (PiMAE and
            3DETR's vanilla encoder have none). Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_layers: int = 3,
                 layer_cfg: dict = dict(),
                 final_norm: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 0:
            raise ValueError(f'num_layers must be >= 0, got {num_layers}')
        self.layers = ModuleList(
            [DETRStyleEncoderLayer(**layer_cfg) for _ in range(num_layers)])
        embed_dims = layer_cfg.get('embed_dims', 256)
        self.norm = nn.LayerNorm(embed_dims) if final_norm else None

    def forward(self,
                x: Tensor,
                pos: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Run all layers.

        Args:
            x (Tensor): Tokens (B, N, C).
            pos (Tensor, optional): Position embedding (B, N, C) given to
                every layer. Defaults to None.
            attn_mask (Tensor, optional): Attention mask. Defaults to None.
            key_padding_mask (Tensor, optional): (B, N), True = ignore.
                Defaults to None.

        Returns:
            Tensor: Tokens (B, N, C).
        """
        for layer in self.layers:
            x = layer(x, pos, attn_mask, key_padding_mask)
        if self.norm is not None:
            x = self.norm(x)
        return x
