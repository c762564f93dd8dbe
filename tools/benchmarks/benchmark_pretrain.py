# Copyright (c) OpenMMLab. All rights reserved.
"""Pre-training throughput of a PiMAE config, end to end with data loading.

Builds the config's Runner (checkpoint and picture hooks off), trains
``--epochs`` epochs and times every iteration after the first
``--warmup`` ones: samples/s end to end (data workers, data preprocessor,
forward, backward, optimizer). The baseline, measured in the same run, is
the model alone: ``train_step`` repeated on one batch already loaded, so
the ratio says how much of the run the data pipeline costs. The time per
epoch of SUN RGB-D (5285 training scenes) follows from the end-to-end rate.

Example (CPU, the demo config on the generated scenes)::

    python tools/benchmarks/benchmark_pretrain.py \
        configs/pimae/pretrain_demo.py

and, on a GPU machine, the real config::

    python tools/benchmarks/benchmark_pretrain.py configs/pimae/pretrain.py \
        --cfg-options train_dataloader.dataset.data_root=data/sunrgbd/
"""
import argparse
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import Dict, List

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from cli_utils import ConfigOptions  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='PiMAE config')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed first iterations')
    parser.add_argument(
        '--model-steps',
        type=int,
        default=3,
        help='train_step repeats of the model-only baseline')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptions)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import torch  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

SUNRGBD_TRAIN_SCENES = 5285


class IterTimes(Hook):
    """Record the wall time of every training iteration, data loading
    included (from the end of the previous iteration, or the start of the
    epoch)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.durations: List[float] = []
        self._last = 0.

    def before_train_epoch(self, runner) -> None:
        self._last = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        now = time.perf_counter()
        self.durations.append(now - self._last)
        self._last = now


def measure_pretrain(cfg: Config,
                     epochs: int = 1,
                     warmup: int = 1,
                     model_steps: int = 3) -> Dict[str, object]:
    """Train ``cfg`` end to end, then time the model alone on one batch.

    The config is changed in place for the run: a temporary work_dir,
    ``epochs`` epochs, no parameter schedulers (they do not change what a
    step costs, and epoch-based ones may not fit a short run), checkpoint
    and picture hooks off, local visualizer backend only. The temporary
    work_dir is removed afterwards.

    Args:
        cfg (Config): A pre-training config with reachable data.
        epochs (int): Epochs to train.
        warmup (int): Untimed first iterations.
        model_steps (int): ``train_step`` repeats of the model-only baseline.

    Returns:
        dict: ``end_to_end`` and ``model_only`` (samples/s), ``batch_size``,
        ``num_workers``, ``timed_iters`` and ``device``.
    """
    cfg.work_dir = tempfile.mkdtemp(prefix='pimae_bench_')
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h['type'] not in ('ReconstructionVisualizationHook', )
    ]
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    try:
        runner = Runner.from_cfg(cfg)
        timer = IterTimes()
        runner.register_hook(timer)
        runner.train()

        batch_size = cfg.train_dataloader.batch_size
        timed = timer.durations[warmup:]
        if not timed:
            raise ValueError(
                f'no timed iterations: {len(timer.durations)} iterations in '
                f'{epochs} epoch(s) and {warmup} warm-up iteration(s); train '
                'more epochs or lower the warm-up')
        end_to_end = batch_size * len(timed) / sum(timed)

        model, optim_wrapper = runner.model, runner.optim_wrapper
        data_batch = next(iter(runner.train_dataloader))
        model.train_step(data_batch, optim_wrapper)  # warm-up
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(model_steps):
            model.train_step(data_batch, optim_wrapper)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        model_only = batch_size * model_steps / (time.perf_counter() - start)
    finally:
        shutil.rmtree(cfg.work_dir, ignore_errors=True)
    return dict(
        end_to_end=end_to_end,
        model_only=model_only,
        batch_size=batch_size,
        num_workers=cfg.train_dataloader.num_workers,
        timed_iters=len(timed),
        device='cuda' if torch.cuda.is_available() else 'cpu')


def main() -> int:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        result = measure_pretrain(cfg, args.epochs, args.warmup,
                                  args.model_steps)
    except ValueError as error:
        sys.exit(f'error: {error}')
    end_to_end, model_only = result['end_to_end'], result['model_only']
    print(f'\n{osp.basename(args.config)} on {result["device"]}, batch '
          f'{result["batch_size"]}, {result["num_workers"]} data workers, '
          f'{result["timed_iters"]} timed iterations')
    print('| measure | samples/s |')
    print('| --- | --- |')
    print(f'| end to end (data loading included) | {end_to_end:.2f} |')
    print(f'| model only (one loaded batch) | {model_only:.2f} |')
    print(f'end to end / model only: {end_to_end / model_only:.2f}')
    minutes = SUNRGBD_TRAIN_SCENES / end_to_end / 60
    print(f'implied time per SUN RGB-D epoch ({SUNRGBD_TRAIN_SCENES} scenes) '
          f'on one such device: {minutes:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
