# Copyright (c) OpenMMLab. All rights reserved.
"""Image reconstruction head: masked-patch MSE (MAE)."""
from typing import Optional

from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ..utils.patch_utils import patchify


@MODELS.register_module()
class PiMAEImageHead(BaseModule):
    """MAE pixel loss on the masked patches (``loss_img``; see
    projects/pimae/docs/original_code.md, 'Image loss').

    Like mmpretrain's ``MAEPretrainHead`` but for rectangular images (its
    ``patchify`` requires square ones): the target is the patchified input
    (layout (p, q, c)), optionally normalised per patch
    (``(t - mean) / sqrt(var + 1e-6)``, unbiased variance), and the loss is
    the per-patch mean squared error averaged over the masked patches only.

    Args:
        patch_size (int): Patch side. Defaults to 16.
        norm_pix (bool): Per-patch normalised targets. Defaults to False
            (the released recipe).
        loss (dict): Element-wise loss config supporting ``weight`` and
            ``avg_factor``. Defaults to
            ``dict(type='mmdet.MSELoss', loss_weight=1.0)``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 patch_size: int = 16,
                 norm_pix: bool = False,
                 loss: dict = dict(type='mmdet.MSELoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.patch_size = patch_size
        self.norm_pix = norm_pix
        self.loss_module = MODELS.build(loss)

    def construct_target(self, imgs: Tensor) -> Tensor:
        """Patchify (and normalise) the input images.

        Args:
            imgs (Tensor): (B, C, H, W) network input images.

        Returns:
            Tensor: (B, L, p * p * C) targets.
        """
        target = patchify(imgs, self.patch_size)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1e-6)**.5
        return target

    def reconstruct(self, pred: Tensor, imgs: Tensor) -> Tensor:
        """Map predictions back to the input's pixel space.

        With ``norm_pix`` the prediction is de-normalised with the mean and
        variance of the corresponding input patch (as MAE's visualisation).

        Args:
            pred (Tensor): (B, L, p * p * C) predicted patches.
            imgs (Tensor): (B, C, H, W) network input images.

        Returns:
            Tensor: (B, L, p * p * C) patches in the input's space.
        """
        if not self.norm_pix:
            return pred
        patches = patchify(imgs, self.patch_size)
        mean = patches.mean(dim=-1, keepdim=True)
        var = patches.var(dim=-1, keepdim=True)
        return pred * (var + 1e-6)**.5 + mean

    def loss(self, pred: Tensor, imgs: Tensor, mask: Tensor) -> Tensor:
        """Masked-patch MSE.

        Args:
            pred (Tensor): (B, L, p * p * C) predicted patches.
            imgs (Tensor): (B, C, H, W) network input images.
            mask (Tensor): (B, L) bool or 0/1, 1 = masked.

        Returns:
            Tensor: Scalar loss, computed in float32 (also under autocast).
        """
        pred = pred.float()
        target = self.construct_target(imgs.float())
        if pred.shape != target.shape:
            raise ValueError(f'predicted patches {tuple(pred.shape)} do not '
                             f'match the target {tuple(target.shape)}')
        weight = mask.to(pred.dtype).unsqueeze(-1)
        return self.loss_module(
            pred,
            target,
            weight=weight,
            avg_factor=weight.sum() * pred.size(-1))
