# Copyright (c) OpenMMLab. All rights reserved.
"""The 3DETR transformer encoder layer (pre-norm, ReLU FFN)."""
from typing import Optional

from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..utils.weight_init import init_pimae_weights


@MODELS.register_module()
class DETRStyleEncoderLayer(BaseModule):
    """A 3DETR-style transformer encoder layer.

    Used by PiMAE's point-specific and shared encoders and meant to be reused
    by the downstream 3DETR encoder: the parameter names (``self_attn``,
    ``linear1``, ``linear2``, ``norm1``, ``norm2``) are those of 3DETR's
    ``TransformerEncoderLayer``, so pretrained weights transfer by key prefix
    only (see projects/pimae/docs/original_code.md, 'Transfer to 3DETR').
    With ``normalize_before=True`` (PiMAE) it computes::

        x = x + drop1(MHA(norm1(x)))
        x = x + drop2(linear2(drop(act(linear1(norm2(x))))))

    and with ``normalize_before=False`` the post-norm variant. Dropouts are
    not in-place.

    Args:
        embed_dims (int): Token dimension. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 4.
        feedforward_channels (int): FFN hidden dimension. Defaults to 128.
        dropout (float): Dropout on the attention weights, on both residual
            branches and on the FFN hidden layer. Defaults to 0.1.
        act_cfg (dict): FFN activation. Defaults to ``dict(type='ReLU')``.
        normalize_before (bool): Pre-norm if True. Defaults to True.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 4,
                 feedforward_channels: int = 128,
                 dropout: float = 0.1,
                 act_cfg: dict = dict(type='ReLU'),
                 normalize_before: bool = True,
                 norm_eps: float = 1e-5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.normalize_before = normalize_before
        self.self_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(embed_dims, feedforward_channels)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(feedforward_channels, embed_dims)
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = build_activation_layer(act_cfg)

    def init_weights(self) -> None:
        """Xavier-uniform ``in_proj``, truncated-normal linears, LN 1/0."""
        super().init_weights()
        self.apply(init_pimae_weights)

    def _attend(self, x: Tensor, pos: Optional[Tensor],
                attn_mask: Optional[Tensor],
                key_padding_mask: Optional[Tensor]) -> Tensor:
        query = x if pos is None else x + pos
        return self.self_attn(
            query,
            query,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False)[0]

    def _ffn(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def forward(self,
                x: Tensor,
                pos: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Run the layer.

        Args:
            x (Tensor): Tokens of shape (B, N, C) (batch first).
            pos (Tensor, optional): Position embedding (B, N, C) added to
                queries and keys only. PiMAE passes none. Defaults to None.
            attn_mask (Tensor, optional): (N, N) or (B * heads, N, N)
                attention mask. Defaults to None.
            key_padding_mask (Tensor, optional): (B, N), True = ignore.
                Defaults to None.

        Returns:
            Tensor: Tokens of shape (B, N, C).
        """
        if self.normalize_before:
            x = x + self.dropout1(
                self._attend(self.norm1(x), pos, attn_mask, key_padding_mask))
            return x + self.dropout2(self._ffn(self.norm2(x)))
        attended = self._attend(x, pos, attn_mask, key_padding_mask)
        x = self.norm1(x + self.dropout1(attended))
        return self.norm2(x + self.dropout2(self._ffn(x)))
