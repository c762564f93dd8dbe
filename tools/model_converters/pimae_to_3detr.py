"""Extract PiMAE's point encoder as a 6-layer 3DETR encoder.

Usage::

    python tools/model_converters/pimae_to_3detr.py SRC DST \
        [--prefix encoder.layers.]

``SRC`` is a checkpoint of this project's ``PiMAE`` or an official PiMAE
checkpoint (converted on the fly). The point-specific layers
``backbone.pts_encoder.layers.{i}`` become ``{prefix}{i}`` and the shared
layers ``backbone.shared_encoder.layers.{j}`` become
``{prefix}{n_specific + j}``, each with the 12 tensors of a
``DETRStyleEncoderLayer`` / 3DETR ``TransformerEncoderLayer``
(``self_attn.in_proj_*``, ``self_attn.out_proj.*``, ``linear1.*``,
``linear2.*``, ``norm1.*``, ``norm2.*``). The default prefix gives 3DETR's
own names (``encoder.layers.0..5``); use e.g. ``backbone.encoder.layers.``
for a detector that nests the encoder. Nothing else is transferred (the
original does not transfer the mini-PointNet, embeddings or decoders either).
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional


def build_parser() -> argparse.ArgumentParser:
    """The command line (defined before the heavy imports: ``--help``
    answers without loading torch)."""
    parser = argparse.ArgumentParser(
        description='PiMAE point encoder -> 3DETR encoder weights')
    parser.add_argument('src', help='PiMAE checkpoint (ours or official)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--prefix',
        default='encoder.layers.',
        help='prefix of the target layer list (default: encoder.layers.)')
    return parser


if __name__ == '__main__':
    build_parser().parse_args()  # --help, usage errors: before torch

import torch  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import pimae_official_to_mmdet3d as official  # noqa: E402

SPECIFIC = 'backbone.pts_encoder.layers.'
SHARED = 'backbone.shared_encoder.layers.'


def load_pimae_state(path: str) -> Dict[str, torch.Tensor]:
    """Our PiMAE state dict from ``path`` (official checkpoints converted).

    Args:
        path (str): Checkpoint path.

    Returns:
        dict[str, Tensor]: State dict with this project's key names.
    """
    state = official.extract_state_dict(official.load_checkpoint_file(path))
    if not any(k.startswith('backbone.') for k in state):
        state, _ = official.convert_official(state)
    return state


def _layers(state: Dict[str, torch.Tensor], prefix: str) -> Dict[int, dict]:
    layers: Dict[int, dict] = {}
    for key, value in state.items():
        match = re.match(re.escape(prefix) + r'(\d+)\.(.+)$', key)
        if match:
            layers.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return layers


def convert_to_3detr(state: Dict[str, torch.Tensor],
                     prefix: str = 'encoder.layers.') -> OrderedDict:
    """Stack the specific and shared point encoder layers.

    Args:
        state (dict[str, Tensor]): Our PiMAE state dict.
        prefix (str): Target prefix of the layer list.

    Returns:
        OrderedDict: ``{prefix}{i}.<suffix>`` tensors.
    """
    specific, shared = _layers(state, SPECIFIC), _layers(state, SHARED)
    if not specific and not shared:
        raise ValueError(f'no {SPECIFIC}* or {SHARED}* keys in the checkpoint')
    out = OrderedDict()
    ordered = [specific[i] for i in sorted(specific)] + \
        [shared[i] for i in sorted(shared)]
    for index, tensors in enumerate(ordered):
        for suffix, value in tensors.items():
            out[f'{prefix}{index}.{suffix}'] = value
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from projects.pimae.pimae.utils.checkpoint import save_checkpoint_file
    out = convert_to_3detr(load_pimae_state(args.src), args.prefix)
    num_layers = len({k[len(args.prefix):].split('.')[0] for k in out})
    save_checkpoint_file(
        dict(meta=dict(converted_from=osp.abspath(args.src)), state_dict=out),
        args.dst)
    print(f'saved {num_layers} encoder layers ({len(out)} tensors) '
          f'to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
