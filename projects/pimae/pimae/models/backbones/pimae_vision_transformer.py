# Copyright (c) OpenMMLab. All rights reserved.
"""mmpretrain ``VisionTransformer`` that loads PiMAE's image encoder."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MMLogger
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS

from ..utils.patch_utils import check_img_size


@MODELS.register_module()
class PiMAEVisionTransformer(VisionTransformer):
    """mmpretrain's ``VisionTransformer`` for PiMAE's image encoder.

    The image branch of PiMAE converted with
    ``tools/model_converters/pimae_to_mmpretrain_vit.py`` loads into a plain
    ``VisionTransformer``; this subclass (registered in mmpretrain's
    ``MODELS``) adds two checks that the parent lacks:

    - ``img_size`` must be divisible by ``patch_size``. The parent's
      ``PatchEmbed`` silently pads such inputs ("corner" adaptive padding),
      which gives patches that straddle the border and a grid the
      pre-trained position table never saw; here it is a ``ValueError``
      naming both numbers.
    - A checkpoint's ``pos_embed`` on a **non-square** grid (PiMAE's 16 x 22
      for 256 x 352 inputs) is resized to this model's grid on load. The
      parent assumes a ``sqrt(L)`` x ``sqrt(L)`` source grid and fails with
      an assertion for 352 tokens. The source grid is
      ``pretrained_img_size // patch_size``; a table whose length fits
      neither that grid, this model's grid nor a square one raises a
      ``ValueError`` that says what to do.

    A cls slot in the checkpoint's table is dropped when the model has no
    cls token, and a zero one added when it has one, at any grid size.

    Args:
        arch (str | dict): ViT architecture (see ``VisionTransformer``).
            Defaults to 'base'.
        img_size (int | Sequence[int]): Input size (H, W), divisible by
            ``patch_size``. Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        pretrained_img_size (int | Sequence[int], optional): Input size the
            checkpoint's ``pos_embed`` was made for, e.g. (256, 352) for
            PiMAE; needed only when its grid is not square. Defaults to None.
        **kwargs: Other ``VisionTransformer`` arguments.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 pretrained_img_size: Optional[Union[int,
                                                     Sequence[int]]] = None,
                 **kwargs) -> None:
        check_img_size(img_size, patch_size)
        self.pretrained_img_size = None
        self.pretrained_grid_size = None
        if pretrained_img_size is not None:
            size = check_img_size(pretrained_img_size, patch_size,
                                  'pretrained_img_size')
            self.pretrained_img_size = size
            self.pretrained_grid_size = (size[0] // patch_size,
                                         size[1] // patch_size)
        super().__init__(
            arch=arch, img_size=img_size, patch_size=patch_size, **kwargs)

    def _checkpoint_grid(self, length: int) -> Tuple[Tuple[int, int], bool]:
        """The grid of a checkpoint table of ``length`` tokens.

        Args:
            length (int): Tokens in the checkpoint's ``pos_embed``.

        Returns:
            tuple[tuple[int, int], bool]: The grid ``(h, w)`` and whether
            the table has a leading cls slot.
        """
        candidates = []
        if self.pretrained_grid_size is not None:
            candidates.append(self.pretrained_grid_size)
        candidates.append(tuple(self.patch_resolution))
        for grid in candidates:
            for slot in (self.with_cls_token, not self.with_cls_token):
                if grid[0] * grid[1] + int(slot) == length:
                    return grid, slot
        for slot in (self.with_cls_token, not self.with_cls_token):
            side = math.isqrt(length - int(slot))
            if side * side == length - int(slot):
                return (side, side), slot
        height, width = self.patch_resolution
        raise ValueError(
            f'the checkpoint\'s pos_embed has {length} tokens, which fit '
            f'neither this model\'s {height}x{width} patch grid, nor '
            f'pretrained_img_size={self.pretrained_img_size}, nor a square '
            'grid. Set pretrained_img_size to the input size the checkpoint '
            'was trained at (PiMAE: (256, 352)), or convert it with '
            'tools/model_converters/pimae_to_mmpretrain_vit.py --img-size '
            'H W.')

    def _keep_pooled_norm(self, state_dict: dict, prefix: str) -> None:
        """Give ``ln2`` its own initial values when the checkpoint has none.

        With ``out_type='avg_featmap'`` mmpretrain normalises the mean of
        the patch tokens with ``ln2``; PiMAE has no such norm (its image
        branch ends with the last encoder layer), so a converted PiMAE
        checkpoint has no ``ln2`` and MMEngine would warn about missing keys
        without saying why. ``ln2`` keeps its initial state (weight 1, bias
        0), which is said once in the log instead.

        Args:
            state_dict (dict): The state dict being loaded (edited in place).
            prefix (str): Prefix of this module's keys in ``state_dict``.
        """
        norm = getattr(self, 'ln2', None)
        if self.out_type != 'avg_featmap' or norm is None or \
                prefix + 'ln2.weight' in state_dict:
            return
        for key, value in norm.state_dict().items():
            state_dict[f'{prefix}ln2.{key}'] = value
        MMLogger.get_current_instance().info(
            'The checkpoint has no ln2, the LayerNorm mmpretrain applies to '
            "the mean patch token (out_type='avg_featmap'): PiMAE has none, "
            'so it keeps its initial weight 1 and bias 0.')

    def _prepare_pos_embed(self, state_dict: dict, prefix: str, *args,
                           **kwargs) -> None:
        """Fit the checkpoint's ``pos_embed`` to this model before loading.

        Args:
            state_dict (dict): The state dict being loaded (edited in place).
            prefix (str): Prefix of this module's keys in ``state_dict``.
        """
        name = prefix + 'pos_embed'
        if name not in state_dict:
            return
        self._keep_pooled_norm(state_dict, prefix)
        pos = state_dict[name]
        if pos.shape == self.pos_embed.shape:
            return
        grid, slot = self._checkpoint_grid(pos.shape[1])
        if slot and not self.with_cls_token:
            pos = pos[:, 1:]
        elif not slot and self.with_cls_token:
            pos = torch.cat([pos.new_zeros(1, 1, pos.shape[-1]), pos], dim=1)
        dst_grid = tuple(self.patch_resolution)
        if grid != dst_grid:
            MMLogger.get_current_instance().info(
                f'Resize the pos_embed from a {grid[0]}x{grid[1]} to a '
                f'{dst_grid[0]}x{dst_grid[1]} patch grid '
                f'({self.interpolate_mode}).')
            pos = resize_pos_embed(pos, grid, dst_grid, self.interpolate_mode,
                                   self.num_extra_tokens)
        state_dict[name] = pos
