"""Extract PiMAE's image branch as an mmpretrain ``VisionTransformer``.

Usage::

    python tools/model_converters/pimae_to_mmpretrain_vit.py SRC DST \
        [--no-cls-slot]

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
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from pimae_to_3detr import load_pimae_state  # noqa: E402

PATCH = 'backbone.img_tokenizer.patch_embed.projection.'
LAYERS = 'backbone.img_encoder.'
POS = 'backbone.img_tokenizer.pos_embed'
MODALITY = 'backbone.modality_img_embed'


def convert_to_vit(state: Dict[str, torch.Tensor],
                   cls_slot: bool = True) -> OrderedDict:
    """Rename the image tokenizer and image-specific encoder.

    Args:
        state (dict[str, Tensor]): Our PiMAE state dict.
        cls_slot (bool): Prepend a zero cls slot to ``pos_embed``.

    Returns:
        OrderedDict: mmpretrain ``VisionTransformer`` state dict.
    """
    if POS not in state:
        raise ValueError(f'{POS} missing from the checkpoint')
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
    out['pos_embed'] = pos
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='PiMAE image branch -> mmpretrain VisionTransformer')
    parser.add_argument('src', help='PiMAE checkpoint (ours or official)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--no-cls-slot',
        action='store_true',
        help='write pos_embed without the leading cls slot')
    args = parser.parse_args(argv)
    out = convert_to_vit(
        load_pimae_state(args.src), cls_slot=not args.no_cls_slot)
    torch.save(
        dict(meta=dict(converted_from=osp.abspath(args.src)), state_dict=out),
        args.dst)
    print(f'saved {len(out)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
