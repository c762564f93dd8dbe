# Copyright (c) OpenMMLab. All rights reserved.
"""The 3DETR transformer decoder layer (self + cross attention, ReLU FFN)."""
from typing import Optional

from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


@MODELS.register_module()
class ThreeDETRDecoderLayer(BaseModule):
    """A 3DETR decoder layer.

    With ``normalize_before=True`` (3DETR's default) it computes::

        q = norm1(x);  x = x + drop1(SelfAttn(q + qpos, q + qpos, q))
        q = norm2(x);  x = x + drop2(CrossAttn(q + qpos, mem + mpos, mem))
        q = norm3(x);  x = x + drop3(linear2(drop(act(linear1(q)))))

    and the post-norm order otherwise. Dropout applies to the attention
    weights, the three residual branches and the FFN hidden layer. Weights
    are initialised as 3DETR's decoder: xavier-uniform on every parameter
    with more than one dimension.

    Args:
        embed_dims (int): Token dimension. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 4.
        feedforward_channels (int): FFN hidden dimension. Defaults to 256.
        dropout (float): Dropout probability. Defaults to 0.1.
        act_cfg (dict): FFN activation. Defaults to ``dict(type='ReLU')``.
        normalize_before (bool): Pre-norm if True. Defaults to True.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 4,
                 feedforward_channels: int = 256,
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
        self.cross_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(embed_dims, feedforward_channels)
        self.linear2 = nn.Linear(feedforward_channels, embed_dims)
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.norm3 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = build_activation_layer(act_cfg)

    def init_weights(self) -> None:
        """Xavier-uniform on every matrix, as 3DETR's decoder reset."""
        super().init_weights()
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def _self_attend(self, x: Tensor, query_pos: Optional[Tensor]) -> Tensor:
        q = x if query_pos is None else x + query_pos
        return self.self_attn(q, q, x, need_weights=False)[0]

    def _cross_attend(self, x: Tensor, memory: Tensor,
                      query_pos: Optional[Tensor],
                      memory_pos: Optional[Tensor],
                      memory_key_padding_mask: Optional[Tensor]) -> Tensor:
        q = x if query_pos is None else x + query_pos
        k = memory if memory_pos is None else memory + memory_pos
        return self.cross_attn(
            q,
            k,
            memory,
            key_padding_mask=memory_key_padding_mask,
            need_weights=False)[0]

    def _ffn(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def forward(self,
                query: Tensor,
                memory: Tensor,
                query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Run the layer.

        Args:
            query (Tensor): Query tokens, shape (B, Q, C).
            memory (Tensor): Encoder tokens, shape (B, N, C).
            query_pos (Tensor, optional): Query position embedding,
                (B, Q, C), added to the attention queries and keys.
            memory_pos (Tensor, optional): Memory position embedding,
                (B, N, C), added to the cross-attention keys.
            memory_key_padding_mask (Tensor, optional): (B, N), True =
                ignore. Defaults to None.

        Returns:
            Tensor: Updated query tokens, shape (B, Q, C).
        """
        x = query
        if self.normalize_before:
            x = x + self.dropout1(self._self_attend(self.norm1(x), query_pos))
            x = x + self.dropout2(
                self._cross_attend(
                    self.norm2(x), memory, query_pos, memory_pos,
                    memory_key_padding_mask))
            return x + self.dropout3(self._ffn(self.norm3(x)))
        x = self.norm1(x + self.dropout1(self._self_attend(x, query_pos)))
        x = self.norm2(x + self.dropout2(
            self._cross_attend(x, memory, query_pos, memory_pos,
                               memory_key_padding_mask)))
        return self.norm3(x + self.dropout3(self._ffn(x)))
