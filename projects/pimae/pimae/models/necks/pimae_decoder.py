# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE decoders: joint decoder plus image- and point-specific decoders."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from ..layers import build_vit_layers
from ..utils.pimae_structures import (MODALITIES, PiMAEDecoderOutput,
                                      parse_modalities)
from ..utils.position_embedding import build_2d_sincos_pos_embed
from ..utils.token_gather import batched_gather
from ..utils.weight_init import init_pimae_weights


@MODELS.register_module()
class PiMAEDecoder(BaseModule):
    """The decoder half of PiMAE, the MAE "neck".

    Flow (defaults in brackets)::

        img_latent -> img_decoder_embed [256->192] -> + mask tokens
            -> unshuffle -> + sin-cos pos + modality_img_embed      [352]
        pts_latent -> pts_decoder_embed -> [visible, mask tokens]
            -> + pos MLP(centres, same order) + modality_pts_embed  [128]
        joint_layers over [img, pts] [1 ViT block] -> joint_norm
            (skipped entirely when joint_depth == 0)
        img: + sin-cos pos again -> img_decoder_layers [2] -> img_decoder_norm
            = img_feat -> img_decoder_pred [192 -> 16*16*3]
        pts: pts_decoder_layers [2], each fed x + pos (Point-MAE decoder,
            no qkv bias, drop path 0..0.1) -> pts_decoder_norm on the masked
            tokens = pts_feat

    With one modality (``modalities=('points',)`` or ``('images',)``, as
    the encoder's) only that branch is built; the joint layers, if any, then
    run over that modality's tokens alone, and the sizes of the absent
    branch (``grid_size``, ``patch_size``, ``img_channels``, ``img_*`` or
    ``pts_*``, ``pos_hidden_dims``) are not used.

    Args:
        modalities (Sequence[str]): ``'points'`` and / or ``'images'``.
            Defaults to both.
        in_channels (int): Width of the encoder tokens it receives.
            Defaults to 256.
        embed_dims (int): Decoder dimension. Defaults to 192.
        grid_size (Sequence[int]): Image patch grid (h, w). Defaults to
            (16, 22).
        patch_size (int): Image patch side. Defaults to 16.
        img_channels (int): Image channels to predict. Defaults to 3.
        joint_depth (int): Joint decoder blocks; 0 skips the joint stage.
            Defaults to 1.
        joint_num_heads (int): Defaults to 3.
        img_depth (int): Image-specific decoder blocks. Defaults to 2.
        img_num_heads (int): Defaults to 3.
        pts_depth (int): Point-specific decoder blocks. Defaults to 2.
        pts_num_heads (int): Defaults to 3.
        pts_drop_path_rate (float): Largest drop-path rate of the point
            decoder. Defaults to 0.1.
        mlp_ratio (float): FFN ratio of all decoder blocks. Defaults to 4.
        pos_hidden_dims (int): Hidden width of the point decoder's position
            MLP ``3 -> pos_hidden_dims -> embed_dims``. Defaults to 128.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 modalities: Sequence[str] = MODALITIES,
                 in_channels: int = 256,
                 embed_dims: int = 192,
                 grid_size: Sequence[int] = (16, 22),
                 patch_size: int = 16,
                 img_channels: int = 3,
                 joint_depth: int = 1,
                 joint_num_heads: int = 3,
                 img_depth: int = 2,
                 img_num_heads: int = 3,
                 pts_depth: int = 2,
                 pts_num_heads: int = 3,
                 pts_drop_path_rate: float = 0.1,
                 mlp_ratio: float = 4.,
                 pos_hidden_dims: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.modalities = parse_modalities('PiMAEDecoder', modalities)
        self.with_images = 'images' in self.modalities
        self.with_points = 'points' in self.modalities
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.grid_size = tuple(int(s) for s in grid_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.patch_size = patch_size
        self.img_channels = img_channels

        if self.with_images:  # image pre-decoder
            self.img_decoder_embed = nn.Linear(in_channels, embed_dims)
            self.img_mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.register_buffer(
                'img_decoder_pos_embed',
                build_2d_sincos_pos_embed(self.grid_size, embed_dims))
            self.modality_img_embed = nn.Parameter(
                torch.zeros(1, 1, embed_dims))
        if self.with_points:  # point pre-decoder
            self.pts_decoder_embed = nn.Linear(in_channels, embed_dims)
            self.pts_mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.pts_decoder_pos_embed = nn.Sequential(
                nn.Linear(3, pos_hidden_dims), nn.GELU(),
                nn.Linear(pos_hidden_dims, embed_dims))
            self.modality_pts_embed = nn.Parameter(
                torch.zeros(1, 1, embed_dims))
        # joint decoder
        self.joint_depth = joint_depth
        self.joint_layers = build_vit_layers(joint_depth, embed_dims,
                                             joint_num_heads, mlp_ratio)
        self.joint_norm = nn.LayerNorm(
            embed_dims, eps=1e-6) if joint_depth > 0 else None
        if self.with_images:  # image-specific decoder
            self.img_decoder_layers = build_vit_layers(
                img_depth, embed_dims, img_num_heads, mlp_ratio)
            self.img_decoder_norm = nn.LayerNorm(embed_dims, eps=1e-6)
            self.img_decoder_pred = nn.Linear(embed_dims,
                                              patch_size**2 * img_channels)
        if self.with_points:  # point-specific decoder (Point-MAE's)
            self.pts_decoder_layers = build_vit_layers(
                pts_depth,
                embed_dims,
                pts_num_heads,
                mlp_ratio,
                qkv_bias=False,
                drop_path_rate=pts_drop_path_rate,
                norm_eps=1e-5)
            self.pts_decoder_norm = nn.LayerNorm(embed_dims, eps=1e-5)

    def init_weights(self) -> None:
        """Truncated-normal linears, LN 1/0, N(0, .02) image mask token,
        truncated-normal point mask token, zero modality embeds (see
        docs/original_code.md, 'Initialisation')."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        self.apply(init_pimae_weights)
        if self.with_images:
            nn.init.normal_(self.img_mask_token, std=.02)
            nn.init.zeros_(self.modality_img_embed)
        if self.with_points:
            trunc_normal_(self.pts_mask_token, std=.02)
            nn.init.zeros_(self.modality_pts_embed)

    def _check_inputs(self, **inputs: Optional[Tensor]) -> None:
        for name, value in inputs.items():
            modality = 'images' if name.startswith('img') else 'points'
            if (modality in self.modalities) != (value is not None):
                raise ValueError(
                    f'PiMAEDecoder with modalities={self.modalities!r} '
                    f'{"needs" if value is None else "takes no"} {name}')

    def _embed_images(self, img_latent: Tensor,
                      img_ids_restore: Tensor) -> Tensor:
        """(B, L, embed_dims) image tokens in patch order, mask tokens in."""
        batch_size, num_visible = img_latent.shape[:2]
        if img_ids_restore.size(1) != self.num_patches:
            raise ValueError(
                f'the decoder is configured for {self.num_patches} patches '
                f'(grid_size={self.grid_size}) but the masker produced '
                f'{img_ids_restore.size(1)}')
        x_img = self.img_decoder_embed(img_latent)
        mask_tokens = self.img_mask_token.expand(
            batch_size, self.num_patches - num_visible, -1)
        x_img = batched_gather(
            torch.cat([x_img, mask_tokens], dim=1), img_ids_restore)
        return x_img + self.img_decoder_pos_embed + self.modality_img_embed

    def _embed_points(self, pts_latent: Tensor, center: Tensor,
                      pts_ids_keep: Tensor,
                      pts_ids_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, G, embed_dims) point tokens as [visible, masked] and their
        position embedding in the same order."""
        batch_size, num_masked = pts_ids_mask.shape
        x_pts = self.pts_decoder_embed(pts_latent)
        x_pts = torch.cat(
            [x_pts,
             self.pts_mask_token.expand(batch_size, num_masked, -1)],
            dim=1)
        center_full = batched_gather(
            center, torch.cat([pts_ids_keep, pts_ids_mask], dim=1))
        pos_full = self.pts_decoder_pos_embed(center_full)
        return x_pts + pos_full + self.modality_pts_embed, pos_full

    def _joint(self, tokens: List[Tensor]) -> List[Tensor]:
        """The joint layers over the concatenated tokens of the modalities;
        nothing when ``joint_depth == 0``."""
        if self.joint_depth == 0:
            return tokens
        x = torch.cat(tokens, dim=1)
        for layer in self.joint_layers:
            x = layer(x)
        return list(
            self.joint_norm(x).split([t.size(1) for t in tokens], dim=1))

    def forward(self,
                img_latent: Optional[Tensor],
                pts_latent: Optional[Tensor],
                img_ids_restore: Optional[Tensor],
                center: Optional[Tensor],
                pts_ids_keep: Optional[Tensor],
                pts_ids_mask: Optional[Tensor]) -> PiMAEDecoderOutput:
        """Decode the visible tokens of both modalities (or of the one the
        decoder has; the other's inputs are None).

        Args:
            img_latent (Tensor, optional): (B, L_vis, in_channels) encoded
                visible patches.
            pts_latent (Tensor, optional): (B, V, in_channels) encoded
                visible groups.
            img_ids_restore (Tensor, optional): (B, L) unshuffle indices of
                the masker.
            center (Tensor, optional): (B, G, 3) all group centres.
            pts_ids_keep (Tensor, optional): (B, V) visible group indices.
            pts_ids_mask (Tensor, optional): (B, M) masked group indices.

        Returns:
            PiMAEDecoderOutput: ``img_pred`` (B, L, p * p * C) predicted
            patches in patch order; ``img_feat`` (B, L, embed_dims) image
            decoder features after ``img_decoder_norm`` (the cross-modal
            target); ``pts_feat`` (B, M, embed_dims) normalised features of
            the masked groups, in the order of ``pts_ids_mask``. None for
            an absent modality.
        """
        self._check_inputs(
            img_latent=img_latent,
            img_ids_restore=img_ids_restore,
            pts_latent=pts_latent,
            center=center,
            pts_ids_keep=pts_ids_keep,
            pts_ids_mask=pts_ids_mask)
        tokens = []
        if self.with_images:
            tokens.append(self._embed_images(img_latent, img_ids_restore))
        if self.with_points:
            x_pts, pos_full = self._embed_points(pts_latent, center,
                                                 pts_ids_keep, pts_ids_mask)
            tokens.append(x_pts)
        tokens = self._joint(tokens)
        output = PiMAEDecoderOutput()
        if self.with_images:  # image-specific decoder
            x_img = tokens[0] + self.img_decoder_pos_embed
            for layer in self.img_decoder_layers:
                x_img = layer(x_img)
            img_feat = self.img_decoder_norm(x_img)
            output = output._replace(
                img_pred=self.img_decoder_pred(img_feat), img_feat=img_feat)
        if self.with_points:  # point-specific decoder
            x_pts = tokens[-1]
            for layer in self.pts_decoder_layers:
                x_pts = layer(x_pts + pos_full)
            output = output._replace(pts_feat=self.pts_decoder_norm(
                x_pts[:, -pts_ids_mask.size(1):]))
        return output
