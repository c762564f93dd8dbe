# Copyright (c) OpenMMLab. All rights reserved.
"""Initialise a detector's encoder layers from a PiMAE checkpoint."""
import functools
import re
import threading
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import update_init_info
from torch import Tensor, nn

from mmdet3d.registry import WEIGHT_INITIALIZERS
from ...utils.checkpoint import (CheckpointError, get_state_dict,
                                 load_checkpoint_file)

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


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    """Load a checkpoint safely and return its state dict.

    Args:
        path (str): Checkpoint path.

    Returns:
        dict[str, Tensor]: The tensors of ``state_dict`` / ``model`` /
        ``base_model`` / ``module``, or of the checkpoint itself (see
        :mod:`projects.pimae.pimae.utils.checkpoint`, which every
        checkpoint reader of the project shares).
    """
    try:
        checkpoint = load_checkpoint_file(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f'PiMAE checkpoint not found: {path}; pre-train one (e.g. the '
            'PiMAE demo writes work_dirs/pimae_demo/) or fix the '
            "detector's init_cfg.checkpoint") from error
    except CheckpointError as error:
        raise CheckpointError(
            f'{error} Official PiMAE checkpoints: convert them first with '
            'tools/model_converters/pimae_official_to_mmdet3d.py') from None
    return get_state_dict(checkpoint, path)


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
        f'{len(report["not_transferred"])} tensors' +
        (f' in {_group_counts(report["not_transferred"])}'
         if report['not_transferred'] else ''),
        f'  UNMATCHED source encoder tensors: '
        f'{len(report["unmatched_source"])}' +
        (f' {report["unmatched_source"]}'
         if report['unmatched_source'] else ''),
        f'  MISSING target tensors: {len(report["missing_target"])}' +
        (f' {report["missing_target"]}' if report['missing_target'] else ''),
        f'  SHAPE mismatches: {len(report["shape_mismatch"])}' +
        (f' {report["shape_mismatch"]}' if report['shape_mismatch'] else ''),
    ]
    return '\n'.join(lines)


class _PendingTransfer:
    """PiMAE tensors mapped onto a module, waiting to be copied in.

    Args:
        module (nn.Module): The module that carries the ``init_cfg``.
        mapped (OrderedDict[str, Tensor]): Tensors to load, keyed as in
            ``module.state_dict()``.
        text (str): The key report.
        checkpoint (str): Checkpoint path, for messages.
    """

    def __init__(self, module: nn.Module, mapped: 'OrderedDict[str, Tensor]',
                 text: str, checkpoint: str) -> None:
        self.module = module
        self.mapped = mapped
        self.text = text
        self.checkpoint = checkpoint

    def apply(self) -> None:
        """Copy the tensors into the module, record it in mmengine's
        per-parameter initialisation report when one is being written, and
        log the key report."""
        # every mapped key is a key of the module's state dict
        self.module.load_state_dict(self.mapped, strict=False)
        if hasattr(self.module, '_params_init_info'):
            update_init_info(
                self.module,
                init_info=f'Loaded from {self.checkpoint} by PiMAEPretrained')
        print_log(self.text, logger='current')

    def differing(self) -> List[str]:
        """Keys whose tensor in the module differs from the checkpoint's.

        Returns:
            list[str]: Keys (relative to the module), in order.
        """
        state = self.module.state_dict()
        return [
            key for key, value in self.mapped.items() if not torch.equal(
                state[key].detach().cpu(), value.to(state[key].dtype))
        ]

    def verify(self, when: str) -> None:
        """Raise unless every transferred tensor equals the checkpoint's.

        Args:
            when (str): When the check runs, for the message.
        """
        differing = self.differing()
        if differing:
            raise RuntimeError(
                f'PiMAEPretrained {self.checkpoint}: {len(differing)} of '
                f'{len(self.mapped)} transferred tensors of '
                f'{type(self.module).__name__} no longer equal the '
                f'checkpoint {when}: {differing[:6]}'
                f'{" ..." if len(differing) > 6 else ""}. Something '
                're-initialised them after PiMAEPretrained was applied (an '
                'init_weights that runs after the initialisation of the whole '
                'model, or code that writes parameters before training). The '
                'model would start from scratch while named pre-trained.')

    def guard_until_first_forward(self, root: nn.Module) -> None:
        """Check the tensors again when ``root`` first runs forward, unless
        a state dict is loaded into the module before (``load_from``,
        ``--resume``, ``load_state_dict``), which legitimately replaces
        them. The hooks are bound methods, so the model stays picklable.

        Args:
            root (nn.Module): The module whose initialisation applied the
                transfer (the model the Runner initialises).
        """
        self.root_name = type(root).__name__
        self.handles = [
            root.register_forward_pre_hook(self._before_forward),
            self.module.register_load_state_dict_pre_hook(self._before_load)
        ]

    def _release(self) -> None:
        for handle in getattr(self, 'handles', []):
            handle.remove()
        self.handles = []
        self.mapped = OrderedDict()

    def _before_forward(self, module: nn.Module, args: tuple) -> None:
        if self.mapped:
            self.verify(f'at the first forward pass of {self.root_name}')
        self._release()

    def _before_load(self, module: nn.Module, *args) -> None:
        self._release()


#: Per thread, one list of pending transfers for each ``init_weights`` of a
#: top-level module in progress (innermost last).
_INIT_STATE = threading.local()


def _pending_stack() -> List[List[_PendingTransfer]]:
    stack = getattr(_INIT_STATE, 'stack', None)
    if stack is None:
        stack = _INIT_STATE.stack = []
    return stack


def _with_deferred_transfers(init_weights: Callable) -> Callable:
    """Wrap ``BaseModule.init_weights`` so that PiMAE transfers requested
    anywhere in a model are applied when the model's initialisation ends.

    MMEngine marks the module whose ``init_weights`` starts an
    initialisation (the top-level module, e.g. the detector the Runner
    initialises) by giving the whole tree a shared ``_params_init_info``
    until it returns; a call on a module without it is such a start. At its
    end, after every child's ``init_weights`` and the module's own
    ``Pretrained``, mmengine writes the per-parameter initialisation report
    (``_dump_init_info``): the transfers are applied just before, so that
    the report names them, or right after the call if that method is
    missing.
    """

    @functools.wraps(init_weights)
    def wrapper(self: BaseModule) -> None:
        if hasattr(self, '_params_init_info'):  # inside a model's init
            init_weights(self)
            return
        pending: List[_PendingTransfer] = []
        applied = []

        def apply_pending() -> None:
            if not applied:
                applied.append(True)
                for transfer in pending:
                    transfer.apply()

        dump_init_info = getattr(self, '_dump_init_info', None)

        def apply_then_dump() -> None:
            apply_pending()
            dump_init_info()

        stack = _pending_stack()
        stack.append(pending)
        if dump_init_info is not None:
            self.__dict__['_dump_init_info'] = apply_then_dump
        try:
            init_weights(self)
        finally:
            stack.pop()
            self.__dict__.pop('_dump_init_info', None)
        apply_pending()
        for transfer in pending:
            transfer.verify('after the initialisation of '
                            f'{type(self).__name__} (every child\'s '
                            'init_weights included)')
            print_log(
                f'PiMAEPretrained: verified, all {len(transfer.mapped)} '
                f'transferred tensors of {type(transfer.module).__name__} '
                f'equal the checkpoint after {type(self).__name__} was '
                'initialised',
                logger='current')
            transfer.guard_until_first_forward(self)

    wrapper._defers_pimae_transfers = True
    return wrapper


def install_deferred_init() -> None:
    """Make ``PiMAEPretrained`` apply its weights after the whole model is
    initialised, whatever module carries it. Idempotent; done when this
    module is imported."""
    if not getattr(BaseModule.init_weights, '_defers_pimae_transfers', False):
        BaseModule.init_weights = _with_deferred_transfers(
            BaseModule.init_weights)


install_deferred_init()


def _encoder_prefixes(state: Dict[str, Tensor]) -> List[str]:
    """Prefixes of transformer layer lists in a state dict (for hints)."""
    suffix = '0.self_attn.in_proj_weight'
    return [key[:-len(suffix)] for key in state if key.endswith(suffix)]


@WEIGHT_INITIALIZERS.register_module(name='PiMAEPretrained')
class PiMAEPretrainedInit:
    """Load PiMAE's point-specific and shared encoder layers into a
    detector's encoder (3 + 3 layers -> ``{target_prefix}0..5``).

    Nothing else is transferred. Every source key is accounted for in the
    report (:func:`map_pimae_encoder_weights`), which is logged; with
    ``strict`` a missing target tensor, an unmatched source encoder tensor
    or a shape mismatch is an error, and a model with no parameters under
    ``target_prefix``, or a transfer of no tensor at all, is always one.
    The checkpoint is read with ``torch.load(weights_only=True)``.

    Use it as the ``init_cfg`` of any detector whose backbone has PiMAE's
    encoder layers (:class:`ThreeDETR`, mmdet3d's ``VoteNet`` or
    ``GroupFree3DNet`` with ``PiMAEPointBackbone``, a model of your own),
    e.g. ``init_cfg=dict(type='PiMAEPretrained', checkpoint='pimae.pth')``.

    MMEngine's ``BaseModule.init_weights`` runs a module's own ``init_cfg``
    before its children's ``init_weights``, which would overwrite the
    loaded layers (only its built-in ``Pretrained`` is applied after the
    children, and only after the children of the module that carries it).
    So when called during the initialisation of a model, this initializer
    checks the keys at once but copies the tensors only when the
    ``init_weights`` of the top-level module (the one the Runner calls)
    returns from mmengine's initialisation, after every child's
    ``init_weights``. It then checks that every transferred tensor equals
    the checkpoint (an error otherwise), and checks again at the model's
    first forward pass unless a state dict was loaded into it before
    (``load_from`` / ``--resume``). Importing this module installs that
    deferral into ``BaseModule.init_weights`` (:func:`install_deferred_init`);
    called outside any ``init_weights`` the initializer loads and checks at
    once.

    Args:
        checkpoint (str): PiMAE checkpoint (this project's, official, or
            converted by ``tools/model_converters/pimae_to_3detr.py``).
        target_prefix (str): Prefix of the encoder layer list in the module
            that carries the ``init_cfg``. Defaults to
            'backbone.encoder.layers.' (``ThreeDETRBackbone`` and
            ``PiMAEPointBackbone`` in a detector).
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
        """Map the checkpoint onto ``module`` and load it, now or when the
        current model initialisation ends.

        Args:
            module (nn.Module): Module whose state dict has the
                ``target_prefix`` keys.
        """
        target = module.state_dict()
        host = type(module).__name__
        if not any(key.startswith(self.target_prefix) for key in target):
            candidates = _encoder_prefixes(target)
            hint = (f'; its transformer layer lists are under '
                    f'{candidates}: set target_prefix to the one holding '
                    "PiMAE's encoder layers" if candidates else
                    '; give it a backbone with PiMAE\'s encoder layers, '
                    "e.g. backbone=dict(type='PiMAEPointBackbone', ...) for "
                    "mmdet3d's VoteNet / GroupFree3D heads")
            raise ValueError(
                f'PiMAEPretrained {self.checkpoint}: {host} has no '
                f'parameters under target_prefix={self.target_prefix!r}, so '
                f'no PiMAE weight can be loaded into it{hint}')
        source = load_state_dict_file(self.checkpoint)
        mapped, report = map_pimae_encoder_weights(source, target,
                                                   self.target_prefix)
        self.report = report
        text = format_report(report, self.checkpoint)
        if self.strict and (report['unmatched_source']
                            or report['missing_target']
                            or report['shape_mismatch']):
            raise ValueError(
                f'{text}\nthe PiMAE encoder does not map one to one onto '
                f'{host}; match the number of encoder layers and their '
                'sizes to the checkpoint, or pass strict=False')
        if not mapped:
            raise ValueError(f'{text}\nno tensor of the checkpoint fits '
                             f'{host}; nothing would be transferred')
        transfer = _PendingTransfer(module, mapped, text, self.checkpoint)
        stack = _pending_stack()
        if stack:
            stack[-1].append(transfer)
            print_log(
                f'PiMAEPretrained {self.checkpoint}: {len(mapped)} tensors '
                f'of {host} will be loaded once the whole model is '
                'initialised',
                logger='current')
            return
        if hasattr(module, '_params_init_info'):
            raise RuntimeError(
                'PiMAEPretrained was called inside an init_weights that '
                'started before BaseModule.init_weights could defer it '
                '(the method was looked up before projects.pimae.pimae was '
                'imported); import projects.pimae.pimae first, e.g. with '
                'custom_imports in the config')
        transfer.apply()
        transfer.verify('right after loading')

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: load from {self.checkpoint}'
