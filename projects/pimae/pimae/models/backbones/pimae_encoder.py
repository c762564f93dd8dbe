# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE encoder: tokenizers, masking, specific and shared encoders."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers import build_vit_layers
from ..utils.config_utils import check_sizes_agree
from ..utils.cross_modal_masker import split_by_mask
from ..utils.pimae_structures import (MODALITIES, CrossModalMasks,
                                      PiMAEEncoderOutput, PointGroups,
                                      check_branch_configs, parse_modalities)
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

    One modality alone (the paper's point-only and image-only ablations):
    ``modalities=('points',)`` with ``img_tokenizer=None`` and
    ``img_encoder=None`` is a Point-MAE-style encoder, ``('images',)`` with
    ``pts_tokenizer=None`` and ``pts_encoder=None`` an MAE-style one; the
    shared encoder then runs over ``[cls, tokens]`` of that modality, and the
    masker masks that modality only (its image mask must be ``'random'``).
    With a shared encoder of 0 layers there is no cls token (nothing would
    read it) and ``cls_latent`` is None.

    Args:
        modalities (Sequence[str]): ``'points'`` and / or ``'images'``.
            Defaults to both.
        pts_tokenizer (dict, optional): Config of
            :class:`PointGroupTokenizer`; None without points.
        img_tokenizer (dict, optional): Config of
            :class:`ImagePatchTokenizer`; None without images.
        masker (dict): Config of :class:`CrossModalMasker`.
        embed_dims (int): Token dimension of both modalities. Defaults to
            256.
        img_encoder (dict, optional): Image-specific ViT blocks of width
            ``embed_dims``: ``num_layers`` (3), ``num_heads`` (4),
            ``mlp_ratio`` (4), ``qkv_bias`` (True), ``drop_path_rate`` (0),
            ``norm_eps`` (1e-6), see :func:`build_vit_layers`; None without
            images.
        pts_encoder (dict, optional): Config of the point-specific
            :class:`DETRStyleEncoder` (3 layers, 4 heads, FFN 128, dropout
            0.1); None without points.
        shared_encoder (dict): Config of the shared
            :class:`DETRStyleEncoder` over ``[cls, img_vis, pts_vis]``
            (``num_layers=0``: none, the modalities then meet only in the
            joint decoder).
        embed_masked_groups (bool): Run the mini-PointNet over all G groups
            and then drop the masked ones, as the original does (its
            BatchNorm then sees all groups). If False only the visible
            groups are embedded, which saves ~60% of the tokenizer's work;
            BN batch statistics are then over the visible groups.
            Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 modalities: Sequence[str] = MODALITIES,
                 pts_tokenizer: Optional[dict] = dict(
                     type='PointGroupTokenizer'),
                 img_tokenizer: Optional[dict] = dict(
                     type='ImagePatchTokenizer'),
                 masker: dict = dict(type='CrossModalMasker'),
                 embed_dims: int = 256,
                 img_encoder: Optional[dict] = dict(num_layers=3, num_heads=4),
                 pts_encoder: Optional[dict] = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 shared_encoder: dict = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 embed_masked_groups: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.modalities = parse_modalities('PiMAEEncoder', modalities)
        check_branch_configs(
            'PiMAEEncoder', self.modalities,
            dict(
                points=dict(
                    pts_tokenizer=pts_tokenizer, pts_encoder=pts_encoder),
                images=dict(
                    img_tokenizer=img_tokenizer, img_encoder=img_encoder)))
        with_pts, with_img = self.with_points, self.with_images
        self.embed_dims = embed_dims
        self.embed_masked_groups = embed_masked_groups
        self.pts_tokenizer = MODELS.build(pts_tokenizer) if with_pts else None
        self.img_tokenizer = MODELS.build(img_tokenizer) if with_img else None
        self.masker = MODELS.build(masker)
        if self.masker.aligned and not (with_pts and with_img):
            raise ValueError(
                f'PiMAEEncoder: masker.image_mask_type='
                f'{self.masker.image_mask_type!r} aligns the image mask with '
                f'the point mask and needs both modalities, but modalities='
                f'{self.modalities!r}; use image_mask_type=\'random\'')
        self.img_encoder = build_vit_layers(**dict(
            dict(embed_dims=embed_dims), **img_encoder)) if with_img else None
        self.pts_encoder = MODELS.build(pts_encoder) if with_pts else None
        self.shared_encoder = MODELS.build(shared_encoder)
        # a cls token that no shared layer reads would get no gradient
        self.cls_token = self._token(len(self.shared_encoder.layers) > 0)
        self.modality_img_embed = self._token(with_img)
        self.modality_pts_embed = self._token(with_pts)
        widths = []
        if with_pts:
            widths.append(
                ('pts_tokenizer.embed_dims', self.pts_tokenizer.embed_dims))
        if with_img:
            widths += [
                ('img_tokenizer.embed_dims', self.img_tokenizer.embed_dims),
                ('img_encoder.embed_dims', self.img_encoder[0].embed_dims
                 if len(self.img_encoder) else embed_dims)
            ]
        for name in ('pts_encoder', 'shared_encoder'):
            encoder = getattr(self, name)
            for layer in (encoder.layers[:1] if encoder is not None else []):
                widths.append(
                    (f'{name}.layer_cfg.embed_dims', layer.embed_dims))
        check_sizes_agree('PiMAEEncoder',
                          [(name, width, 'embed_dims', embed_dims)
                           for name, width in widths])

    @property
    def with_points(self) -> bool:
        """bool: Whether the encoder has a point branch."""
        return 'points' in self.modalities

    @property
    def with_images(self) -> bool:
        """bool: Whether the encoder has an image branch."""
        return 'images' in self.modalities

    @property
    def paired(self) -> bool:
        """bool: Whether the encoder has both modalities."""
        return self.with_points and self.with_images

    def _token(self, needed: bool) -> Optional[nn.Parameter]:
        """A zero (1, 1, embed_dims) token, or None when not ``needed``."""
        return nn.Parameter(torch.zeros(1, 1,
                                        self.embed_dims)) if needed else None

    def init_weights(self) -> None:
        """Truncated-normal linears, zero cls / modality tokens (see
        docs/original_code.md, 'Initialisation')."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        for layer in self.img_encoder or []:
            layer.apply(init_pimae_weights)
        for token in (self.cls_token, self.modality_img_embed,
                      self.modality_pts_embed):
            if token is not None:
                nn.init.zeros_(token)

    def _embed_points(self, groups: PointGroups) -> Tensor:
        tokens = self.pts_tokenizer.embed_groups(groups.neighborhood)
        return (tokens + self.pts_tokenizer.embed_pos(groups.center) +
                self.modality_pts_embed)

    def _encode(
        self, img_tokens: Optional[Tensor], pts_tokens: Optional[Tensor]
    ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
        """Specific encoders, then the shared one over ``[cls, img, pts]``;
        returns the cls, image and point latents (None where absent)."""
        tokens = []
        if img_tokens is not None:
            for layer in self.img_encoder:
                img_tokens = layer(img_tokens)
            tokens.append(img_tokens)
        if pts_tokens is not None:
            tokens.append(self.pts_encoder(pts_tokens))
        if self.cls_token is not None:
            tokens.insert(
                0, self.cls_token.expand(tokens[0].size(0), -1, -1))
        latents = list(
            self.shared_encoder(torch.cat(tokens, 1)).split(
                [t.size(1) for t in tokens], dim=1))
        cls = latents.pop(0)[:, 0] if self.cls_token is not None else None
        img = latents.pop(0) if img_tokens is not None else None
        pts = latents.pop(0) if pts_tokens is not None else None
        return cls, img, pts

    def mask(self,
             groups: Optional[PointGroups],
             imgs: Optional[Tensor],
             depth2img: Optional[Tensor] = None,
             native_scale: Optional[Tensor] = None) -> CrossModalMasks:
        """Draw the masks of the encoder's modalities.

        Args:
            groups (PointGroups, optional): The point groups (B, G, ...);
                None without points.
            imgs (Tensor, optional): (B, 3, H, W) images; None without
                images.
            depth2img (Tensor, optional): (B, 3, 3), see :meth:`forward`.
            native_scale (Tensor, optional): (B, 2), see :meth:`forward`.

        Returns:
            CrossModalMasks: Both masks (aligned as the masker says), or the
            mask of the one modality with the other's fields None.
        """
        if self.paired:
            tokenizer = self.img_tokenizer
            return CrossModalMasks(**self.masker(
                groups.center,
                tokenizer.grid_size,
                tokenizer.patch_size,
                depth2img,
                tuple(imgs.shape[-2:]),
                native_scale=native_scale))
        if self.with_points:
            pts_mask = self.masker.mask_points(groups.center)
            return CrossModalMasks(pts_mask, *split_by_mask(pts_mask))
        grid_h, grid_w = self.img_tokenizer.grid_size
        img_mask, ids_keep, ids_restore = self.masker.mask_image(
            imgs.size(0), grid_h * grid_w, device=imgs.device)
        return CrossModalMasks(
            img_mask=img_mask,
            img_ids_keep=ids_keep,
            img_ids_restore=ids_restore)

    def _check_inputs(self, points: Optional[Tensor],
                      imgs: Optional[Tensor]) -> None:
        for modality, name, value in (('points', 'points', points),
                                      ('images', 'imgs', imgs)):
            if (modality in self.modalities) != (value is not None):
                raise ValueError(
                    f'PiMAEEncoder with modalities={self.modalities!r} '
                    f'{"needs" if value is None else "takes no"} {name}')

    def forward(self,
                points: Optional[Tensor],
                imgs: Optional[Tensor],
                depth2img: Optional[Tensor] = None,
                native_scale: Optional[Tensor] = None,
                mask: bool = True) -> PiMAEEncoderOutput:
        """Encode a batch of paired point clouds and images (or of one of
        them, for a single-modality encoder).

        Args:
            points (Tensor, optional): (B, N, C) points, xyz first; None
                without a point branch.
            imgs (Tensor, optional): (B, 3, H, W) normalised images of the
                image tokenizer's ``img_size``; None without an image
                branch.
            depth2img (Tensor, optional): (B, 3, 3) projection to 1-based
                pixels of ``imgs``; needed by aligned masking and for the
                overlap metric. Defaults to None.
            native_scale (Tensor, optional): (B, 2) resize factors from each
                native image to ``imgs``, for the masker's
                ``compat_norm_shape``. Defaults to None.
            mask (bool): Mask the tokens (pre-training) or encode all of them
                (feature extraction). Defaults to True.

        Returns:
            PiMAEEncoderOutput: The latents of the visible (or all) tokens,
            the point groups and, with ``mask=True``, the masks (None for an
            absent modality).
        """
        self._check_inputs(points, imgs)
        groups = PointGroups(*self.pts_tokenizer.group(
            points)) if self.with_points else None
        img_tokens = self.img_tokenizer(
            imgs) + self.modality_img_embed if self.with_images else None
        if not mask:
            pts_tokens = None if groups is None else self._embed_points(groups)
            return PiMAEEncoderOutput(
                *self._encode(img_tokens, pts_tokens), groups=groups)
        masks = self.mask(groups, imgs, depth2img, native_scale)
        pts_tokens = None
        if groups is not None and self.embed_masked_groups:
            pts_tokens = batched_gather(
                self._embed_points(groups), masks.pts_ids_keep)
        elif groups is not None:
            pts_tokens = self._embed_points(groups.select(masks.pts_ids_keep))
        if img_tokens is not None:
            img_tokens = batched_gather(img_tokens, masks.img_ids_keep)
        return PiMAEEncoderOutput(
            *self._encode(img_tokens, pts_tokens), groups=groups, masks=masks)
