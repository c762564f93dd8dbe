# Copyright (c) OpenMMLab. All rights reserved.
"""The PiMAE pre-training algorithm."""
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor

from ..utils.config_utils import with_default
from ..utils.patch_utils import unpatchify
from ..utils.token_gather import batched_gather

SampleList = List[Det3DDataSample]
OptSampleList = Optional[SampleList]


def _sample_name(data_sample: Det3DDataSample, index: int) -> str:
    """A human-readable name of a sample for error messages."""
    for key in ('lidar_path', 'img_path', 'sample_idx'):
        if key in data_sample.metainfo:
            return f'sample {index} ({key}={data_sample.metainfo[key]})'
    return f'sample {index}'


@MODELS.register_module()
class PiMAE(BaseModel):
    """PiMAE: point cloud and image interactive masked autoencoders.

    ``Chen et al., PiMAE: Point Cloud and Image Interactive Masked
    Autoencoders for 3D Object Detection, CVPR 2023``. Structured like
    mmpretrain's MAE: a backbone (:class:`PiMAEEncoder`: tokenizers, masker,
    specific and shared encoders), a neck (:class:`PiMAEDecoder`: joint and
    specific decoders) and three heads (:class:`PiMAEPointHead`,
    :class:`PiMAEImageHead`, :class:`PiMAECrossModalHead`).

    Sizes stated once in the backbone are passed on: the neck's ``in_dims``,
    ``grid_size``, ``patch_size`` and ``in_channels`` and the heads'
    ``in_channels``, ``group_size``, ``patch_size`` and ``feat_channels``
    are filled in when absent and must agree when given.

    Inputs (from the data preprocessor): ``inputs['points']`` a (B, N, C)
    tensor (xyz first) or a list of B (N, C) tensors with equal N, and
    ``inputs['imgs']`` (B, 3, H, W) normalised images of the backbone's
    ``img_size``. Each data sample's metainfo must hold ``depth2img`` (3x3,
    depth frame -> 1-based pixels of the network input image) for ``loss``
    and ``predict``; ``img_shape`` (H, W), when present, must equal the image
    tensor's size.

    Args:
        backbone (dict): :class:`PiMAEEncoder` config.
        neck (dict): :class:`PiMAEDecoder` config.
        pts_head (dict): :class:`PiMAEPointHead` config (``loss_pts``).
        img_head (dict): :class:`PiMAEImageHead` config (``loss_img``).
        cross_head (dict): :class:`PiMAECrossModalHead` config
            (``loss_cross``).
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None (``BaseDataPreprocessor``).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict = dict(type='PiMAEEncoder'),
                 neck: dict = dict(type='PiMAEDecoder'),
                 pts_head: dict = dict(type='PiMAEPointHead'),
                 img_head: dict = dict(type='PiMAEImageHead'),
                 cross_head: dict = dict(type='PiMAECrossModalHead'),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        tokenizer = self.backbone.img_tokenizer
        group_size = self.backbone.pts_tokenizer.group_size
        for key, value in (('in_dims', self.backbone.embed_dims),
                           ('grid_size', tokenizer.grid_size),
                           ('patch_size', tokenizer.patch_size),
                           ('in_channels', tokenizer.in_channels)):
            neck = with_default(neck, key, value, 'neck')
        self.neck = MODELS.build(neck)
        dims = self.neck.embed_dims
        pts_head = with_default(pts_head, 'in_channels', dims, 'pts_head')
        pts_head = with_default(pts_head, 'group_size', group_size, 'pts_head')
        img_head = with_default(img_head, 'patch_size', tokenizer.patch_size,
                                'img_head')
        for key, value in (('in_channels', dims), ('feat_channels', dims),
                           ('group_size', group_size)):
            cross_head = with_default(cross_head, key, value, 'cross_head')
        self.pts_head = MODELS.build(pts_head)
        self.img_head = MODELS.build(img_head)
        self.cross_head = MODELS.build(cross_head)

    # ------------------------------------------------------------------
    # inputs
    # ------------------------------------------------------------------
    @staticmethod
    def _parse_inputs(inputs: dict) -> Tuple[Tensor, Tensor]:
        """Check and stack ``inputs`` into points (B, N, C), imgs."""
        if not isinstance(inputs, dict) or 'points' not in inputs or \
                'imgs' not in inputs:
            keys = list(inputs) if isinstance(inputs, dict) else type(inputs)
            raise ValueError("PiMAE needs inputs = {'points': ..., 'imgs': "
                             f'...}}, got {keys}')
        points = inputs['points']
        if isinstance(points, (list, tuple)):
            shapes = [tuple(p.shape) for p in points]
            if any(len(s) != 2 for s in shapes) or len(set(shapes)) != 1:
                raise ValueError(
                    'all point clouds of a batch must have shape (N, C) with '
                    f'the same N and C (sample a fixed number of points in '
                    f'the pipeline), got {shapes}')
            points = torch.stack(list(points))
        if not isinstance(points, Tensor) or points.dim() != 3 or \
                points.size(-1) < 3:
            shape = tuple(points.shape) if isinstance(points,
                                                      Tensor) else points
            raise ValueError('points must have shape (B, N, C) with C >= 3 '
                             f'(xyz first), got {shape}')
        imgs = inputs['imgs']
        if isinstance(imgs, (list, tuple)):
            shapes = {tuple(img.shape) for img in imgs}
            if len(shapes) != 1:
                raise ValueError('all images of a batch must have the same '
                                 f'shape, got {sorted(shapes)}')
            imgs = torch.stack(list(imgs))
        if not isinstance(imgs, Tensor) or imgs.dim() != 4:
            shape = tuple(imgs.shape) if isinstance(imgs, Tensor) else imgs
            raise ValueError(f'imgs must have shape (B, C, H, W), got {shape}')
        if imgs.size(0) != points.size(0):
            raise ValueError(f'{points.size(0)} point clouds but '
                             f'{imgs.size(0)} images in the batch')
        return points, imgs

    def _check_image_size(self, imgs: Tensor) -> None:
        tokenizer = self.backbone.img_tokenizer
        height, width = imgs.shape[-2:]
        if height % tokenizer.patch_size or width % tokenizer.patch_size:
            raise ValueError(
                f'image size {(height, width)} is not divisible by the patch '
                f'size {tokenizer.patch_size}')
        tokenizer.check_images(imgs)

    def _parse_metainfo(
            self, data_samples: OptSampleList, imgs: Tensor,
            require_depth2img: bool) -> Tuple[Optional[Tensor], tuple]:
        """Collect ``depth2img`` (B, 3, 3) and the common ``img_shape``."""
        img_shape = tuple(imgs.shape[-2:])
        if data_samples is None:
            if require_depth2img:
                raise ValueError('PiMAE needs data_samples with depth2img in '
                                 'their metainfo, got None')
            return None, img_shape
        if len(data_samples) != imgs.size(0):
            raise ValueError(f'{len(data_samples)} data samples for a batch '
                             f'of {imgs.size(0)}')
        matrices = []
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            if 'img_shape' in meta and \
                    tuple(meta['img_shape'][:2]) != img_shape:
                raise ValueError(
                    f'{_sample_name(sample, i)}: img_shape '
                    f'{tuple(meta["img_shape"][:2])} differs from the image '
                    f'tensor size {img_shape}; depth2img must refer to the '
                    'network input image')
            if 'depth2img' not in meta:
                if require_depth2img:
                    raise ValueError(
                        f'{_sample_name(sample, i)} has no depth2img in its '
                        f'metainfo (keys: {sorted(meta)})')
                return None, img_shape
            matrix = np.asarray(
                meta['depth2img'].cpu() if isinstance(
                    meta['depth2img'], Tensor) else meta['depth2img'],
                dtype=np.float32)
            if matrix.shape != (3, 3):
                raise ValueError(f'{_sample_name(sample, i)}: depth2img must '
                                 f'be 3x3, got shape {matrix.shape}')
            matrices.append(matrix)
        depth2img = torch.from_numpy(np.stack(matrices)).to(imgs.device)
        return depth2img, img_shape

    def _prepare(self, inputs: dict, data_samples: OptSampleList,
                 require_depth2img: bool) -> tuple:
        points, imgs = self._parse_inputs(inputs)
        self._check_image_size(imgs)
        depth2img, img_shape = self._parse_metainfo(data_samples, imgs,
                                                    require_depth2img)
        return points, imgs, depth2img, img_shape

    # ------------------------------------------------------------------
    # forward passes
    # ------------------------------------------------------------------
    def _forward_masked(self, points: Tensor, imgs: Tensor,
                        depth2img: Optional[Tensor],
                        img_shape: tuple) -> Dict[str, Tensor]:
        """Encode with masking, decode and predict both modalities."""
        enc = self.backbone(points, imgs, depth2img, img_shape, mask=True)
        img_pred, img_feat, pts_feat = self.neck(
            enc['img_latent'], enc['pts_latent'], enc['img_ids_restore'],
            enc['center'], enc['pts_ids_keep'], enc['pts_ids_mask'])
        gt_rel = batched_gather(enc['neighborhood'][..., :3],
                                enc['pts_ids_mask'])
        masked_center = batched_gather(enc['center'], enc['pts_ids_mask'])
        return dict(
            enc,
            img_pred=img_pred,
            img_feat=img_feat,
            pts_feat=pts_feat,
            pts_pred=self.pts_head(pts_feat),
            gt_rel=gt_rel,
            masked_center=masked_center)

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
            ``[cls, all image tokens, all point tokens]``:

            - ``cls_feat`` (B, D): the cls token.
            - ``img_feats`` (B, L, D): image tokens, row-major patch order.
            - ``pts_feats`` (B, G, D): point group tokens, FPS order.
            - ``centers`` (B, G, 3): the group centres.
        """
        points, imgs, _, _ = self._prepare(inputs, data_samples, False)
        enc = self.backbone(points, imgs, mask=False)
        return dict(
            cls_feat=enc['cls_latent'],
            img_feats=enc['img_latent'],
            pts_feats=enc['pts_latent'],
            centers=enc['center'])

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
            are masked in the image).
        """
        points, imgs, depth2img, img_shape = self._prepare(
            inputs, data_samples, True)
        out = self._forward_masked(points, imgs, depth2img, img_shape)
        loss_pts = self.pts_head.loss(out['pts_pred'], out['gt_rel'])
        loss_img = self.img_head.loss(out['img_pred'], imgs, out['img_mask'])
        gt_abs = out['gt_rel'] + out['masked_center'].unsqueeze(2)
        target = self.cross_head.construct_target(out['img_feat'], gt_abs,
                                                  depth2img,
                                                  self.backbone.grid_size,
                                                  img_shape)
        loss_cross = self.cross_head.loss(
            self.cross_head(out['pts_feat']), target)
        return dict(
            loss_pts=loss_pts,
            loss_img=loss_img,
            loss_cross=loss_cross,
            mask_overlap=out['mask_overlap'].detach())

    def predict(self,
                inputs: dict,
                data_samples: OptSampleList = None) -> SampleList:
        """Masked reconstructions for visualisation.

        ``depth2img`` is needed only by the aligned image masking modes.

        Args:
            inputs (dict): ``points`` and ``imgs``, see the class docstring.
            data_samples (list[Det3DDataSample], optional): Input samples;
                new ones are created when None. Defaults to None.

        Returns:
            list[Det3DDataSample]: The input samples, each with a field
            ``reconstruction`` (a ``BaseDataElement`` of detached CPU
            tensors; images are in the network's normalised input space):

            - ``img_input`` (C, H, W): the input image.
            - ``img_pred`` (C, H, W): the prediction for every patch
              (de-normalised per patch when ``norm_pix``).
            - ``img_rec`` (C, H, W): visible patches from the input, masked
              patches from the prediction.
            - ``img_masked`` (C, H, W): the input with masked patches zeroed.
            - ``img_mask`` (h, w) bool patch mask, True = masked.
            - ``pts_centers`` (G, 3) and ``pts_mask`` (G,) bool, True =
              masked group.
            - ``pts_visible`` (V * S, 3): points of the visible groups.
            - ``pts_masked_gt`` (M * S, 3): points of the masked groups.
            - ``pts_masked_pred`` (M * S, 3): their prediction.
            - ``mask_overlap`` (scalar, batch-level; only with depth2img).

            Point coordinates are absolute (depth frame).
        """
        points, imgs, depth2img, img_shape = self._prepare(
            inputs, data_samples, self.backbone.masker.aligned)
        out = self._forward_masked(points, imgs, depth2img, img_shape)
        tokenizer = self.backbone.img_tokenizer
        patch_size, grid_size = tokenizer.patch_size, tokenizer.grid_size
        pred_patches = self.img_head.reconstruct(out['img_pred'], imgs)
        img_pred = unpatchify(pred_patches, patch_size, grid_size)
        patch_mask = out['img_mask'].reshape(-1, 1, *grid_size).to(imgs.dtype)
        pixel_mask = patch_mask.repeat_interleave(
            patch_size, dim=2).repeat_interleave(
                patch_size, dim=3)
        img_rec = imgs * (1 - pixel_mask) + img_pred * pixel_mask
        img_masked = imgs * (1 - pixel_mask)
        centers = out['center']
        visible = batched_gather(out['neighborhood'][..., :3],
                                 out['pts_ids_keep']) + batched_gather(
                                     centers, out['pts_ids_keep']).unsqueeze(2)
        masked_gt = out['gt_rel'] + out['masked_center'].unsqueeze(2)
        masked_pred = out['pts_pred'] + out['masked_center'].unsqueeze(2)

        if data_samples is None:
            data_samples = [Det3DDataSample() for _ in range(imgs.size(0))]
        for i, sample in enumerate(data_samples):
            rec = BaseDataElement(
                img_input=imgs[i].detach().cpu(),
                img_pred=img_pred[i].detach().cpu(),
                img_rec=img_rec[i].detach().cpu(),
                img_masked=img_masked[i].detach().cpu(),
                img_mask=out['img_mask'][i].reshape(grid_size).cpu(),
                pts_centers=centers[i].detach().cpu(),
                pts_mask=out['pts_mask'][i].cpu(),
                pts_visible=visible[i].reshape(-1, 3).detach().cpu(),
                pts_masked_gt=masked_gt[i].reshape(-1, 3).detach().cpu(),
                pts_masked_pred=masked_pred[i].reshape(-1, 3).detach().cpu())
            if out['mask_overlap'] is not None:
                rec.mask_overlap = out['mask_overlap'].detach().cpu()
            sample.reconstruction = rec
        return data_samples

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
            dict | list[Det3DDataSample]: The losses (mode 'loss'), the
            samples with reconstructions ('predict') or the unmasked encoder
            features ('tensor', see :meth:`extract_feat`).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; PiMAE supports "loss", '
                           '"predict" and "tensor"')
