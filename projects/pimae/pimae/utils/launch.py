"""Helpers shared by ``tools/train.py`` and ``tools/test.py``."""
import difflib
import os
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict


class ConfigOptionError(KeyError):
    """A ``--cfg-options`` key that does not exist in the config."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _children(node: Any) -> List[str]:
    if isinstance(node, dict):
        return [str(k) for k in node.keys()]
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Check that every ``--cfg-options`` key names an existing entry.

    MMEngine merges unknown keys silently, so a typo such as
    ``train_dataloader.batchsize=4`` would be ignored and surface much later,
    if at all. A key may add a new leaf only where its parent is a dict whose
    ``type`` is being replaced by the same options (a new component with new
    arguments) or whose value is being replaced wholesale.

    Args:
        cfg (Config): The loaded config.
        options (dict): Parsed ``--cfg-options`` (dotted keys to values).

    Raises:
        ConfigOptionError: Naming the first unknown key, the part of it that
            exists, and the closest existing names.
    """
    replaced = {
        key[:-len('.type')]
        for key in options if key.endswith('.type')
    }
    replaced |= {
        key
        for key, value in options.items() if isinstance(value, dict)
    }
    for full_key in options:
        node: Any = cfg._cfg_dict
        parts = full_key.split('.')
        for depth, part in enumerate(parts):
            prefix = '.'.join(parts[:depth])
            if prefix in replaced:
                break
            names = _children(node)
            if part not in names:
                where = f"'{prefix}'" if prefix else 'the config'
                close = difflib.get_close_matches(part, names, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ''
                if not names:
                    hint = f" '{prefix}' is {node!r}, not a dict or list."
                raise ConfigOptionError(
                    f"--cfg-options key '{full_key}': {where} has no key "
                    f"'{part}'.{hint}")
            node = node[int(part)] if isinstance(node, (list, tuple)) \
                else node[part]


def setup_cpu_distributed(cfg: Config) -> Optional[str]:
    """Initialise ``torch.distributed`` with gloo when CUDA is unavailable.

    MMEngine 0.10.7 assumes CUDA for ``launcher='pytorch'``: ``init_dist``
    calls ``torch.cuda.set_device`` and the Runner wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``. Without CUDA this function initialises the
    process group with gloo from the ``torchrun`` environment (the Runner then
    skips its own ``init_dist``) and wraps the model with ``device_ids=None``.

    Args:
        cfg (Config): Config whose ``launcher`` is already set; updated in
            place (``env_cfg.dist_cfg.backend`` and ``model_wrapper_cfg``).

    Returns:
        str, optional: A message for the run's log when the gloo fallback was
        applied, else None.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return None
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    requested = dist_cfg.get('backend', 'nccl')
    dist_cfg['backend'] = 'gloo'
    # same defaults as the Runner's own wrapper, minus the CUDA device ids
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = {} if timeout is None else dict(timeout=timeout)
        dist.init_process_group(backend='gloo', **kwargs)
    return (f'CUDA is not available: using the gloo backend instead of '
            f"'{requested}' for distributed training on CPU "
            f'(rank {dist.get_rank()} of {dist.get_world_size()}).')


def set_local_rank(local_rank: int) -> None:
    """Export ``LOCAL_RANK`` for launchers that pass ``--local-rank``."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)
