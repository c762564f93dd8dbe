# Copyright (c) OpenMMLab. All rights reserved.
"""Pack PiMAE's masked reconstructions into data samples for drawing."""
from typing import List, Optional, Sequence

from mmengine.structures import BaseDataElement
from torch import Tensor

from mmdet3d.structures import Det3DDataSample


def pack_reconstructions(
    imgs: Tensor,
    img_pred: Tensor,
    img_mask: Tensor,
    pts_visible: Tensor,
    pts_masked_gt: Tensor,
    pts_masked_pred: Tensor,
    pts_centers: Tensor,
    pts_mask: Tensor,
    mask_overlap: Optional[Tensor] = None,
    data_samples: Optional[Sequence[Det3DDataSample]] = None
) -> List[Det3DDataSample]:
    """Put one ``reconstruction`` field on each sample of a batch.

    Args:
        imgs (Tensor): (B, C, H, W) input images (network space).
        img_pred (Tensor): (B, C, H, W) predicted images, every patch.
        img_mask (Tensor): (B, h, w) bool patch mask, True = masked.
        pts_visible (Tensor): (B, V, S, 3) absolute points of the visible
            groups.
        pts_masked_gt (Tensor): (B, M, S, 3) absolute points of the masked
            groups.
        pts_masked_pred (Tensor): (B, M, S', 3) their absolute prediction.
        pts_centers (Tensor): (B, G, 3) all group centres.
        pts_mask (Tensor): (B, G) bool, True = masked group.
        mask_overlap (Tensor, optional): Scalar overlap metric of the batch.
        data_samples (Sequence[Det3DDataSample], optional): The samples to
            fill; new ones are created when None.

    Returns:
        list[Det3DDataSample]: The samples, each with ``reconstruction``, a
        ``BaseDataElement`` of detached CPU tensors: ``img_input``,
        ``img_pred``, ``img_rec`` (visible patches from the input, masked
        ones predicted), ``img_masked`` (masked patches zeroed), all
        (C, H, W); ``img_mask`` (h, w); ``pts_centers`` (G, 3), ``pts_mask``
        (G,); ``pts_visible`` (V * S, 3), ``pts_masked_gt`` (M * S, 3),
        ``pts_masked_pred`` (M * S', 3); and ``mask_overlap`` when given.
    """
    patch_size = imgs.size(-1) // img_mask.size(-1)
    pixel_mask = img_mask.unsqueeze(1).to(imgs.dtype).repeat_interleave(
        patch_size, dim=2).repeat_interleave(
            patch_size, dim=3)
    fields = dict(
        img_input=imgs,
        img_pred=img_pred,
        img_rec=imgs * (1 - pixel_mask) + img_pred * pixel_mask,
        img_masked=imgs * (1 - pixel_mask),
        img_mask=img_mask,
        pts_centers=pts_centers,
        pts_mask=pts_mask,
        pts_visible=pts_visible.flatten(1, 2),
        pts_masked_gt=pts_masked_gt.flatten(1, 2),
        pts_masked_pred=pts_masked_pred.flatten(1, 2))
    if data_samples is None:
        data_samples = [Det3DDataSample() for _ in range(imgs.size(0))]
    for i, sample in enumerate(data_samples):
        rec = BaseDataElement(**{
            key: value[i].detach().cpu()
            for key, value in fields.items()
        })
        if mask_overlap is not None:
            rec.mask_overlap = mask_overlap.detach().cpu()
        sample.reconstruction = rec
    return list(data_samples)
