"""Helpers of the tools that need the project's stack (``torch``,
``mmengine``): the CPU distributed fallback and the default hooks."""
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict


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


def ensure_custom_hooks(cfg: Config, types: Sequence[str]) -> List[str]:
    """Append the hooks of ``types`` a config's ``custom_hooks`` lacks.

    The project's tools give every run its safety hooks (weights-only
    checkpoints, checkpoint key checks ...), also when the config is a
    user's own on mmdet3d's ``default_runtime``. The hooks are registered
    in mmdet3d's registry, so they are named ``mmdet3d.<type>``: that finds
    them in configs of any default scope (e.g. mmpretrain's).

    Args:
        cfg (Config): Updated in place.
        types (sequence[str]): Hook types registered in mmdet3d's ``HOOKS``.

    Returns:
        list[str]: The types that were added.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    present = {str(hook.get('type')).split('.')[-1] for hook in hooks}
    added = [t for t in types if t not in present]
    cfg.custom_hooks = hooks + [ConfigDict(type=f'mmdet3d.{t}') for t in added]
    return added
