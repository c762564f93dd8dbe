"""Convert an official 3DETR checkpoint into this project's ``ThreeDETR``.

Usage::

    python tools/model_converters/threedetr_official_to_mmdet3d.py \
        sunrgbd_ep1080.pth work_dirs/threedetr_converted.pth \
        [--config CONFIG] [--strict]

The source is a checkpoint of ``facebookresearch/3detr`` (its
``save_checkpoint`` writes the state dict under ``model``, next to the
optimizer state, ``epoch``, the argparse ``args`` and the best validation
metrics), or a bare state dict, with or without ``module.`` prefixes. It is
loaded with ``torch.load(weights_only=True)``, allowing only argparse
namespaces and numpy scalars besides tensors.

Every tensor is renamed (``RULES`` below) and one change is made for the
angle convention: the original reads the box heading clockwise (VoteNet's
SUN RGB-D convention), mmdet3d's depth boxes counter-clockwise. A box the
original predicts with heading ``t`` is the box with yaw ``-t`` here, so the
last layer of the angle classifier is permuted (bin ``j`` here is the
original's bin ``-j mod n``) and the one of the residual head is permuted
the same way and negated: with the same input the converted model predicts
the boxes the original predicts (same centres, sizes and corners). With one
angle bin (ScanNet) nothing changes.

The converted state is checked against the model of ``--config`` (default:
``configs/_base_/models/threedetr.py`` with the encoder depth, number of
classes and angle bins read from the checkpoint) and a report lists
unmatched source keys, missing model keys and shape mismatches. The output
is an MMEngine checkpoint (``{'meta': ..., 'state_dict': ...}``) for
``load_from`` or ``tools/test.py``.
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
        description='Convert an official 3DETR checkpoint.')
    parser.add_argument('src', help='official 3DETR checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument(
        '--config',
        help='config whose model to check against (default: the base '
        '3DETR model adapted to the checkpoint)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='exit with status 1 on any unmatched / missing / mismatched key')
    return parser


if __name__ == '__main__':
    build_parser().parse_args()  # --help, usage errors: before torch

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)
sys.path.insert(1, osp.dirname(osp.abspath(__file__)))
# what the converters of official checkpoints share
import pimae_official_to_mmdet3d as official  # noqa: E402
from pimae_official_to_mmdet3d import add_target_report  # noqa: E402
from pimae_official_to_mmdet3d import extract_state_dict  # noqa: E402,F401
from pimae_official_to_mmdet3d import format_report  # noqa: E402

DEFAULT_MODEL_CONFIG = osp.join(ROOT, 'configs', '_base_', 'models',
                                'threedetr.py')

#: names of the original's box MLPs and ours
HEADS = dict(
    sem_cls_head='cls_head',
    center_head='center_head',
    size_head='size_head',
    angle_cls_head='angle_cls_head',
    angle_residual_head='angle_res_head')
_HEAD_NAMES = '|'.join(HEADS)
#: 3DETR's box MLP: 0 conv, 1 bn, 2 relu, 3 dropout, 4 conv, 5 bn, 6 relu,
#: 7 dropout, 8 conv; ours: 0 ConvModule, 1 dropout, 2 ConvModule,
#: 3 dropout, 4 conv
_MLP_LAYERS = {
    '0': '0.conv',
    '1': '0.bn',
    '4': '2.conv',
    '5': '2.bn',
    '8': '4'
}
#: the encoder-to-decoder projection: 3 x (conv, bn, relu)
_PROJ_LAYERS = {
    '0': '0.conv',
    '1': '0.bn',
    '3': '1.conv',
    '4': '1.bn',
    '6': '2.conv',
    '7': '2.bn'
}
#: the query projection: 2 x (conv with bias, relu)
_QUERY_LAYERS = {'0': '0.conv', '2': '1.conv'}


def _mlp(match: re.Match) -> Optional[str]:
    layer = _MLP_LAYERS.get(match.group(2))
    if layer is None:
        return None
    return f'bbox_head.{HEADS[match.group(1)]}.{layer}.{match.group(3)}'


def _table(prefix: str, table: Dict[str, str]):

    def rename(match: re.Match) -> Optional[str]:
        layer = table.get(match.group(1))
        return None if layer is None else \
            f'{prefix}.{layer}.{match.group(2)}'

    return rename


#: (pattern of an original key, its name here: a format string of the
#: pattern's groups or a function of the match returning None if unknown)
RULES = [
    (r'pre_encoder\.mlp_module\.layer(\d+)\.conv\.(.+)',
     'backbone.pre_encoder.mlp.{0}.conv.{1}'),
    (r'pre_encoder\.mlp_module\.layer(\d+)\.bn\.bn\.(.+)',
     'backbone.pre_encoder.mlp.{0}.bn.{1}'),
    (r'encoder\.layers\.(\d+)\.(.+)', 'backbone.encoder.layers.{0}.{1}'),
    (r'encoder\.norm\.(.+)', 'backbone.encoder.norm.{0}'),
    (r'encoder_to_decoder_projection\.layers\.(\d+)\.(.+)',
     _table('bbox_head.encoder_proj', _PROJ_LAYERS)),
    (r'pos_embedding\.gauss_B', 'bbox_head.pos_embed.gauss_b'),
    (r'query_projection\.layers\.(\d+)\.(.+)',
     _table('bbox_head.query_proj', _QUERY_LAYERS)),
    (r'decoder\.layers\.(\d+)\.multihead_attn\.(.+)',
     'bbox_head.decoder.layers.{0}.cross_attn.{1}'),
    (r'decoder\.layers\.(\d+)\.(.+)', 'bbox_head.decoder.layers.{0}.{1}'),
    (r'decoder\.norm\.(.+)', 'bbox_head.decoder.norm.{0}'),
    (rf'mlp_heads\.({_HEAD_NAMES})\.layers\.(\d+)\.(.+)', _mlp),
]
#: last layers of the angle heads, which change with the angle convention
ANGLE_CLS = 'bbox_head.angle_cls_head.4.'
ANGLE_RES = 'bbox_head.angle_res_head.4.'


def map_key(key: str) -> Optional[str]:
    """Our name of an original key (``module.`` stripped); None if unknown.

    Args:
        key (str): A key of the original's state dict.

    Returns:
        str | None: The key in this project's ``ThreeDETR``.
    """
    for pattern, target in RULES:
        match = re.fullmatch(pattern, key)
        if match is None:
            continue
        if callable(target):
            return target(match)
        return target.format(*match.groups())
    return None


def clockwise_to_counter_clockwise(tensor: torch.Tensor,
                                   negate: bool) -> torch.Tensor:
    """Re-index the per-bin outputs of an angle head for the opposite sense.

    Output ``j`` becomes the original's output ``(-j) mod n`` (bin ``j``
    covers the angle ``j * 2 pi / n``, and ``-j * 2 pi / n`` is the same
    direction read the other way), negated for the residuals.

    Args:
        tensor (Tensor): Weight (n, C, 1) or bias (n, ) of the last layer.
        negate (bool): Negate (residual head) or not (bin classifier).

    Returns:
        Tensor: The converted tensor, same shape.
    """
    num_bins = tensor.shape[0]
    order = (-torch.arange(num_bins)) % num_bins
    out = tensor[order].clone()
    return -out if negate else out


def _safe_numpy_globals() -> list:
    """numpy scalar reconstruction helpers for ``weights_only`` loading."""
    try:
        scalar = np.core.multiarray.scalar
    except AttributeError:  # numpy >= 2 without the alias
        scalar = np._core.multiarray.scalar
    dtypes = [
        type(np.dtype(name))
        for name in ('float16', 'float32', 'float64', 'int32', 'int64', 'bool')
    ]
    return [scalar, np.dtype] + dtypes


def load_checkpoint_file(path: str) -> dict:
    """``torch.load(weights_only=True)``, allowing 3DETR's extras.

    Besides tensors, 3DETR's checkpoints hold the training ``args`` (an
    ``argparse.Namespace``) and metrics with numpy scalars; these classes
    (and nothing that runs code) are allowed.

    Args:
        path (str): Checkpoint path.

    Returns:
        dict: The checkpoint.

    Raises:
        SystemExit: Naming the file, when it is missing or unreadable.
    """
    return official.load_checkpoint_file(
        path, allowed_globals=[argparse.Namespace] + _safe_numpy_globals())


def convert_official(
        state: Dict[str, torch.Tensor],
        target_shapes: Optional[Dict[str, torch.Size]] = None) -> tuple:
    """Convert an original 3DETR state dict.

    Args:
        state (dict[str, Tensor]): Original state (``module.`` stripped).
        target_shapes (dict[str, torch.Size], optional): Our model's state
            dict shapes, to report missing keys and shape mismatches.

    Returns:
        tuple[OrderedDict, dict]: The converted state and a report with
        ``unmatched_source``, ``missing_target`` and ``shape_mismatch``
        lists.
    """
    converted = OrderedDict()
    report = dict(unmatched_source=[], missing_target=[], shape_mismatch=[])
    for key, value in state.items():
        new_key = map_key(key)
        if new_key is None:
            report['unmatched_source'].append(key)
            continue
        if new_key.startswith(ANGLE_CLS):
            value = clockwise_to_counter_clockwise(value, negate=False)
        elif new_key.startswith(ANGLE_RES):
            value = clockwise_to_counter_clockwise(value, negate=True)
        converted[new_key] = value
    if target_shapes is not None:
        add_target_report(converted, target_shapes, report)
    return converted, report


def infer_model_options(state: Dict[str, torch.Tensor]) -> dict:
    """Encoder depth, classes and angle bins of an original state dict.

    Args:
        state (dict[str, Tensor]): Original state (``module.`` stripped).

    Returns:
        dict: ``num_encoder_layers``, ``num_decoder_layers``,
        ``num_classes`` and ``num_angle_bins``.
    """

    def count(prefix: str) -> int:
        return len({
            int(m.group(1))
            for m in (re.match(re.escape(prefix) + r'(\d+)\.', k)
                      for k in state) if m
        })

    try:
        num_classes = state['mlp_heads.sem_cls_head.layers.8.bias'].numel() - 1
        num_bins = state['mlp_heads.angle_cls_head.layers.8.bias'].numel()
    except KeyError as error:
        raise ValueError(f'not a 3DETR state dict: no {error}') from None
    return dict(
        num_encoder_layers=count('encoder.layers.'),
        num_decoder_layers=count('decoder.layers.'),
        num_classes=num_classes,
        num_angle_bins=num_bins)


def build_target_model(config: Optional[str], options: Optional[dict] = None):
    """Build the ``ThreeDETR`` of ``config`` in mmdet3d's default scope.

    Args:
        config (str, optional): A config file with a ``model``; None builds
            ``configs/_base_/models/threedetr.py`` adapted to ``options``.
        options (dict, optional): Output of :func:`infer_model_options`.

    Returns:
        nn.Module: The model.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config or DEFAULT_MODEL_CONFIG)
    model_cfg = cfg.model
    if config is None and options is not None:
        model_cfg.backbone.encoder.num_layers = options['num_encoder_layers']
        model_cfg.bbox_head.decoder.num_layers = options['num_decoder_layers']
        model_cfg.bbox_head.num_classes = options['num_classes']
        model_cfg.bbox_head.bbox_coder.num_angle_bins = options[
            'num_angle_bins']
    return official.build_config_model(cfg)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    state = extract_state_dict(load_checkpoint_file(args.src))
    options = infer_model_options(state)
    model = build_target_model(args.config, options)
    target = {k: v.shape for k, v in model.state_dict().items()}
    converted, report = convert_official(state, target)
    print('checkpoint: {num_encoder_layers} encoder layers, '
          '{num_decoder_layers} decoder layers, {num_classes} classes, '
          '{num_angle_bins} angle bins'.format(**options))
    print(format_report(report))
    from projects.pimae.pimae.utils.checkpoint import save_checkpoint_file
    save_checkpoint_file(
        dict(
            meta=dict(
                converted_from=osp.abspath(args.src),
                angle_convention='counter-clockwise (mmdet3d)'),
            state_dict=converted), args.dst)
    print(f'saved {len(converted)} tensors to {args.dst}')
    problems: List[str] = (
        report['unmatched_source'] + report['missing_target'] +
        report['shape_mismatch'])
    return 1 if args.strict and problems else 0


if __name__ == '__main__':
    sys.exit(main())
