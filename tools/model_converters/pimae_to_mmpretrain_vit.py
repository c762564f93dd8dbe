"""Extract PiMAE's image branch as an mmpretrain ``VisionTransformer``.

Usage::

    python tools/model_converters/pimae_to_mmpretrain_vit.py SRC DST \
        [--no-cls-slot] [--img-size H [W]] [--src-img-size H W] \
        [--interpolate-mode bicubic]

``SRC`` is a checkpoint of this project's ``PiMAE`` or an official one.
Output keys are those of ``mmpretrain.models.VisionTransformer``:

- ``patch_embed.projection.*`` <-
  ``backbone.img_tokenizer.patch_embed.projection.*``
- ``layers.{i}.*`` <- ``backbone.img_encoder.{i}.*`` (same block class)
- ``pos_embed`` <- the fixed sin-cos table **plus** the learned
  ``backbone.modality_img_embed`` (PiMAE adds both before the encoder, so
  folding them keeps the forward identical), with a zero cls slot in front
  (shape (1, 1 + L, C)) unless ``--no-cls-slot``. mmpretrain's ViT strips
  that slot itself when built with ``with_cls_token=False``.

Build the target as ``VisionTransformer(arch=dict(embed_dims=256,
num_layers=3, num_heads=4, feedforward_channels=1024), img_size=(256, 352),
patch_size=16, with_cls_token=False, final_norm=False, out_type=...)``;
its output then equals PiMAE's image-specific encoder on unmasked images.
PiMAE has no image cls token and no final norm (the original's are unused),
so ``cls_token`` / ``ln1`` are not written: with ``with_cls_token=True`` or
``final_norm=True`` they keep their initialisation.

**Another input size.** PiMAE's patch grid is not square (16 x 22 for
256 x 352), but mmpretrain's ``VisionTransformer`` guesses the grid of a
checkpoint's ``pos_embed`` as ``sqrt(L)`` x ``sqrt(L)`` when it resizes it
on load, which fails for 352 tokens. Either

- convert with ``--img-size H W`` (the target's input size): the table is
  resized here from the checkpoint's own grid with mmpretrain's
  ``resize_pos_embed`` (mode ``--interpolate-mode``, default ``bicubic`` as
  in the ViT) and loads into a plain ``VisionTransformer`` built for
  ``H x W`` without any further resizing; or
- keep the source grid and build the target as this project's
  ``PiMAEVisionTransformer`` with ``pretrained_img_size=(256, 352)``, which
  resizes it on load.

The source grid is read off the sin-cos table itself (it is fixed, never
trained; ``--src-img-size H W`` gives it otherwise); ``meta`` of the output
records ``src_grid_size``, ``grid_size``, ``img_size`` and ``patch_size``.

A checkpoint without an image branch (no ``backbone.img_tokenizer.*`` /
``backbone.img_encoder.*`` keys) and an ``--img-size`` not divisible by the
patch size are errors that name the file / the numbers (exit status 1).
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple


def build_parser() -> argparse.ArgumentParser:
    """The command line (defined before the heavy imports: ``--help``
    answers without loading torch)."""
    parser = argparse.ArgumentParser(
        description='PiMAE image branch -> mmpretrain VisionTransformer')
    parser.add_argument('src', help='PiMAE checkpoint (ours or official)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--no-cls-slot',
        action='store_true',
        help='write pos_embed without the leading cls slot')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs='+',
        metavar='SIZE',
        help='input size H [W] of the target ViT: resize pos_embed to its '
        'patch grid (default: keep the source grid)')
    parser.add_argument(
        '--src-img-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='pre-training input size (default: read the grid off the '
        'sin-cos position table)')
    parser.add_argument(
        '--interpolate-mode',
        default='bicubic',
        choices=['nearest', 'bilinear', 'bicubic'],
        help='interpolation of the --img-size resize (default: bicubic, '
        'as mmpretrain\'s VisionTransformer)')
    return parser


if __name__ == '__main__':
    build_parser().parse_args()  # --help, usage errors: before torch

import torch  # noqa: E402
from torch import Tensor  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from pimae_to_3detr import load_pimae_state  # noqa: E402

PATCH = 'backbone.img_tokenizer.patch_embed.projection.'
LAYERS = 'backbone.img_encoder.'
POS = 'backbone.img_tokenizer.pos_embed'
MODALITY = 'backbone.modality_img_embed'


def check_image_branch(state: Dict[str, Tensor], source: str) -> None:
    """Raise a ValueError naming ``source`` if it has no image branch.

    Args:
        state (dict[str, Tensor]): Our PiMAE state dict.
        source (str): Where ``state`` came from (file name for the message).
    """
    parts = dict(zip(('patch embedding', 'image encoder'), (PATCH, LAYERS)))
    missing = [
        name for name, prefix in parts.items()
        if not any(k.startswith(prefix) for k in state)
    ]
    if POS not in state:
        missing.append('position table')
    if missing:
        prefixes = sorted({'.'.join(k.split('.')[:2]) for k in state})
        found = f'its keys start with {prefixes[:8]}' if prefixes else \
            'it has no key of a PiMAE model (ours or official)'
        raise ValueError(
            f'{source} has no PiMAE image branch ({", ".join(missing)} '
            f'missing: no {PATCH}*, {LAYERS}* or {POS} keys); {found}. '
            'Is it a PiMAE checkpoint (and not, e.g., a point-only or a '
            'detector checkpoint)?')


def infer_grid_size(pos_embed: Tensor) -> Tuple[int, int]:
    """The patch grid ``(h, w)`` of PiMAE's fixed sin-cos table.

    The table is row-major, its first half of channels encodes the column
    and its second half the row (``build_2d_sincos_pos_embed``). Only the
    true grid has "same column -> same first half" and "same row -> same
    second half" for every token.

    Args:
        pos_embed (Tensor): The table, shape (1, h * w, C), no cls slot.

    Returns:
        tuple[int, int]: ``(h, w)``.
    """
    table = pos_embed.reshape(pos_embed.shape[-2], -1).float()
    length, half = table.shape[0], table.shape[1] // 2
    for w in range(1, length + 1):
        if length % w:
            continue
        grid = table.reshape(length // w, w, -1)
        cols, rows = grid[..., :half], grid[..., half:]
        if torch.allclose(cols, cols[:1].expand_as(cols), atol=1e-5) and \
                torch.allclose(rows, rows[:, :1].expand_as(rows), atol=1e-5):
            return length // w, w
    raise ValueError(
        f'{POS} of shape {tuple(pos_embed.shape)} is not the 2-D sin-cos '
        'table of a row-major patch grid, so its grid is unknown; give the '
        'pre-training input size with --src-img-size H W')


def target_grid_size(img_size: Sequence[int],
                     patch_size: int) -> Tuple[int, int]:
    """The patch grid of an input size, which must divide evenly.

    Args:
        img_size (Sequence[int]): Input ``(H, W)``.
        patch_size (int): Patch side.

    Returns:
        tuple[int, int]: ``(H // patch_size, W // patch_size)``.
    """
    height, width = (int(s) for s in img_size)
    for side in (height, width):
        if side <= 0 or side % patch_size:
            raise ValueError(
                f'img_size {height}x{width} is not divisible by the patch '
                f'size {patch_size}: {side} % {patch_size} = '
                f'{side % patch_size}')
    return height // patch_size, width // patch_size


def source_grid_size(
        state: Dict[str, Tensor],
        src_img_size: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """The patch grid of the checkpoint's position table.

    Args:
        state (dict[str, Tensor]): Our PiMAE state dict.
        src_img_size (Sequence[int], optional): Pre-training input size
            ``(H, W)``; ``None`` reads the grid off the sin-cos table.

    Returns:
        tuple[int, int]: ``(h, w)``.
    """
    pos = state[POS]
    if src_img_size is None:
        return infer_grid_size(pos)
    patch_size = int(state[PATCH + 'weight'].shape[-1])
    grid = target_grid_size(src_img_size, patch_size)
    if grid[0] * grid[1] != pos.shape[1]:
        raise ValueError(
            f'--src-img-size {src_img_size[0]}x{src_img_size[1]} gives '
            f'{grid[0]}x{grid[1]} patches, but {POS} has {pos.shape[1]}')
    return grid


def convert_to_vit(
        state: Dict[str, Tensor],
        cls_slot: bool = True,
        img_size: Optional[Sequence[int]] = None,
        interpolate_mode: str = 'bicubic',
        source: str = 'the checkpoint',
        src_img_size: Optional[Sequence[int]] = None) -> OrderedDict:
    """Rename the image tokenizer and image-specific encoder.

    Args:
        state (dict[str, Tensor]): Our PiMAE state dict.
        cls_slot (bool): Prepend a zero cls slot to ``pos_embed``.
        img_size (Sequence[int], optional): Input ``(H, W)`` of the target
            ViT; ``pos_embed`` is resized from the source grid to
            ``(H / p, W / p)``. ``None`` keeps the source grid.
        interpolate_mode (str): ``F.interpolate`` mode of the resize.
            Defaults to 'bicubic' (mmpretrain ViT's default).
        source (str): Name of the source for error messages.
        src_img_size (Sequence[int], optional): Pre-training input size, to
            give the source grid when the table is not PiMAE's sin-cos one.

    Returns:
        OrderedDict: mmpretrain ``VisionTransformer`` state dict;
        ``pos_embed`` has shape (1, [1 +] h * w, C).
    """
    check_image_branch(state, source)
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith(PATCH):
            out['patch_embed.projection.' + key[len(PATCH):]] = value
        elif key.startswith(LAYERS):
            out['layers.' + key[len(LAYERS):]] = value
    pos = state[POS]
    if MODALITY in state:
        pos = pos + state[MODALITY]
    if cls_slot:
        pos = torch.cat([pos.new_zeros(1, 1, pos.size(-1)), pos], dim=1)
    if img_size is not None:
        src_grid = source_grid_size(state, src_img_size)
        patch_size = int(out['patch_embed.projection.weight'].shape[-1])
        dst_grid = target_grid_size(img_size, patch_size)
        from mmpretrain.models.utils import resize_pos_embed
        pos = resize_pos_embed(
            pos,
            src_grid,
            dst_grid,
            mode=interpolate_mode,
            num_extra_tokens=int(cls_slot))
    out['pos_embed'] = pos
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    img_size = args.img_size
    if img_size is not None:
        if len(img_size) not in (1, 2):
            parser.error('--img-size takes H or H W')
        img_size = (img_size[0], img_size[-1])
    try:
        state = load_pimae_state(args.src)
        out = convert_to_vit(
            state,
            cls_slot=not args.no_cls_slot,
            img_size=img_size,
            interpolate_mode=args.interpolate_mode,
            source=args.src,
            src_img_size=args.src_img_size)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    patch_size = int(out['patch_embed.projection.weight'].shape[-1])
    meta = dict(
        converted_from=osp.abspath(args.src),
        patch_size=patch_size,
        cls_slot=not args.no_cls_slot)
    try:
        src_grid = list(source_grid_size(state, args.src_img_size))
    except ValueError:  # a table that is not sin-cos, kept as it is
        src_grid = None
    grid = list(target_grid_size(img_size, patch_size)) if img_size else \
        src_grid
    if grid is not None:
        meta.update(
            src_grid_size=src_grid,
            grid_size=grid,
            img_size=[g * patch_size for g in grid])
    from projects.pimae.pimae.utils.checkpoint import save_checkpoint_file
    save_checkpoint_file(dict(meta=meta, state_dict=out), args.dst)
    where = f'; pos_embed grid {grid[0]}x{grid[1]} for ' \
        f'{grid[0] * patch_size}x{grid[1] * patch_size} inputs' if grid \
        else ''
    print(f'saved {len(out)} tensors to {args.dst}{where}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
