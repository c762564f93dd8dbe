# Copyright (c) OpenMMLab. All rights reserved.
"""The small typed structures that PiMAE's parts hand to each other."""
from typing import NamedTuple, Optional

from torch import Tensor

from .token_gather import batched_gather


class PiMAEInputs(NamedTuple):
    """A batch as PiMAE uses it.

    Attributes:
        points (Tensor): (B, N, C) points, xyz first.
        imgs (Tensor): (B, 3, H, W) normalised images.
        depth2img (Tensor, optional): (B, 3, 3) projections to 1-based
            pixels of the network input; None when not needed and absent.
        native_scale (Tensor, optional): (B, 2) resize factors ``(sx, sy)``
            from each native image to the network input, for the
            ``compat_norm_size`` options only.
    """
    points: Tensor
    imgs: Tensor
    depth2img: Optional[Tensor] = None
    native_scale: Optional[Tensor] = None


class PointGroups(NamedTuple):
    """Point groups of the point tokenizer.

    Attributes:
        neighborhood (Tensor): (B, G, S, C) points of each group, xyz
            relative to the group centre first, KNN rank order (centre
            first).
        center (Tensor): (B, G, 3) absolute group centres (depth frame).
    """
    neighborhood: Tensor
    center: Tensor

    def select(self, ids: Tensor) -> 'PointGroups':
        """The groups ``ids`` (B, K) of each sample, in that order."""
        return PointGroups(
            batched_gather(self.neighborhood, ids),
            batched_gather(self.center, ids))

    def relative_xyz(self) -> Tensor:
        """(B, G, S, 3) centre-relative xyz of the group points."""
        return self.neighborhood[..., :3]

    def absolute_xyz(self) -> Tensor:
        """(B, G, S, 3) absolute xyz (depth frame) of the group points."""
        return self.neighborhood[..., :3] + self.center.unsqueeze(2)


class CrossModalMasks(NamedTuple):
    """Masks of both modalities (see ``CrossModalMasker.forward``).

    Attributes:
        pts_mask (Tensor): (B, G) bool, True = masked group.
        pts_ids_keep (Tensor): (B, V) visible group indices, ascending.
        pts_ids_mask (Tensor): (B, M) masked group indices, ascending.
        img_mask (Tensor): (B, L) bool, True = masked patch.
        img_ids_keep (Tensor): (B, L_vis) visible patches in encoder order.
        img_ids_restore (Tensor): (B, L) inverse permutation that puts
            ``[visible tokens, mask tokens]`` back in patch order.
        flagged_patches (Tensor, optional): (B, L) bool patches holding a
            projected masked centre; None without ``depth2img``.
        mask_overlap (Tensor, optional): Scalar fraction of flagged patches
            masked in the image; None without ``depth2img``.
    """
    pts_mask: Tensor
    pts_ids_keep: Tensor
    pts_ids_mask: Tensor
    img_mask: Tensor
    img_ids_keep: Tensor
    img_ids_restore: Tensor
    flagged_patches: Optional[Tensor] = None
    mask_overlap: Optional[Tensor] = None


class PiMAEEncoderOutput(NamedTuple):
    """Output of :class:`PiMAEEncoder`.

    Attributes:
        cls_latent (Tensor): (B, D) the cls token.
        img_latent (Tensor): (B, L_vis, D) encoded visible patches (all L
            patches, row-major, without masking).
        pts_latent (Tensor): (B, V, D) encoded visible groups (all G
            groups, FPS order, without masking).
        groups (PointGroups): All G groups of the tokenizer.
        masks (CrossModalMasks, optional): The masks; None without masking.
    """
    cls_latent: Tensor
    img_latent: Tensor
    pts_latent: Tensor
    groups: PointGroups
    masks: Optional[CrossModalMasks] = None


class PiMAEDecoderOutput(NamedTuple):
    """Output of :class:`PiMAEDecoder`.

    Attributes:
        img_pred (Tensor): (B, L, p * p * C) predicted patches, patch order.
        img_feat (Tensor): (B, L, D') image decoder features after its norm
            (the cross-modal target).
        pts_feat (Tensor): (B, M, D') normalised features of the masked
            groups, in the order of ``pts_ids_mask``.
    """
    img_pred: Tensor
    img_feat: Tensor
    pts_feat: Tensor
