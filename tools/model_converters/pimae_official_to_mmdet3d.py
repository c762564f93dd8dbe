"""Convert an official PiMAE checkpoint into this project's ``PiMAE`` model.

Usage::

    python tools/model_converters/pimae_official_to_mmdet3d.py \
        pimae.pth work_dirs/pimae_converted.pth [--config CONFIG]

The source is a checkpoint of ``BLVLab/PiMAE`` (``Pretrain/``): the state
dict under ``base_model`` (the original runner), ``model`` or
``state_dict``, or at the top level, with or without the ``module.``
prefix of ``nn.DataParallel``. It is loaded with
``torch.load(weights_only=True)``.

Every key is renamed (``KEY_MAP`` below); the original's unused
parameters (``img_branch.cls_token``, ``img_branch.norm``, ``norm``,
``pc_branch.MAE_encoder.norm``, ``fusion_proj``) are dropped as expected.
A report lists these drops and every key left unmatched on either side
(against the model built from ``--config``, default: the default
``PiMAE``). The output is an MMEngine checkpoint
(``{'meta': ..., 'state_dict': ...}``) for ``load_from`` / ``init_cfg``.

To compute what the original computes, configure the model with the
geometry compat options of the original: ``masker.compat_norm_shape`` and
``cross_head.compat_norm_shape`` = (530, 730), ``cross_head.compat_swap_xy``
= True, ``cross_head.compat_upsample_size`` = (256, 352), and
``backbone.embed_masked_groups`` = True (the original's BatchNorm sees all
groups).
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple


def build_parser() -> argparse.ArgumentParser:
    """The command line (defined before the heavy imports: ``--help``
    answers without loading torch)."""
    parser = argparse.ArgumentParser(
        description='Convert an official PiMAE checkpoint.')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument(
        '--config', help='model config to check against (default PiMAE)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='exit with status 1 on any unmatched / missing key')
    return parser


if __name__ == '__main__':
    build_parser().parse_args()  # --help, usage errors: before torch

import torch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

#: (official prefix, our prefix) of modules that keep their inner names
PREFIXES = [
    ('pc_branch.MAE_encoder.encoder.first_conv.',
     'backbone.pts_tokenizer.first_conv.'),
    ('pc_branch.MAE_encoder.encoder.second_conv.',
     'backbone.pts_tokenizer.second_conv.'),
    ('pc_branch.MAE_encoder.pos_embed.', 'backbone.pts_tokenizer.pos_embed.'),
    ('pc_branch.MAE_encoder.blocks.layers.', 'backbone.pts_encoder.layers.'),
    ('blocks.layers.', 'backbone.shared_encoder.layers.'),
    ('pc_branch.decoder_pos_embed.', 'neck.pts_decoder_pos_embed.'),
    ('pc_branch.MAE_decoder.norm.', 'neck.pts_decoder_norm.'),
    ('pc_branch.decoder_embed.', 'neck.pts_decoder_embed.'),
    ('pc_branch.increase_dim.0.', 'pts_head.increase_dim.'),
    ('img_branch.patch_embed.proj.',
     'backbone.img_tokenizer.patch_embed.projection.'),
    ('img_branch.decoder_embed.', 'neck.img_decoder_embed.'),
    ('img_branch.decoder_norm.', 'neck.img_decoder_norm.'),
    ('img_branch.decoder_pred.', 'neck.img_decoder_pred.'),
    ('increase_dim_feat.0.', 'cross_head.increase_dim_feat.'),
    ('decoder_norm.', 'neck.joint_norm.'),
]
#: (official prefix, our prefix) of stacks of timm ``Block``s, which become
#: mmpretrain ``TransformerEncoderLayer``s (inner names in VIT_SUFFIXES)
VIT_PREFIXES = [
    ('img_branch.blocks.', 'backbone.img_encoder.'),
    ('img_branch.decoder_blocks.', 'neck.img_decoder_layers.'),
    ('pc_branch.MAE_decoder.blocks.', 'neck.pts_decoder_layers.'),
    ('decoder_blocks.', 'neck.joint_layers.'),
]
VIT_SUFFIXES = [
    ('norm1.', 'ln1.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('norm2.', 'ln2.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
]
#: whole-key renames (tokens, embeddings and fixed position tables, which
#: the module print does not show)
EXACT = [
    ('cls_token', 'backbone.cls_token'),
    ('modality_img_embedding', 'backbone.modality_img_embed'),
    ('modality_pc_embedding', 'backbone.modality_pts_embed'),
    ('decoder_modality_img_embed', 'neck.modality_img_embed'),
    ('decoder_modality_pc_embed', 'neck.modality_pts_embed'),
    ('img_branch.mask_token', 'neck.img_mask_token'),
    ('pc_branch.mask_token', 'neck.pts_mask_token'),
    ('img_branch.pos_embed', 'backbone.img_tokenizer.pos_embed'),
    ('img_branch.decoder_pos_embed', 'neck.img_decoder_pos_embed'),
]
#: parameters of the original that its forward pass never uses
EXPECTED_DROPS = [
    r'img_branch\.cls_token$', r'img_branch\.norm\.', r'norm\.',
    r'pc_branch\.MAE_encoder\.norm\.', r'fusion_proj\.'
]
#: position tables that may carry a cls slot in some MAE variants
POS_TABLES = ('backbone.img_tokenizer.pos_embed', 'neck.img_decoder_pos_embed')


def _map_vit(key: str, prefix_from: str, prefix_to: str,
             suffixes: List[Tuple[str, str]]) -> Optional[str]:
    match = re.match(re.escape(prefix_from) + r'(\d+)\.(.*)$', key)
    if match is None:
        return None
    index, rest = match.groups()
    for suffix_from, suffix_to in suffixes:
        if rest.startswith(suffix_from):
            return f'{prefix_to}{index}.{suffix_to}{rest[len(suffix_from):]}'
    return None


def map_key(key: str, inverse: bool = False) -> Optional[str]:
    """Rename one key; None when the key is not part of the mapping.

    Args:
        key (str): An official key (without ``module.``), or one of ours
            with ``inverse=True``.
        inverse (bool): Map our keys back to the official ones.

    Returns:
        str | None: The renamed key.
    """

    def pairs(table):
        return [(b, a) for a, b in table] if inverse else table

    for src, dst in pairs(EXACT):
        if key == src:
            return dst
    for src, dst in pairs(VIT_PREFIXES):
        mapped = _map_vit(key, src, dst, pairs(VIT_SUFFIXES))
        if mapped is not None:
            return mapped
    for src, dst in pairs(PREFIXES):
        if key.startswith(src):
            return dst + key[len(src):]
    return None


def extract_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The model state of a checkpoint, without ``module.`` prefixes
    (shared by the converters of official checkpoints).

    Args:
        checkpoint (dict): A loaded checkpoint.

    Returns:
        dict[str, Tensor]: The state dict (see
        :func:`projects.pimae.pimae.utils.checkpoint.get_state_dict`).
    """
    from projects.pimae.pimae.utils.checkpoint import (get_state_dict,
                                                       revise_keys)
    return OrderedDict(revise_keys(get_state_dict(checkpoint)))


def load_checkpoint_file(path: str, allowed_globals: Sequence = ()) -> dict:
    """Read a checkpoint safely (``torch.load(weights_only=True)``).

    Shared by the converters of official checkpoints
    (``threedetr_official_to_mmdet3d.py`` allows 3DETR's extras).

    Args:
        path (str): Checkpoint path.
        allowed_globals (sequence): Plain-data classes to admit besides
            torch's (see
            :func:`projects.pimae.pimae.utils.checkpoint.load_checkpoint_file`).

    Returns:
        dict: The checkpoint.

    Raises:
        SystemExit: Naming the file, when it is missing or cannot be read
            safely (a converter's user gets a message, not a traceback).
    """
    from projects.pimae.pimae.utils.checkpoint import (
        CheckpointError, load_checkpoint_file as load_file)
    try:
        return load_file(path, allowed_globals=allowed_globals)
    except (FileNotFoundError, CheckpointError) as error:
        sys.exit(f'error: {error}')


def add_target_report(converted: Dict[str, torch.Tensor],
                      target_shapes: Dict[str, torch.Size],
                      report: dict) -> None:
    """Compare a converted state dict with the model's, into ``report``.

    Shared by the converters of official checkpoints.

    Args:
        converted (dict[str, Tensor]): The renamed state.
        target_shapes (dict[str, torch.Size]): The model's state-dict
            shapes.
        report (dict): Gets ``missing_target`` (model keys the converted
            state lacks) and ``shape_mismatch``; renamed keys the model
            does not have are added to its ``unmatched_source``.
    """
    report['missing_target'] = [
        k for k in target_shapes if k not in converted
    ]
    report['shape_mismatch'] = [
        f'{k}: {tuple(v.shape)} vs {tuple(target_shapes[k])}'
        for k, v in converted.items()
        if k in target_shapes and v.shape != target_shapes[k]
    ]
    report['unmatched_source'] += [
        f'{k} (renamed, not in the model)' for k in converted
        if k not in target_shapes
    ]


def convert_official(
        state: Dict[str, torch.Tensor],
        target_keys: Optional[Dict[str, torch.Size]] = None) -> tuple:
    """Convert an official state dict.

    Args:
        state (dict[str, Tensor]): Official state (``module.`` stripped).
        target_keys (dict[str, torch.Size], optional): Our model's state
            dict shapes, to report missing keys and shape mismatches.

    Returns:
        tuple[OrderedDict, dict]: The converted state and a report with
        ``dropped`` (expected unused originals), ``unmatched_source``,
        ``missing_target`` and ``shape_mismatch`` lists.
    """
    converted = OrderedDict()
    report = dict(
        dropped=[], unmatched_source=[], missing_target=[], shape_mismatch=[])
    for key, value in state.items():
        new_key = map_key(key)
        if new_key is None:
            if any(re.match(p, key) for p in EXPECTED_DROPS):
                report['dropped'].append(key)
            else:
                report['unmatched_source'].append(key)
            continue
        if new_key in POS_TABLES and target_keys is not None and \
                new_key in target_keys and \
                value.shape[1] == target_keys[new_key][1] + 1:
            value = value[:, 1:]  # drop a cls slot
        converted[new_key] = value
    if target_keys is not None:
        add_target_report(converted, target_keys, report)
    return converted, report


def to_official(state: Dict[str, torch.Tensor]) -> OrderedDict:
    """Inverse of :func:`convert_official` (used by the tests).

    Args:
        state (dict[str, Tensor]): Our model's state dict.

    Returns:
        OrderedDict: The state under the official key names.
    """
    official = OrderedDict()
    for key, value in state.items():
        new_key = map_key(key, inverse=True)
        if new_key is None:
            raise KeyError(f'{key} has no official counterpart')
        official[new_key] = value
    return official


def format_report(report: dict) -> str:
    """A readable multi-line report of the lists ``report`` has (shared by
    the converters of official checkpoints)."""
    lines = []
    titles = dict(
        dropped='dropped as expected (unused by the original)',
        unmatched_source='UNMATCHED source keys',
        missing_target='MISSING in the converted state (model keys)',
        shape_mismatch='SHAPE MISMATCHES')
    for name, title in titles.items():
        if name in report:
            lines.append(f'{title}: {len(report[name])}')
            lines += [f'    {k}' for k in report[name]]
    return '\n'.join(lines)


def build_config_model(cfg) -> torch.nn.Module:
    """Build ``cfg.model`` in the config's default scope (mmdet3d unless it
    says otherwise): the modules it nests, such as the data preprocessor,
    are looked up by mmengine's ``BaseModel`` in the scope's registry.
    Shared by the converters of official checkpoints.

    Args:
        cfg (Config): A config with a ``model``.
    """
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae  # noqa: F401  (registers the modules)
    from mmdet3d.registry import MODELS
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet3d')):
        return MODELS.build(cfg.model)


def build_target_model(config: Optional[str]) -> torch.nn.Module:
    """Build the model of ``config`` (or the default PiMAE)."""
    from mmengine.config import Config
    if config is None:
        return build_config_model(Config(dict(model=dict(type='PiMAE'))))
    return build_config_model(Config.fromfile(config))


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from projects.pimae.pimae.utils.checkpoint import save_checkpoint_file
    state = extract_state_dict(load_checkpoint_file(args.src))
    model = build_target_model(args.config)
    target = {k: v.shape for k, v in model.state_dict().items()}
    converted, report = convert_official(state, target)
    print(format_report(report))
    save_checkpoint_file(
        dict(
            meta=dict(converted_from=osp.abspath(args.src)),
            state_dict=converted), args.dst)
    print(f'saved {len(converted)} tensors to {args.dst}')
    problems = (
        report['unmatched_source'] + report['missing_target'] +
        report['shape_mismatch'])
    return 1 if args.strict and problems else 0


if __name__ == '__main__':
    sys.exit(main())
