# Copyright (c) OpenMMLab. All rights reserved.
"""The PiMAE pre-training algorithm."""
from typing import Dict, Optional, Union

from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import OptSampleList, SampleList
from mmengine.model import BaseModel
from torch import Tensor

from ...visualization import pack_reconstructions
from ..data_preprocessors.pimae_data_preprocessor import unpack_inputs
from ..utils.patch_utils import unpatchify
from ..utils.pimae_structures import (PiMAEDecoderOutput, PiMAEEncoderOutput,
                                      PiMAEInputs)
from .pimae_parts import check_pimae_parts, check_pimae_sizes


@MODELS.register_module()
class PiMAE(BaseModel):
    """PiMAE: point cloud and image interactive masked autoencoders.

    ``Chen et al., PiMAE: Point Cloud and Image Interactive Masked
    Autoencoders for 3D Object Detection, CVPR 2023``. Structured like
    mmpretrain's MAE: a backbone (:class:`PiMAEEncoder`: tokenizers, masker,
    specific and shared encoders), a neck (:class:`PiMAEDecoder`: joint and
    specific decoders) and three heads (:class:`PiMAEPointHead`,
    :class:`PiMAEImageHead`, :class:`PiMAECrossModalHead`).

    Each part is built from its config as written (the dumped config is the
    model); sizes that must agree across parts are checked at build time.

    Ablations: ``cross_head=None`` drops the cross-modal loss; backbone and
    neck ``modalities=('points',)`` (no image parts) pre-train on points
    alone like Point-MAE, ``('images',)`` on images alone like MAE; the
    inputs then hold that modality only and ``depth2img`` is not read.

    Inputs, checked by :class:`PiMAEDataPreprocessor` (batch) and the
    pipeline (``CheckDepth2Img``, per sample): ``inputs['points']`` (B, N,
    C), xyz first, ``inputs['imgs']`` (B, 3, H, W) normalised images of the
    image tokenizer's ``img_size``; each sample's ``depth2img`` (3x3, depth
    frame -> 1-based network-input pixels), and ``ori_shape`` for the
    ``compat_norm_shape`` options.

    Args:
        backbone (dict): :class:`PiMAEEncoder` config.
        neck (dict): :class:`PiMAEDecoder` config.
        pts_head (dict, optional): :class:`PiMAEPointHead` config
            (``loss_pts``); None exactly without points.
        img_head (dict, optional): :class:`PiMAEImageHead` config
            (``loss_img``); None exactly without images.
        cross_head (dict, optional): :class:`PiMAECrossModalHead` config
            (``loss_cross``); None for no cross-modal loss.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None (``BaseDataPreprocessor``).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict = dict(type='PiMAEEncoder'),
                 neck: dict = dict(type='PiMAEDecoder'),
                 pts_head: Optional[dict] = dict(type='PiMAEPointHead'),
                 img_head: Optional[dict] = dict(type='PiMAEImageHead'),
                 cross_head: Optional[dict] = dict(
                     type='PiMAECrossModalHead'),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        check_pimae_parts(self.backbone, self.neck, pts_head, img_head,
                          cross_head)
        self.pts_head, self.img_head, self.cross_head = (
            None if cfg is None else MODELS.build(cfg)
            for cfg in (pts_head, img_head, cross_head))
        check_pimae_sizes(self)

    def _unpack(self, inputs: dict, data_samples: OptSampleList,
                need_depth2img: bool) -> PiMAEInputs:
        compat = (self.backbone.masker.compat_norm_shape,
                  getattr(self.cross_head, 'compat_norm_shape', None))
        return unpack_inputs(
            inputs, data_samples,
            getattr(self.backbone.img_tokenizer, 'img_size', None),
            need_depth2img, any(size is not None for size in compat),
            self.backbone.modalities)

    def _decode(self, enc: PiMAEEncoderOutput) -> PiMAEDecoderOutput:
        masks = enc.masks
        center = None if enc.groups is None else enc.groups.center
        return self.neck(enc.img_latent, enc.pts_latent, masks.img_ids_restore,
                         center, masks.pts_ids_keep, masks.pts_ids_mask)

    def extract_feat(self,
                     inputs: dict,
                     data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """Encode all tokens of both modalities (no masking).

        Args:
            inputs (dict): ``points`` and ``imgs``, see the class docstring.
            data_samples (list[Det3DDataSample], optional): Unused except for
                the ``img_shape`` check. Defaults to None.

        Returns:
            dict[str, Tensor]: Outputs of the shared encoder over
            ``[cls, all image tokens, all point tokens]``: ``cls_feat``
            (B, D), ``img_feats`` (B, L, D) in row-major patch order,
            ``pts_feats`` (B, G, D) in FPS order and the group ``centers``
            (B, G, 3); only those the model has (no ``cls_feat`` with a
            shared encoder of 0 layers).
        """
        points, imgs, _, _ = self._unpack(inputs, data_samples, False)
        enc = self.backbone(points, imgs, mask=False)
        feats = dict(
            cls_feat=enc.cls_latent,
            img_feats=enc.img_latent,
            pts_feats=enc.pts_latent,
            centers=None if enc.groups is None else enc.groups.center)
        return {key: feat for key, feat in feats.items() if feat is not None}

    def loss(self, inputs: dict,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Pre-training losses.

        Args:
            inputs (dict): ``points`` and ``imgs``, see the class docstring.
            data_samples (list[Det3DDataSample]): With ``depth2img``.

        Returns:
            dict[str, Tensor]: ``loss_pts`` (Chamfer on masked groups),
            ``loss_img`` (masked-patch MSE), ``loss_cross`` (feature MSE),
            each already weighted, and ``mask_overlap`` (no gradient, logged
            only: the fraction of patches holding a masked point centre that
            are masked in the image); only those of the model's heads
            (``mask_overlap`` with both modalities).
        """
        points, imgs, depth2img, native_scale = self._unpack(
            inputs, data_samples, self.backbone.paired)
        enc = self.backbone(points, imgs, depth2img, native_scale)
        dec, masks, losses = self._decode(enc), enc.masks, dict()
        if self.pts_head is not None:
            masked = enc.groups.select(masks.pts_ids_mask)
            losses['loss_pts'] = self.pts_head.loss(
                self.pts_head(dec.pts_feat), masked.relative_xyz())
        if self.img_head is not None:
            losses['loss_img'] = self.img_head.loss(dec.img_pred, imgs,
                                                    masks.img_mask)
        if self.cross_head is not None:
            losses['loss_cross'] = self.cross_head.loss(
                dec.pts_feat,
                dec.img_feat,
                masked.absolute_xyz(),
                depth2img,
                self.backbone.img_tokenizer.grid_size,
                tuple(imgs.shape[-2:]),
                native_scale=native_scale)
        if masks.mask_overlap is not None:
            losses['mask_overlap'] = masks.mask_overlap.detach()
        return losses

    def predict(self,
                inputs: dict,
                data_samples: OptSampleList = None) -> SampleList:
        """Masked reconstructions for visualisation.

        ``depth2img`` is needed only by the aligned image masking modes.
        Only for models with both modalities (the pictures pair them).

        Args:
            inputs (dict): ``points`` and ``imgs``, see the class docstring.
            data_samples (list[Det3DDataSample], optional): Input samples;
                new ones are created when None. Defaults to None.

        Returns:
            list[Det3DDataSample]: The samples, each with a field
            ``reconstruction`` (see :func:`pack_reconstructions`; images in
            the network's normalised input space, de-normalised per patch
            when ``norm_pix``; point coordinates absolute, depth frame).
        """
        if not self.backbone.paired:
            raise ValueError(
                'PiMAE.predict draws paired reconstructions, but backbone.'
                f'modalities={self.backbone.modalities!r} (the '
                'ReconstructionVisualizationHook skips such models)')
        points, imgs, depth2img, native_scale = self._unpack(
            inputs, data_samples, self.backbone.masker.aligned)
        enc = self.backbone(points, imgs, depth2img, native_scale)
        dec = self._decode(enc)
        masks, tokenizer = enc.masks, self.backbone.img_tokenizer
        masked = enc.groups.select(masks.pts_ids_mask)
        img_pred = unpatchify(
            self.img_head.reconstruct(dec.img_pred, imgs),
            tokenizer.patch_size, tokenizer.grid_size)
        return pack_reconstructions(
            imgs,
            img_pred,
            masks.img_mask.reshape(-1, *tokenizer.grid_size),
            pts_visible=enc.groups.select(masks.pts_ids_keep).absolute_xyz(),
            pts_masked_gt=masked.absolute_xyz(),
            pts_masked_pred=self.pts_head(dec.pts_feat) +
            masked.center.unsqueeze(2),
            pts_centers=enc.groups.center,
            pts_mask=masks.pts_mask,
            mask_overlap=masks.mask_overlap,
            data_samples=data_samples)

    def forward(self,
                inputs: dict,
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], SampleList]:
        """Dispatch to :meth:`loss`, :meth:`predict` or :meth:`extract_feat`.

        Args:
            inputs (dict): ``points`` and ``imgs``.
            data_samples (list[Det3DDataSample], optional): Data samples.
                Defaults to None.
            mode (str): 'loss', 'predict' or 'tensor'. Defaults to 'tensor'.

        Returns:
            dict | list[Det3DDataSample]: :meth:`loss`, :meth:`predict` or
            :meth:`extract_feat`'s output.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; PiMAE supports "loss", '
                           '"predict" and "tensor"')
