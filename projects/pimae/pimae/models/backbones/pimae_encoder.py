# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE encoder: tokenizers, masking, specific and shared encoders."""
from typing import Optional, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers import build_vit_layers
from ..utils.config_utils import check_sizes_agree
from ..utils.pimae_structures import (CrossModalMasks, PiMAEEncoderOutput,
                                      PointGroups)
from ..utils.token_gather import batched_gather
from ..utils.weight_init import init_pimae_weights


@MODELS.register_module()
class PiMAEEncoder(BaseModule):
    """The encoder half of PiMAE, the MAE "backbone".

    Flow with masking (the defaults in brackets)::

        points -> FPS/KNN groups [128 x 32] -> mini-PointNet + pos MLP(center)
               + modality_pts_embed -> keep visible groups [52]
               -> pts_encoder (3DETR pre-norm layers) [3]
        image  -> 16x16 patches [352] + sin-cos pos + modality_img_embed
               -> keep visible patches [140] -> img_encoder (ViT blocks) [3]
        [cls, img_vis, pts_vis] -> shared_encoder (3DETR layers) [3]

    Every sub-module config states its own sizes; ``embed_dims`` must equal
    those of the tokenizers and of the encoder layers (checked at build).

    Args:
        pts_tokenizer (dict): Config of :class:`PointGroupTokenizer`.
        img_tokenizer (dict): Config of :class:`ImagePatchTokenizer`.
        masker (dict): Config of :class:`CrossModalMasker`.
        embed_dims (int): Token dimension of both modalities. Defaults to
            256.
        img_encoder (dict): Image-specific ViT blocks of width
            ``embed_dims``: ``num_layers`` (3), ``num_heads`` (4),
            ``mlp_ratio`` (4), ``qkv_bias`` (True), ``drop_path_rate`` (0),
            ``norm_eps`` (1e-6), see :func:`build_vit_layers`.
        pts_encoder (dict): Config of the point-specific
            :class:`DETRStyleEncoder` (3 layers, 4 heads, FFN 128, dropout
            0.1).
        shared_encoder (dict): Config of the shared
            :class:`DETRStyleEncoder` over ``[cls, img_vis, pts_vis]``.
        embed_masked_groups (bool): Run the mini-PointNet over all G groups
            and then drop the masked ones, as the original does (its
            BatchNorm then sees all groups). If False only the visible
            groups are embedded, which saves ~60% of the tokenizer's work;
            BN batch statistics are then over the visible groups.
            Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 pts_tokenizer: dict = dict(type='PointGroupTokenizer'),
                 img_tokenizer: dict = dict(type='ImagePatchTokenizer'),
                 masker: dict = dict(type='CrossModalMasker'),
                 embed_dims: int = 256,
                 img_encoder: dict = dict(num_layers=3, num_heads=4),
                 pts_encoder: dict = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 shared_encoder: dict = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 embed_masked_groups: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.embed_masked_groups = embed_masked_groups
        self.pts_tokenizer = MODELS.build(pts_tokenizer)
        self.img_tokenizer = MODELS.build(img_tokenizer)
        self.masker = MODELS.build(masker)
        self.img_encoder = build_vit_layers(
            **dict(dict(embed_dims=embed_dims), **img_encoder))
        self.pts_encoder = MODELS.build(pts_encoder)
        self.shared_encoder = MODELS.build(shared_encoder)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.modality_img_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.modality_pts_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
        widths = [('pts_tokenizer.embed_dims', self.pts_tokenizer.embed_dims),
                  ('img_tokenizer.embed_dims', self.img_tokenizer.embed_dims),
                  ('img_encoder.embed_dims', self.img_encoder[0].embed_dims
                   if len(self.img_encoder) else embed_dims)]
        for name in ('pts_encoder', 'shared_encoder'):
            for layer in getattr(self, name).layers[:1]:
                widths.append(
                    (f'{name}.layer_cfg.embed_dims', layer.embed_dims))
        check_sizes_agree('PiMAEEncoder',
                          [(name, width, 'embed_dims', embed_dims)
                           for name, width in widths])

    def init_weights(self) -> None:
        """Truncated-normal linears, zero cls / modality tokens (see
        docs/original_code.md, 'Initialisation')."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        for layer in self.img_encoder:
            layer.apply(init_pimae_weights)
        nn.init.zeros_(self.cls_token)
        nn.init.zeros_(self.modality_img_embed)
        nn.init.zeros_(self.modality_pts_embed)

    def _embed_points(self, groups: PointGroups) -> Tensor:
        tokens = self.pts_tokenizer.embed_groups(groups.neighborhood)
        return (tokens + self.pts_tokenizer.embed_pos(groups.center) +
                self.modality_pts_embed)

    def _encode(self, img_tokens: Tensor,
                pts_tokens: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        for layer in self.img_encoder:
            img_tokens = layer(img_tokens)
        pts_tokens = self.pts_encoder(pts_tokens)
        cls = self.cls_token.expand(img_tokens.size(0), -1, -1)
        x = self.shared_encoder(torch.cat([cls, img_tokens, pts_tokens], 1))
        num_img = img_tokens.size(1)
        return x[:, 0], x[:, 1:1 + num_img], x[:, 1 + num_img:]

    def forward(self,
                points: Tensor,
                imgs: Tensor,
                depth2img: Optional[Tensor] = None,
                native_scale: Optional[Tensor] = None,
                mask: bool = True) -> PiMAEEncoderOutput:
        """Encode a batch of paired point clouds and images.

        Args:
            points (Tensor): (B, N, C) points, xyz first.
            imgs (Tensor): (B, 3, H, W) normalised images of the image
                tokenizer's ``img_size``.
            depth2img (Tensor, optional): (B, 3, 3) projection to 1-based
                pixels of ``imgs``; needed by aligned masking and for the
                overlap metric. Defaults to None.
            native_scale (Tensor, optional): (B, 2) resize factors from each
                native image to ``imgs``, for the masker's
                ``compat_norm_size``. Defaults to None.
            mask (bool): Mask the tokens (pre-training) or encode all of them
                (feature extraction). Defaults to True.

        Returns:
            PiMAEEncoderOutput: The latents of the visible (or all) tokens,
            the point groups and, with ``mask=True``, the masks.
        """
        groups = PointGroups(*self.pts_tokenizer.group(points))
        img_tokens = self.img_tokenizer(imgs) + self.modality_img_embed
        if not mask:
            return PiMAEEncoderOutput(
                *self._encode(img_tokens, self._embed_points(groups)),
                groups=groups)
        tokenizer = self.img_tokenizer
        masks = CrossModalMasks(**self.masker(
            groups.center,
            tokenizer.grid_size,
            tokenizer.patch_size,
            depth2img,
            tuple(imgs.shape[-2:]),
            native_scale=native_scale))
        if self.embed_masked_groups:
            pts_tokens = batched_gather(
                self._embed_points(groups), masks.pts_ids_keep)
        else:
            pts_tokens = self._embed_points(groups.select(masks.pts_ids_keep))
        img_tokens = batched_gather(img_tokens, masks.img_ids_keep)
        return PiMAEEncoderOutput(
            *self._encode(img_tokens, pts_tokens), groups=groups, masks=masks)
