# Copyright (c) OpenMMLab. All rights reserved.
"""ViT patch embedding with a fixed 2-D sin-cos position embedding."""
import math
from typing import Optional, Sequence, Union

from mmcv.cnn.bricks.transformer import PatchEmbed
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.patch_utils import check_img_size
from ..utils.position_embedding import build_2d_sincos_pos_embed


@MODELS.register_module()
class ImagePatchTokenizer(BaseModule):
    """Cut an image into patch tokens (see projects/pimae/docs/
    original_code.md, 'Image tokenizer and position embedding').

    A ``Conv2d`` with kernel = stride = ``patch_size`` (mmcv ``PatchEmbed``,
    no norm, so the keys match mmpretrain's ``VisionTransformer``:
    ``patch_embed.projection.*``), tokens in row-major order, plus the fixed
    2-D sin-cos embedding (column-first halves, no cls slot), stored as the
    persistent buffer ``pos_embed`` of shape (1, h * w, embed_dims).

    Args:
        img_size (int | Sequence[int]): Network input size (H, W); inputs of
            another size are rejected. Defaults to (256, 352).
        patch_size (int): Patch side. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
        embed_dims (int): Token dimension. Defaults to 256.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 img_size: Union[int, Sequence[int]] = (256, 352),
                 patch_size: int = 16,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.img_size = check_img_size(img_size, patch_size)
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.grid_size = (self.img_size[0] // patch_size,
                          self.img_size[1] // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            padding=0,
            bias=True,
            norm_cfg=None,
            input_size=self.img_size)
        self.register_buffer(
            'pos_embed', build_2d_sincos_pos_embed(self.grid_size, embed_dims))

    def init_weights(self) -> None:
        """Xavier-uniform on the patch projection viewed as 2-D (MAE)."""
        super().init_weights()
        weight = self.patch_embed.projection.weight
        fan_in = weight[0].numel()
        bound = math.sqrt(6. / (fan_in + weight.size(0)))
        nn.init.uniform_(weight, -bound, bound)

    def check_images(self, imgs: Tensor) -> None:
        """Raise a ValueError unless ``imgs`` is (B, in_channels, H, W).

        Args:
            imgs (Tensor): Images to check.
        """
        expected = (self.in_channels, *self.img_size)
        if imgs.dim() == 4 and any(
                side % self.patch_size for side in imgs.shape[-2:]):
            raise ValueError(
                f'image size {tuple(imgs.shape[-2:])} is not divisible by '
                f'the patch size {self.patch_size} (the image tokenizer '
                f'takes img_size {self.img_size})')
        if imgs.dim() != 4 or tuple(imgs.shape[1:]) != expected:
            raise ValueError(
                f'images must have shape (B, {expected[0]}, {expected[1]}, '
                f'{expected[2]}) (the img_size of the image tokenizer), got '
                f'{tuple(imgs.shape)}')

    def forward(self, imgs: Tensor) -> Tensor:
        """Embed all patches and add the position embedding.

        Args:
            imgs (Tensor): (B, in_channels, H, W) normalised images.

        Returns:
            Tensor: Tokens of shape (B, h * w, embed_dims), row-major.
        """
        self.check_images(imgs)
        tokens, _ = self.patch_embed(imgs)
        return tokens + self.pos_embed
