# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE encoder: tokenizers, masking, specific and shared encoders."""
from typing import Dict, Optional, Sequence

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers import build_vit_layers
from ..utils.config_utils import with_default
from ..utils.token_gather import batched_gather
from ..utils.weight_init import init_pimae_weights


@MODELS.register_module()
class PiMAEEncoder(BaseModule):
    """The encoder half of PiMAE (spec 2.1 - 2.6), the MAE "backbone".

    Flow with masking (the defaults in brackets)::

        points -> FPS/KNN groups [128 x 32] -> mini-PointNet + pos MLP(center)
               + modality_pts_embed -> keep visible groups [52]
               -> pts_encoder (3DETR pre-norm layers) [3]
        image  -> 16x16 patches [352] + sin-cos pos + modality_img_embed
               -> keep visible patches [140] -> img_encoder (ViT blocks) [3]
        [cls, img_vis, pts_vis] -> shared_encoder (3DETR layers) [3]

    Args:
        pts_tokenizer (dict): Config of :class:`PointGroupTokenizer`.
        img_tokenizer (dict): Config of :class:`ImagePatchTokenizer`.
        masker (dict): Config of :class:`CrossModalMasker`.
        embed_dims (int): Token dimension of both modalities. Defaults to
            256.
        img_encoder (dict): Image-specific ViT blocks: ``num_layers`` (3),
            ``num_heads`` (4), ``mlp_ratio`` (4), ``qkv_bias`` (True),
            ``drop_path_rate`` (0), ``norm_eps`` (1e-6), see
            :func:`build_vit_layers`.
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
        self.pts_tokenizer = MODELS.build(
            with_default(pts_tokenizer, 'embed_dims', embed_dims,
                         'pts_tokenizer'))
        self.img_tokenizer = MODELS.build(
            with_default(img_tokenizer, 'embed_dims', embed_dims,
                         'img_tokenizer'))
        self.masker = MODELS.build(masker)
        self.img_encoder = build_vit_layers(**with_default(
            img_encoder, 'embed_dims', embed_dims, 'img_encoder'))
        self.pts_encoder = MODELS.build(
            self._detr_encoder_cfg(pts_encoder, 'pts_encoder'))
        self.shared_encoder = MODELS.build(
            self._detr_encoder_cfg(shared_encoder, 'shared_encoder'))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.modality_img_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.modality_pts_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))

    def _detr_encoder_cfg(self, cfg: dict, owner: str) -> dict:
        cfg = dict(cfg)
        cfg['layer_cfg'] = with_default(
            cfg.get('layer_cfg', dict()), 'embed_dims', self.embed_dims,
            f'{owner}.layer_cfg')
        return cfg

    @property
    def grid_size(self) -> Sequence[int]:
        """(h, w) of the image patch grid."""
        return self.img_tokenizer.grid_size

    @property
    def patch_size(self) -> int:
        """Image patch side in pixels."""
        return self.img_tokenizer.patch_size

    def init_weights(self) -> None:
        """Spec 2.9: truncated-normal linears, zero cls/modality tokens."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        for layer in self.img_encoder:
            layer.apply(init_pimae_weights)
        nn.init.zeros_(self.cls_token)
        nn.init.zeros_(self.modality_img_embed)
        nn.init.zeros_(self.modality_pts_embed)

    def _embed_images(self, imgs: Tensor) -> Tensor:
        return self.img_tokenizer(imgs) + self.modality_img_embed

    def _embed_points(self, neighborhood: Tensor, center: Tensor) -> Tensor:
        tokens = self.pts_tokenizer.embed_groups(neighborhood)
        return (tokens + self.pts_tokenizer.embed_pos(center) +
                self.modality_pts_embed)

    def _encode(self, img_tokens: Tensor,
                pts_tokens: Tensor) -> Dict[str, Tensor]:
        for layer in self.img_encoder:
            img_tokens = layer(img_tokens)
        pts_tokens = self.pts_encoder(pts_tokens)
        cls = self.cls_token.expand(img_tokens.size(0), -1, -1)
        x = self.shared_encoder(torch.cat([cls, img_tokens, pts_tokens], 1))
        num_img = img_tokens.size(1)
        return dict(
            cls_latent=x[:, 0],
            img_latent=x[:, 1:1 + num_img],
            pts_latent=x[:, 1 + num_img:])

    def forward(self,
                points: Tensor,
                imgs: Tensor,
                depth2img: Optional[Tensor] = None,
                img_shape: Optional[Sequence[int]] = None,
                mask: bool = True) -> Dict[str, Optional[Tensor]]:
        """Encode a batch of paired point clouds and images.

        Args:
            points (Tensor): (B, N, C) points, xyz first.
            imgs (Tensor): (B, 3, H, W) normalised images.
            depth2img (Tensor, optional): (B, 3, 3) projection to 1-based
                pixels of ``imgs``; needed by aligned masking and for the
                overlap metric. Defaults to None.
            img_shape (Sequence[int], optional): (H, W) of ``imgs``.
                Defaults to ``imgs.shape[-2:]``.
            mask (bool): Mask the tokens (pre-training) or encode all of them
                (feature extraction). Defaults to True.

        Returns:
            dict[str, Tensor | None]: ``cls_latent`` (B, D), ``img_latent``
            (B, L_vis, D) and ``pts_latent`` (B, V, D) -- all tokens
            (L_vis = L, V = G) when ``mask=False`` --, ``center``
            (B, G, 3) and ``neighborhood`` (B, G, S, C') from the tokenizer,
            and with ``mask=True`` also the masker's outputs (see
            :meth:`CrossModalMasker.forward`).
        """
        self.img_tokenizer.check_images(imgs)
        if img_shape is None:
            img_shape = tuple(imgs.shape[-2:])
        neighborhood, center = self.pts_tokenizer.group(points)
        if not mask:
            out = self._encode(
                self._embed_images(imgs),
                self._embed_points(neighborhood, center))
            return dict(out, center=center, neighborhood=neighborhood)

        masks = self.masker(center, self.grid_size, self.patch_size, depth2img,
                            img_shape)
        ids_keep = masks['pts_ids_keep']
        if self.embed_masked_groups:
            pts_tokens = batched_gather(
                self._embed_points(neighborhood, center), ids_keep)
        else:
            pts_tokens = self._embed_points(
                batched_gather(neighborhood, ids_keep),
                batched_gather(center, ids_keep))
        img_tokens = batched_gather(
            self._embed_images(imgs), masks['img_ids_keep'])
        out = self._encode(img_tokens, pts_tokens)
        return dict(out, center=center, neighborhood=neighborhood, **masks)
