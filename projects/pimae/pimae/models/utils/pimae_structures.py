# Copyright (c) OpenMMLab. All rights reserved.
"""The small typed structures that PiMAE's parts hand to each other, and
the names of its modalities."""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from torch import Tensor

from .token_gather import batched_gather


class PiMAEInputs(NamedTuple):
    """A batch as PiMAE uses it.

    Attributes:
        points (Tensor, optional): (B, N, C) points, xyz first; None for a
            model without a point branch.
        imgs (Tensor, optional): (B, 3, H, W) normalised images; None for a
            model without an image branch.
        depth2img (Tensor, optional): (B, 3, 3) projections to 1-based
            pixels of the network input; None when not needed and absent.
        native_scale (Tensor, optional): (B, 2) resize factors ``(sx, sy)``
            from each native image to the network input, for the
            ``compat_norm_shape`` options only.
    """
    points: Optional[Tensor]
    imgs: Optional[Tensor]
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

    A model with one modality has the masks of that one only; the fields of
    the other (and the cross-modal ``flagged_patches`` / ``mask_overlap``)
    are None.

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
    pts_mask: Optional[Tensor] = None
    pts_ids_keep: Optional[Tensor] = None
    pts_ids_mask: Optional[Tensor] = None
    img_mask: Optional[Tensor] = None
    img_ids_keep: Optional[Tensor] = None
    img_ids_restore: Optional[Tensor] = None
    flagged_patches: Optional[Tensor] = None
    mask_overlap: Optional[Tensor] = None


class PiMAEEncoderOutput(NamedTuple):
    """Output of :class:`PiMAEEncoder`.

    The fields of a modality the encoder has no branch for are None.

    Attributes:
        cls_latent (Tensor, optional): (B, D) the cls token; None when the
            shared encoder has no layers (the encoder then has no cls
            token).
        img_latent (Tensor): (B, L_vis, D) encoded visible patches (all L
            patches, row-major, without masking).
        pts_latent (Tensor): (B, V, D) encoded visible groups (all G
            groups, FPS order, without masking).
        groups (PointGroups, optional): All G groups of the tokenizer.
        masks (CrossModalMasks, optional): The masks; None without masking.
    """
    cls_latent: Optional[Tensor]
    img_latent: Optional[Tensor]
    pts_latent: Optional[Tensor]
    groups: Optional[PointGroups] = None
    masks: Optional[CrossModalMasks] = None


class PiMAEDecoderOutput(NamedTuple):
    """Output of :class:`PiMAEDecoder`.

    The fields of a modality the decoder has no branch for are None.

    Attributes:
        img_pred (Tensor): (B, L, p * p * C) predicted patches, patch order.
        img_feat (Tensor): (B, L, D') image decoder features after its norm
            (the cross-modal target).
        pts_feat (Tensor): (B, M, D') normalised features of the masked
            groups, in the order of ``pts_ids_mask``.
    """
    img_pred: Optional[Tensor] = None
    img_feat: Optional[Tensor] = None
    pts_feat: Optional[Tensor] = None


#: The modalities a PiMAE model can have a branch for, in token order.
MODALITIES = ('points', 'images')


def parse_modalities(owner: str, modalities: Sequence[str]) -> Tuple[str, ...]:
    """Check a ``modalities`` option and put it in :data:`MODALITIES` order.

    Args:
        owner (str): The module that reads the option, for the message.
        modalities (Sequence[str]): Some of ``'points'`` and ``'images'``.

    Returns:
        tuple[str, ...]: The modalities, without repeats, in the order of
        :data:`MODALITIES`.
    """
    if isinstance(modalities, str):
        modalities = (modalities, )
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities:
        raise ValueError(f'{owner}: modalities must be a non-empty subset of '
                         f'{MODALITIES}, got {tuple(modalities)!r}')
    return tuple(m for m in MODALITIES if m in modalities)


def check_branch_configs(owner: str, modalities: Sequence[str],
                         configs: Dict[str, Dict[str, Optional[dict]]],
                         prefix: str = '') -> None:
    """Check that exactly the branches of ``modalities`` are configured.

    Args:
        owner (str): The module whose config it is, for the message.
        modalities (Sequence[str]): The modalities the module has.
        configs (dict[str, dict[str, dict | None]]): For each modality of
            :data:`MODALITIES`, its sub-module configs by key; a present
            modality needs all of them, an absent one none (None).
        prefix (str): Prefix of the keys in the message, e.g.
            ``'backbone.'``. Defaults to ''.
    """
    for modality, branch in configs.items():
        for key, cfg in branch.items():
            if modality in modalities and cfg is None:
                raise ValueError(
                    f'{owner}: modalities={tuple(modalities)!r} has a '
                    f'{modality} branch, so {prefix}{key} must be set')
            if modality not in modalities and cfg is not None:
                raise ValueError(
                    f'{owner}: modalities={tuple(modalities)!r} has no '
                    f'{modality} branch, so {prefix}{key} must be None, got '
                    f'{cfg!r}')
