# Copyright (c) OpenMMLab. All rights reserved.
"""Initialise a 3DETR encoder from a PiMAE checkpoint (spec 7.1)."""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from mmdet3d.registry import WEIGHT_INITIALIZERS

#: Point-specific encoder layers: this project's PiMAE, official PiMAE.
SPECIFIC_PATTERNS = (
    re.compile(r'^(?:module\.)?backbone\.pts_encoder\.layers\.(\d+)\.(.+)$'),
    re.compile(r'^(?:module\.)?pc_branch\.MAE_encoder\.blocks\.layers\.'
               r'(\d+)\.(.+)$'),
)
#: Shared encoder layers: this project's PiMAE, official PiMAE.
SHARED_PATTERNS = (
    re.compile(r'^(?:module\.)?backbone\.shared_encoder\.layers\.(\d+)\.'
               r'(.+)$'),
    re.compile(r'^(?:module\.)?blocks\.layers\.(\d+)\.(.+)$'),
)
#: Already stacked encoders (``tools/model_converters/pimae_to_3detr.py``
#: output, or a 3DETR checkpoint of this project).
STACKED_PATTERN = re.compile(
    r'^(?:module\.)?(?:backbone\.)?encoder\.layers\.(\d+)\.(.+)$')
#: Keys under which checkpoints keep their state dict.
CONTAINER_KEYS = ('state_dict', 'model', 'base_model', 'module')


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    """Load a checkpoint safely and return its state dict.

    Args:
        path (str): Checkpoint path.

    Returns:
        dict[str, Tensor]: The tensors of ``state_dict`` / ``model`` /
        ``base_model`` / ``module``, or of the checkpoint itself.
    """
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f'PiMAE checkpoint not found: {path}; pre-train one (e.g. the '
            'PiMAE demo writes work_dirs/pimae_demo/) or fix the '
            "detector's init_cfg.checkpoint") from error
    except Exception as error:  # unpickling errors name arbitrary classes
        raise ValueError(
            f'cannot load {path} with torch.load(weights_only=True): '
            f'{error}; convert official checkpoints first with '
            'tools/model_converters/pimae_official_to_mmdet3d.py') from error
    if isinstance(checkpoint, dict):
        for key in CONTAINER_KEYS:
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not checkpoint or not all(
            isinstance(v, Tensor) for v in checkpoint.values()):
        raise ValueError(f'{path} holds no state dict of tensors (looked '
                         f'under {CONTAINER_KEYS} and at the top level)')
    return checkpoint


def _collect(state: Dict[str, Tensor],
             patterns: Tuple[re.Pattern, ...]) -> Dict[int, Dict[str, str]]:
    """Group the keys matching any pattern by layer index.

    Args:
        state (dict[str, Tensor]): Source state dict.
        patterns (tuple[re.Pattern]): Patterns with (index, suffix) groups.

    Returns:
        dict[int, dict[str, str]]: layer index -> suffix -> source key.
    """
    layers: Dict[int, Dict[str, str]] = {}
    for key in state:
        for pattern in patterns:
            match = pattern.match(key)
            if match:
                layers.setdefault(int(match.group(1)),
                                  {})[match.group(2)] = key
                break
    return layers


def map_pimae_encoder_weights(
        source: Dict[str, Tensor],
        target: Dict[str, Tensor],
        target_prefix: str = 'backbone.encoder.layers.'
) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """Map PiMAE's point encoder layers onto a 3DETR encoder.

    The source layers are ordered as the data flows through PiMAE: the
    point-specific layers (by index), then the shared layers (by index);
    layer ``i`` of that list goes to ``{target_prefix}{i}``. Accepted
    source layouts: this project's PiMAE (``backbone.pts_encoder`` /
    ``backbone.shared_encoder``), the official release (``[module.]
    pc_branch.MAE_encoder.blocks`` / ``[module.]blocks``), and already
    stacked encoders (``[backbone.]encoder.layers``).

    Args:
        source (dict[str, Tensor]): Source state dict.
        target (dict[str, Tensor]): State dict of the model to initialise.
        target_prefix (str): Prefix of the target encoder layer list.
            Defaults to 'backbone.encoder.layers.'.

    Returns:
        tuple[OrderedDict, dict]: The tensors to load (target keys) and a
        report with ``layout``, ``num_source_layers``,
        ``num_target_layers``, ``transferred`` ((source, target) pairs),
        ``unmatched_source`` (encoder-layer tensors with no target: a layer
        or suffix the model lacks), ``shape_mismatch`` ((source, target,
        source shape, target shape)), ``missing_target`` (target encoder
        tensors left as they were) and ``not_transferred`` (every other
        source key: tokenizers, image branch, decoders, heads).
    """
    specific = _collect(source, SPECIFIC_PATTERNS)
    shared = _collect(source, SHARED_PATTERNS)
    stacked = _collect(source, (STACKED_PATTERN, ))
    if (specific or shared) and stacked:
        raise ValueError('the checkpoint holds both PiMAE encoder layers and '
                         'an already stacked encoder.layers.*; cannot tell '
                         'which to load')
    if specific or shared:
        layout = 'pimae'
        ordered = [specific[i] for i in sorted(specific)] + \
            [shared[i] for i in sorted(shared)]
    elif stacked:
        layout = 'stacked'
        ordered = [stacked[i] for i in sorted(stacked)]
    else:
        raise ValueError(
            'no PiMAE point encoder layers found (expected keys like '
            'backbone.pts_encoder.layers.0.*, pc_branch.MAE_encoder.blocks.'
            'layers.0.* or encoder.layers.0.*)')
    target_layers = {
        int(m.group(1))
        for m in (re.match(re.escape(target_prefix) + r'(\d+)\.', k)
                  for k in target) if m
    }
    if not target_layers:
        raise ValueError(f'the model has no parameters under '
                         f'{target_prefix!r}')
    mapped: 'OrderedDict[str, Tensor]' = OrderedDict()
    report: dict = dict(
        layout=layout,
        num_source_layers=len(ordered),
        num_target_layers=len(target_layers),
        transferred=[],
        unmatched_source=[],
        shape_mismatch=[],
        missing_target=[],
        not_transferred=[])
    used = set()
    for index, layer in enumerate(ordered):
        for suffix, source_key in sorted(layer.items()):
            used.add(source_key)
            target_key = f'{target_prefix}{index}.{suffix}'
            value = source[source_key]
            if target_key not in target:
                report['unmatched_source'].append(source_key)
            elif value.shape != target[target_key].shape:
                report['shape_mismatch'].append(
                    (source_key, target_key, tuple(value.shape),
                     tuple(target[target_key].shape)))
            else:
                mapped[target_key] = value
                report['transferred'].append((source_key, target_key))
    report['missing_target'] = [
        key for key in target
        if key.startswith(target_prefix) and key not in mapped
    ]
    report['not_transferred'] = [key for key in source if key not in used]
    return mapped, report


def _group_counts(keys: List[str], depth: int = 2) -> str:
    counts: Dict[str, int] = {}
    for key in keys:
        head = '.'.join(key.split('.')[:depth])
        counts[head] = counts.get(head, 0) + 1
    return ', '.join(f'{head}.* ({n})' for head, n in counts.items())


def format_report(report: dict, checkpoint: str = '') -> str:
    """Describe a :func:`map_pimae_encoder_weights` report.

    Args:
        report (dict): The report.
        checkpoint (str): Checkpoint path to name. Defaults to ''.

    Returns:
        str: Several lines, one per category.
    """
    lines = [
        f'PiMAEPretrained {checkpoint}: {report["layout"]} layout, '
        f'{report["num_source_layers"]} source encoder layers -> '
        f'{report["num_target_layers"]} target layers',
        f'  transferred: {len(report["transferred"])} tensors',
        f'  not transferred (outside the point encoder, by design): '
        f'{len(report["not_transferred"])} tensors'
        + (f' in {_group_counts(report["not_transferred"])}'
           if report['not_transferred'] else ''),
        f'  UNMATCHED source encoder tensors: '
        f'{len(report["unmatched_source"])}'
        + (f' {report["unmatched_source"]}'
           if report['unmatched_source'] else ''),
        f'  MISSING target tensors: {len(report["missing_target"])}'
        + (f' {report["missing_target"]}' if report['missing_target'] else
           ''),
        f'  SHAPE mismatches: {len(report["shape_mismatch"])}'
        + (f' {report["shape_mismatch"]}' if report['shape_mismatch'] else
           ''),
    ]
    return '\n'.join(lines)


@WEIGHT_INITIALIZERS.register_module(name='PiMAEPretrained')
class PiMAEPretrainedInit:
    """Load PiMAE's point-specific and shared encoder layers into a 3DETR
    encoder (3 + 3 layers -> ``encoder.layers.0..5``).

    Nothing else is transferred (spec 7.1). Every source key is accounted
    for in the report (:func:`map_pimae_encoder_weights`), which is logged;
    with ``strict`` a missing target tensor, an unmatched source encoder
    tensor or a shape mismatch is an error. The checkpoint is read with
    ``torch.load(weights_only=True)``.

    Use it as the detector's ``init_cfg``, e.g.
    ``init_cfg=dict(type='PiMAEPretrained', checkpoint='pimae.pth')``:
    :class:`ThreeDETR` applies it after all other initialisation.

    Args:
        checkpoint (str): PiMAE checkpoint (this project's, official, or
            converted by ``tools/model_converters/pimae_to_3detr.py``).
        target_prefix (str): Prefix of the encoder layer list in the
            initialised module. Defaults to 'backbone.encoder.layers.'.
        strict (bool): Raise on anything but a one-to-one transfer.
            Defaults to True.
    """

    def __init__(self,
                 checkpoint: str,
                 target_prefix: str = 'backbone.encoder.layers.',
                 strict: bool = True) -> None:
        self.checkpoint = checkpoint
        self.target_prefix = target_prefix
        self.strict = strict
        self.report: Optional[dict] = None

    def __call__(self, module: nn.Module) -> None:
        """Load the weights into ``module``.

        Args:
            module (nn.Module): Module whose state dict has the
                ``target_prefix`` keys.
        """
        source = load_state_dict_file(self.checkpoint)
        mapped, report = map_pimae_encoder_weights(source,
                                                   module.state_dict(),
                                                   self.target_prefix)
        self.report = report
        text = format_report(report, self.checkpoint)
        if self.strict and (report['unmatched_source']
                            or report['missing_target']
                            or report['shape_mismatch']):
            raise ValueError(
                f'{text}\nthe PiMAE encoder does not map one to one onto '
                'the model; match the number of encoder layers and their '
                'sizes to the checkpoint, or pass strict=False')
        # every mapped key is a key of the module's state dict
        module.load_state_dict(mapped, strict=False)
        print_log(text, logger='current')

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: load from {self.checkpoint}'
