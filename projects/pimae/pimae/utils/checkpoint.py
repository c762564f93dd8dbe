"""Read checkpoint files safely and check that they fit the model.

Every checkpoint the project reads goes through :func:`load_checkpoint_file`
(``torch.load(weights_only=True)``, passed explicitly so that
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` cannot switch it off), and
:func:`register_safe_checkpoint_loader` makes MMEngine's loader of local
files (``load_from``, ``--resume``, ``tools/test.py``) use it as well.
:func:`check_checkpoint_keys` turns "0 of 412 keys matched" into an error
with a key report instead of a warning nobody reads.
"""
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

#: Keys under which checkpoints keep their state dict, tried in order.
CONTAINER_KEYS = ('state_dict', 'model', 'base_model', 'module')


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read safely, or that does not fit."""


def load_checkpoint_file(path: str,
                         map_location: Any = 'cpu',
                         allowed_globals: Sequence[Any] = ()) -> Any:
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    Args:
        path (str): Local checkpoint path.
        map_location: See :func:`torch.load`. Defaults to 'cpu'.
        allowed_globals (sequence): Classes and functions to admit besides
            torch's (:func:`torch.serialization.safe_globals`), e.g. the
            ``argparse.Namespace`` official 3DETR checkpoints hold; only
            ones that build plain data and run no code belong here.

    Returns:
        Any: The loaded object (tensors and plain Python values only).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CheckpointError: If the file is empty, truncated, not a torch file,
            or holds objects other than tensors and plain values (which
            ``weights_only`` refuses to construct: no code of the file runs).
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{path} is empty (0 bytes)')
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False: keep only the cause
        text = str(error)
        match = re.search(r'Unsupported global: GLOBAL (\S+)', text)
        cause = re.search(r'WeightsUnpickler error: ([^\n]*)', text)
        if match:
            reason = f'it holds a {match.group(1)} object'
        elif cause:
            reason = cause.group(1).strip()
        else:
            reason = text.strip().split('\n')[0]
        raise CheckpointError(
            f'{path} is not a checkpoint this project loads: {reason}. '
            'Checkpoints are read with torch.load(weights_only=True), which '
            'admits only tensors and plain Python values and never runs code '
            'from the file. Checkpoints written by this project qualify; '
            'convert official PiMAE / 3DETR checkpoints with '
            'tools/model_converters/.') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        reason = str(error).split('\n')[0].strip()
        raise CheckpointError(
            f'{path} is not a readable torch checkpoint (truncated or not '
            f'written by torch.save?): {type(error).__name__}: '
            f'{reason}') from None


def get_state_dict(checkpoint: Any, path: str = '') -> Dict[str, Tensor]:
    """The state dict of a loaded checkpoint.

    Args:
        checkpoint: What :func:`load_checkpoint_file` returned.
        path (str): The file, for the message. Defaults to ''.

    Returns:
        dict[str, Tensor]: ``checkpoint[k]`` for the first ``k`` of
        :data:`CONTAINER_KEYS` that holds a dict, else ``checkpoint``.

    Raises:
        CheckpointError: If that is not a non-empty dict of tensors.
    """
    state = checkpoint
    if isinstance(state, dict):
        for key in CONTAINER_KEYS:
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(
            f'{path or "the checkpoint"} holds no state dict of tensors '
            f'(looked under {CONTAINER_KEYS} and at the top level)')
    return state


class KeyReport(NamedTuple):
    """How a checkpoint's state dict fits a model's.

    Attributes:
        matched (list[str]): Model keys found with the same shape.
        missing (list[str]): Model keys absent from the checkpoint.
        unexpected (list[str]): Checkpoint keys the model does not have.
        shape_mismatch (list[tuple]): (key, checkpoint shape, model shape).
        num_model_keys (int): Number of keys of the model's state dict.
    """
    matched: List[str]
    missing: List[str]
    unexpected: List[str]
    shape_mismatch: List[Tuple[str, tuple, tuple]]
    num_model_keys: int

    @property
    def matched_fraction(self) -> float:
        """Fraction of the model's keys that the checkpoint fills."""
        return len(self.matched) / max(1, self.num_model_keys)

    def format(self, source: str = '') -> str:
        """Several lines: counts, then the keys grouped by prefix."""
        lines = [
            f'checkpoint {source}: {len(self.matched)} of '
            f'{self.num_model_keys} model tensors matched '
            f'({100 * self.matched_fraction:.1f}%)',
            f'  missing in the checkpoint: {len(self.missing)}'
            + _grouped(self.missing),
            f'  unexpected (not in the model): {len(self.unexpected)}'
            + _grouped(self.unexpected),
            f'  shape mismatches: {len(self.shape_mismatch)}'
            + (f' {self.shape_mismatch[:5]}' if self.shape_mismatch else ''),
        ]
        return '\n'.join(lines)


def _grouped(keys: Sequence[str], depth: int = 2, limit: int = 8) -> str:
    counts: Dict[str, int] = {}
    for key in keys:
        head = '.'.join(key.split('.')[:depth])
        counts[head] = counts.get(head, 0) + 1
    items = [f'{head}.* ({n})' for head, n in counts.items()]
    more = f', ... {len(items) - limit} more' if len(items) > limit else ''
    return f' in {", ".join(items[:limit])}{more}' if items else ''


def compare_state_dicts(model_state: Dict[str, Tensor],
                        checkpoint_state: Dict[str, Tensor]) -> KeyReport:
    """Compare keys and shapes of two state dicts.

    Args:
        model_state (dict[str, Tensor]): The model's state dict.
        checkpoint_state (dict[str, Tensor]): The checkpoint's.

    Returns:
        KeyReport: The comparison.
    """
    matched, mismatch = [], []
    for key, value in model_state.items():
        if key in checkpoint_state:
            other = checkpoint_state[key]
            if tuple(other.shape) == tuple(value.shape):
                matched.append(key)
            else:
                mismatch.append(
                    (key, tuple(other.shape), tuple(value.shape)))
    return KeyReport(
        matched=matched,
        missing=[k for k in model_state if k not in checkpoint_state],
        unexpected=[k for k in checkpoint_state if k not in model_state],
        shape_mismatch=mismatch,
        num_model_keys=len(model_state))


def revise_keys(state: Dict[str, Tensor],
                pairs: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                ) -> Dict[str, Tensor]:
    """Rename state-dict keys with ``re.sub`` pairs, as MMEngine does when
    it loads a checkpoint (by default: strip a ``module.`` prefix).

    Args:
        state (dict[str, Tensor]): A state dict.
        pairs (sequence[tuple[str, str]]): (pattern, replacement) pairs,
            applied in order.

    Returns:
        dict[str, Tensor]: A new dict with the renamed keys.
    """
    for pattern, replacement in pairs:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    return state


def check_checkpoint_keys(model: nn.Module,
                          checkpoint_state: Dict[str, Tensor],
                          source: str = '',
                          min_matched_fraction: float = 0.5) -> KeyReport:
    """Refuse a checkpoint that fills too little of the model.

    Args:
        model (nn.Module): The model about to receive the weights.
        checkpoint_state (dict[str, Tensor]): The checkpoint's state dict,
            with keys as the model names them (see :func:`revise_keys`).
        source (str): The checkpoint's name, for the message.
        min_matched_fraction (float): Smallest accepted fraction of the
            model's state-dict keys found in the checkpoint with the right
            shape. Defaults to 0.5.

    Returns:
        KeyReport: The comparison (when accepted).

    Raises:
        CheckpointError: With the key report, when too few keys match: the
            checkpoint is most likely of another model.
    """
    report = compare_state_dicts(model.state_dict(), checkpoint_state)
    if report.matched_fraction < min_matched_fraction:
        raise CheckpointError(
            f'{report.format(source)}\nthis checkpoint does not fit '
            f'{type(model).__name__} (fewer than '
            f'{100 * min_matched_fraction:.0f}% of its tensors matched): '
            'is it the checkpoint of another model? Pre-trained weights for '
            'part of a model go through the model\'s init_cfg (e.g. '
            "dict(type='PiMAEPretrained', checkpoint=...)), not load_from.")
    return report


def _load_from_local(filename: str, map_location: Any) -> Any:
    return load_checkpoint_file(filename, map_location)


#: MMEngine prints ``{loader.__name__[10:]}``: "local", as its own loader.
_load_from_local.__name__ = 'load_from_local'


def register_safe_checkpoint_loader(prefixes: Optional[List[str]] = None
                                    ) -> None:
    """Make MMEngine read local checkpoints with :func:`load_checkpoint_file`.

    MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``, so with
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in the environment ``load_from``,
    ``--resume`` and ``tools/test.py`` would unpickle arbitrary objects (and
    run a malicious file's code). Idempotent; importing the project calls it.

    Args:
        prefixes (list[str], optional): Path prefixes to take over. Defaults
            to MMEngine's local-file scheme ``''``.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes if prefixes is not None else '',
        _load_from_local,
        force=True)


def save_checkpoint_file(checkpoint: Dict[str, Any], path: str) -> None:
    """``torch.save`` a converted checkpoint, creating its folder.

    Args:
        checkpoint (dict): Tensors and plain values only, so that it loads
            with :func:`load_checkpoint_file`.
        path (str): Output file.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    torch.save(checkpoint, path)
