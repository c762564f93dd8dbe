# Copyright (c) OpenMMLab. All rights reserved.
"""Point and image masking, optionally aligned through the projection."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from ...geometry import pixel_to_patch_index, points_in_image, project_points


def split_by_mask(mask: Tensor,
                  num_masked: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Indices of the kept and of the masked tokens, each ascending.

    Args:
        mask (Tensor): (B, N) bool, True = masked; every row must hold the
            same number of True entries.
        num_masked (int, optional): That number M, when the caller knows it
            (the masker does). Then nothing is read back from the device: a
            wrong count stops at a device-side assertion instead of a host
            synchronisation. None reads it from the first row, a host-device
            synchronisation on a GPU. Defaults to None.

    Returns:
        tuple[Tensor, Tensor]: ids_keep (B, N - M) and ids_mask (B, M), int64.
    """
    if num_masked is None:
        num_masked = int(mask[0].sum())
    elif not 0 <= num_masked <= mask.size(1):
        raise ValueError(
            f'num_masked must be in [0, {mask.size(1)}] for a mask of shape '
            f'{tuple(mask.shape)}, got {num_masked}')
    else:
        torch._assert_async((mask.sum(dim=1) == num_masked).all(),
                            f'split_by_mask: a row does not mask exactly '
                            f'{num_masked} tokens')
    num_keep = mask.size(1) - num_masked
    order = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)
    return order[:, :num_keep], order[:, num_keep:]


@MODELS.register_module()
class CrossModalMasker(BaseModule):
    """Mask point groups and image patches (see
    projects/pimae/docs/original_code.md, 'Masking').

    Points: ``num_masked = int(point_mask_ratio * G)`` groups are masked,
    either at random (``'random'``) or as the ``num_masked`` centres nearest to
    one random centre (``'block'``).

    Image: ``num_keep = int(L * (1 - image_mask_ratio))`` patches stay
    visible (floor of the kept count, the released recipe's
    ``random_masking``: 140 of 352 at ratio 0.6, so 212 masked; the
    original's aligned path used ``ceil`` = 141 instead, see
    docs/original_code.md, 'Masking' -- here every mode keeps the same
    ``num_keep``). Modes:

    - ``'random'``: MAE random masking (what the released config trains).
    - ``'uniform'``: patches that contain a projected *masked* point centre
      ("flagged") are masked first, the remaining masked slots are random.
    - ``'complement'``: flagged patches are kept visible first, the remaining
      visible slots are random (the paper's choice; unreachable in the
      original because of a truthiness bug).

    Each modality masks its own ratio; alignment only sets priorities. The
    achieved overlap (fraction of flagged patches that are masked in the
    image, pooled over the batch) is returned as a metric: about the image
    mask ratio for ``'random'``, 1 for ``'uniform'`` and 0 for
    ``'complement'`` while the flagged patches fit in the masked / visible
    budget.

    Args:
        point_mask_ratio (float): Fraction of groups to mask. Defaults to 0.6.
        point_mask_type (str): ``'random'`` or ``'block'`` (``'rand'``, the
            original's spelling, is read as ``'random'``). Defaults to
            'random'.
        image_mask_ratio (float): Fraction of patches to mask (see the floor
            rule above). Defaults to 0.6.
        image_mask_type (str): ``'random'``, ``'uniform'`` or
            ``'complement'``. Defaults to 'random'.
        noise_scale (float): Uniform noise ``U[0, noise_scale)`` added to the
            0/1 patch flags before sorting in the aligned modes; must be
            <= 1 so that flags dominate. Defaults to 0.5 (the original).
        compat_norm_shape (tuple[float, float], optional): ``(height, width)``
            normaliser of the original's patch lookup, ``(530, 730)``; see
            :func:`pixel_to_patch_index`. It applies to pixels of the native
            image, so :meth:`forward` then needs the per-sample resize
            factors ``native_scale``. Defaults to None (exact geometry).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    POINT_MASK_TYPES = ('random', 'block')
    IMAGE_MASK_TYPES = ('random', 'uniform', 'complement')

    def __init__(self,
                 point_mask_ratio: float = 0.6,
                 point_mask_type: str = 'random',
                 image_mask_ratio: float = 0.6,
                 image_mask_type: str = 'random',
                 noise_scale: float = 0.5,
                 compat_norm_shape: Optional[Tuple[float, float]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if point_mask_type == 'rand':  # the original's (and old configs')
            point_mask_type = 'random'
        if point_mask_type not in self.POINT_MASK_TYPES:
            raise ValueError(
                f'point_mask_type must be one of {self.POINT_MASK_TYPES}, '
                f'got {point_mask_type!r}')
        if image_mask_type not in self.IMAGE_MASK_TYPES:
            raise ValueError(
                f'image_mask_type must be one of {self.IMAGE_MASK_TYPES}, '
                f'got {image_mask_type!r}')
        for name, ratio in (('point_mask_ratio', point_mask_ratio),
                            ('image_mask_ratio', image_mask_ratio)):
            if not 0. < ratio < 1.:
                raise ValueError(f'{name} must be in (0, 1), got {ratio}')
        if not 0. < noise_scale <= 1.:
            raise ValueError(
                f'noise_scale must be in (0, 1], got {noise_scale}')
        self.point_mask_ratio = point_mask_ratio
        self.point_mask_type = point_mask_type
        self.image_mask_ratio = image_mask_ratio
        self.image_mask_type = image_mask_type
        self.noise_scale = noise_scale
        self.compat_norm_shape = (
            tuple(compat_norm_shape)
            if compat_norm_shape is not None else None)
        print_log(
            f'{type(self).__name__}: point_mask_type={point_mask_type!r} '
            f'(ratio {point_mask_ratio}), image_mask_type='
            f'{image_mask_type!r} (ratio {image_mask_ratio})',
            logger='current')

    @property
    def aligned(self) -> bool:
        """Whether the image mask depends on the point mask."""
        return self.image_mask_type != 'random'

    def num_masked_groups(self, num_groups: int) -> int:
        """``int(point_mask_ratio * num_groups)``; 76 of 128 by default."""
        num_masked = int(self.point_mask_ratio * num_groups)
        if not 0 < num_masked < num_groups:
            raise ValueError(
                f'point_mask_ratio {self.point_mask_ratio} of {num_groups} '
                f'groups masks {num_masked}; at least one group must be '
                'masked and one visible')
        return num_masked

    def num_visible_patches(self, num_patches: int) -> int:
        """``int(num_patches * (1 - image_mask_ratio))``; 140 of 352."""
        num_keep = int(num_patches * (1 - self.image_mask_ratio))
        if not 0 < num_keep < num_patches:
            raise ValueError(
                f'image_mask_ratio {self.image_mask_ratio} of {num_patches} '
                f'patches keeps {num_keep}; at least one patch must be '
                'masked and one visible')
        return num_keep

    def mask_points(self, center: Tensor) -> Tensor:
        """Draw the point mask.

        Args:
            center (Tensor): (B, G, 3) group centres.

        Returns:
            Tensor: (B, G) bool, True = masked.
        """
        batch_size, num_groups = center.shape[:2]
        num_masked = self.num_masked_groups(num_groups)
        if self.point_mask_type == 'random':
            score = torch.rand(batch_size, num_groups, device=center.device)
        else:
            seed = torch.randint(
                num_groups, (batch_size, ), device=center.device)
            seed_center = center[torch.arange(batch_size), seed]
            score = (center - seed_center[:, None]).norm(dim=-1)
        order = torch.argsort(score, dim=1)
        mask = torch.zeros(
            batch_size, num_groups, dtype=torch.bool, device=center.device)
        # a tensor source, not the scalar True: jit tracing (FLOP counting)
        # has no scatter_ for a bool scalar
        picked = order[:, :num_masked]
        return mask.scatter_(1, picked,
                             torch.ones_like(picked, dtype=torch.bool))

    def flag_patches(self,
                     center: Tensor,
                     point_mask: Tensor,
                     depth2img: Tensor,
                     img_shape: Sequence[int],
                     patch_size: int,
                     native_scale: Optional[Tensor] = None) -> Tensor:
        """Patches that contain at least one projected masked centre.

        Args:
            center (Tensor): (B, G, 3) group centres (depth frame).
            point_mask (Tensor): (B, G) bool, True = masked.
            depth2img (Tensor): (B, 3, 3) projection to 1-based pixels of
                the network input image.
            img_shape (Sequence[int]): (H, W) of the network input image.
            patch_size (int): Patch side in pixels.
            native_scale (Tensor, optional): (B, 2) resize factors from each
                native image to ``img_shape``; required with
                ``compat_norm_shape``. Defaults to None.

        Returns:
            Tensor: (B, L) bool with L = (H / p) * (W / p).
        """
        if self.compat_norm_shape is not None and native_scale is None:
            raise ValueError(
                'compat_norm_shape looks patches up from pixels of the native '
                'image, so the masker needs native_scale (B, 2): the resize '
                'factors from each native image to the network input')
        with torch.no_grad():
            uv, depth = project_points(center.detach(), depth2img)
            if self.compat_norm_shape is None:
                valid = point_mask & points_in_image(uv, depth, img_shape)
            else:
                # The original checks nothing but the grid bounds.
                valid = point_mask
            index = pixel_to_patch_index(
                uv,
                img_shape,
                patch_size,
                valid=valid,
                compat_norm_shape=self.compat_norm_shape,
                native_scale=native_scale)
        num_patches = (img_shape[0] // patch_size) * (
            img_shape[1] // patch_size)
        flags = torch.zeros(
            center.size(0),
            num_patches + 1,
            dtype=torch.bool,
            device=center.device)
        # Index -1 (not in the image / not masked) lands in slot 0.
        return flags.scatter_(1, index + 1,
                              torch.ones_like(index, dtype=torch.bool))[:, 1:]

    def mask_image(
        self,
        batch_size: int,
        num_patches: int,
        flags: Optional[Tensor] = None,
        device: Optional[torch.device] = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Draw the image mask.

        Args:
            batch_size (int): B.
            num_patches (int): L.
            flags (Tensor, optional): (B, L) bool patch flags, required for
                the aligned modes. Defaults to None.
            device (torch.device, optional): Device. Defaults to None.

        Returns:
            tuple[Tensor, Tensor, Tensor]:

            - mask (Tensor): (B, L) bool, True = masked.
            - ids_keep (Tensor): (B, num_keep) indices of the visible patches
              in the order the encoder sees them.
            - ids_restore (Tensor): (B, L) inverse permutation that puts
              ``[visible tokens, mask tokens]`` back in patch order.
        """
        num_keep = self.num_visible_patches(num_patches)
        score = torch.rand(batch_size, num_patches, device=device)
        if self.aligned:
            if flags is None:
                raise ValueError(f'image_mask_type={self.image_mask_type!r} '
                                 'needs the projected point mask (depth2img)')
            score = score * self.noise_scale + flags.to(score.dtype)
        ids_shuffle = torch.argsort(
            score, dim=1, descending=self.image_mask_type == 'complement')
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        mask = torch.ones(
            batch_size, num_patches, dtype=torch.bool, device=device)
        mask[:, :num_keep] = False
        mask = torch.gather(mask, 1, ids_restore)
        return mask, ids_shuffle[:, :num_keep], ids_restore

    @staticmethod
    def overlap(flags: Tensor, image_mask: Tensor) -> Tensor:
        """Fraction of flagged patches that are masked in the image.

        Pooled over the batch; 0 when no masked centre falls in the image.

        Args:
            flags (Tensor): (B, L) bool flagged patches.
            image_mask (Tensor): (B, L) bool, True = masked.

        Returns:
            Tensor: Scalar float tensor in [0, 1].
        """
        hits = (flags & image_mask).sum().float()
        return hits / flags.sum().clamp(min=1).float()

    def forward(
        self,
        center: Tensor,
        grid_size: Sequence[int],
        patch_size: int,
        depth2img: Optional[Tensor] = None,
        img_shape: Optional[Sequence[int]] = None,
        native_scale: Optional[Tensor] = None
    ) -> Dict[str, Optional[Tensor]]:
        """Mask both modalities.

        Args:
            center (Tensor): (B, G, 3) group centres (depth frame).
            grid_size (Sequence[int]): Image patch grid (h, w), L = h * w.
            patch_size (int): Patch side in pixels.
            depth2img (Tensor, optional): (B, 3, 3) projection to 1-based
                pixels of the network input. Needed by the aligned modes and
                for the overlap metric. Defaults to None.
            img_shape (Sequence[int], optional): (H, W) of the network input.
                Defaults to ``grid_size * patch_size``.
            native_scale (Tensor, optional): (B, 2) resize factors from each
                native image to ``img_shape``, needed with ``depth2img`` when
                ``compat_norm_shape`` is set. Defaults to None.

        Returns:
            dict[str, Tensor | None]:

            - ``pts_mask`` (B, G) bool, ``pts_ids_keep`` (B, V) and
              ``pts_ids_mask`` (B, M), ascending group indices.
            - ``img_mask`` (B, L) bool, ``img_ids_keep`` (B, L_vis),
              ``img_ids_restore`` (B, L).
            - ``flagged_patches`` (B, L) bool, or None without depth2img.
            - ``mask_overlap`` scalar tensor, or None without depth2img.
        """
        batch_size = center.size(0)
        grid_h, grid_w = grid_size
        if img_shape is None:
            img_shape = (grid_h * patch_size, grid_w * patch_size)
        pts_mask = self.mask_points(center)
        pts_ids_keep, pts_ids_mask = split_by_mask(
            pts_mask, self.num_masked_groups(center.size(1)))
        flags = None
        if depth2img is not None:
            flags = self.flag_patches(center, pts_mask, depth2img, img_shape,
                                      patch_size, native_scale)
        elif self.aligned:
            raise ValueError(f'image_mask_type={self.image_mask_type!r} '
                             'needs depth2img to project the masked centres')
        img_mask, img_ids_keep, img_ids_restore = self.mask_image(
            batch_size, grid_h * grid_w, flags, center.device)
        return dict(
            pts_mask=pts_mask,
            pts_ids_keep=pts_ids_keep,
            pts_ids_mask=pts_ids_mask,
            img_mask=img_mask,
            img_ids_keep=img_ids_keep,
            img_ids_restore=img_ids_restore,
            flagged_patches=flags,
            mask_overlap=None if flags is None else self.overlap(
                flags, img_mask))
