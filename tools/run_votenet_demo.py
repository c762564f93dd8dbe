"""mmdet3d's VoteNet on generated scenes with three backbones, one budget.

    python tools/run_votenet_demo.py [--pimae-checkpoint PATH]
        [--work-dir work_dirs/votenet_demo] [--cfg-options k=v ...]

1. generates the synthetic SUN RGB-D scenes (``tools/create_demo_data.py``)
   unless ``--data-root`` already holds them;
2. takes the PiMAE checkpoint given, or the latest one of the PiMAE demo
   (``work_dirs/pimae_demo``), pre-training it with
   ``configs/pimae/pretrain_demo.py`` when there is none;
3. trains, through ``tools/train.py`` with the same seed, schedule and head,
   VoteNet with

   - ``stock``: mmdet3d's PointNet++ backbone
     (``configs/votenet/votenet_demo_sunrgbd-3d.py``),
   - ``pimae-scratch``: PiMAE's point backbone from scratch
     (``votenet_pimae-backbone_demo_sunrgbd-3d.py``),
   - ``pimae``: the same, its encoder initialised from the PiMAE checkpoint
     (``votenet_pimae_demo_sunrgbd-3d.py``);

   each run evaluates its final weights on the val split with mmdet3d's
   ``IndoorMetric`` at its end, and the tool prints AP@0.25 / AP@0.5 of the
   three, also written to ``<work-dir>/summary.json``.

All of it runs on the CPU: importing the project switches mmcv's point ops
(furthest point sampling, ball query, interpolation, points in boxes) to its
CPU backend.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from demo_runs import TRAIN, run  # noqa: E402
from demo_runs import ensure_demo_data, latest_checkpoint  # noqa: E402

#: run name -> config under configs/votenet/
CONFIGS = {
    'stock': 'votenet_demo_sunrgbd-3d.py',
    'pimae-scratch': 'votenet_pimae-backbone_demo_sunrgbd-3d.py',
    'pimae': 'votenet_pimae_demo_sunrgbd-3d.py',
}
PRETRAIN_CONFIG = osp.join(ROOT, 'configs/pimae/pretrain_demo.py')
METRICS = ('mAP_0.25', 'mAP_0.50', 'mAR_0.25', 'mAR_0.50')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/votenet_demo',
        help='runs go to <work-dir>/<run name>')
    parser.add_argument(
        '--data-root',
        default='data/sunrgbd_demo',
        help='generated SUN RGB-D scenes (created when absent)')
    parser.add_argument(
        '--num-scenes',
        type=int,
        default=64,
        help='scenes to generate when --data-root is empty')
    parser.add_argument(
        '--pimae-checkpoint',
        help='PiMAE checkpoint; default: the latest of work_dirs/pimae_demo, '
        'pre-trained with configs/pimae/pretrain_demo.py if there is none')
    parser.add_argument(
        '--runs',
        nargs='+',
        choices=list(CONFIGS),
        default=list(CONFIGS),
        help='which of the three runs to make (default: all)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='overrides passed to every VoteNet training, e.g. '
        'train_cfg.max_epochs=10')
    return parser.parse_args(argv)


def pimae_checkpoint(given: Optional[str], data_root: str) -> str:
    """The checkpoint given, or the PiMAE demo's latest (pre-trained here
    when there is none)."""
    checkpoint = given
    if checkpoint is None:
        pretrain_dir = 'work_dirs/pimae_demo'
        checkpoint = latest_checkpoint(pretrain_dir)
        if checkpoint is None:
            run([
                sys.executable, TRAIN, PRETRAIN_CONFIG, '--work-dir',
                pretrain_dir, '--cfg-options',
                f'train_dataloader.dataset.data_root={data_root}'
            ])
            checkpoint = latest_checkpoint(pretrain_dir)
    checkpoint = osp.abspath(checkpoint)
    if not osp.isfile(checkpoint):
        sys.exit(f'error: PiMAE checkpoint not found: {checkpoint}')
    return checkpoint


def read_val_metrics(work_dir: str) -> Dict[str, float]:
    """AP / AR of the last validation of the newest run in ``work_dir``.

    The metrics are those ``IndoorMetric`` computed, as the run logged them
    to ``<work_dir>/<timestamp>/vis_data/scalars.json``. ``IndoorMetric``
    gives NaN for a class without ground truth in the split (and so a NaN
    mean); a small generated val split may miss some classes, so the means
    here are over the classes it has (``num_classes``).
    """
    logs = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')),
        key=osp.getmtime)
    if not logs:
        sys.exit(f'error: the run in {work_dir} logged no scalars')
    last_val: Dict[str, float] = {}
    with open(logs[-1]) as f:
        for line in f:
            record = json.loads(line) if line.strip() else {}
            if any(key.endswith('_AP_0.25') for key in record):
                last_val = record
    if not last_val:
        sys.exit(f'error: {logs[-1]} holds no IndoorMetric result; did the '
                 'run validate at its end (train_cfg.val_interval)?')
    summary: Dict[str, float] = {}
    for metric in METRICS:
        kind, thr = metric.split('_')  # mAP / mAR, threshold
        suffix = f'_{"AP" if kind == "mAP" else "rec"}_{thr}'
        values = [
            float(v) for k, v in last_val.items()
            if k.endswith(suffix) and not math.isnan(float(v))
        ]
        if not values:
            sys.exit(f'error: {logs[-1]} has no per-class {suffix[1:]}')
        summary[metric] = sum(values) / len(values)
        summary['num_classes'] = len(values)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    ensure_demo_data(data_root, args.num_scenes)
    data_options = [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    checkpoint = None
    if 'pimae' in args.runs:
        checkpoint = pimae_checkpoint(args.pimae_checkpoint, data_root)

    results, seconds = {}, {}
    for name in args.runs:
        work_dir = osp.join(args.work_dir, name)
        options = data_options + list(args.cfg_options)
        if name == 'pimae':
            options.append(f'model.init_cfg.checkpoint={checkpoint}')
        seconds[name] = run([
            sys.executable, TRAIN,
            osp.join(ROOT, 'configs', 'votenet', CONFIGS[name]), '--work-dir',
            work_dir, '--cfg-options', *options
        ])
        # the val evaluation at the end of the run: IndoorMetric of the
        # final weights
        results[name] = read_val_metrics(work_dir)

    summary = dict(
        pimae_checkpoint=checkpoint, results=results, seconds=seconds)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\nVoteNet demo (val split of the generated scenes):')
    print(f'| backbone | {" | ".join(METRICS)} | classes with val boxes | '
          'train + val (s) |')
    print('|' + ' --- |' * (len(METRICS) + 3))
    for name, metrics in results.items():
        values = ' | '.join(f'{100 * metrics[m]:.2f}' for m in METRICS)
        print(f'| {name} | {values} | {metrics["num_classes"]} | '
              f'{seconds[name]:.0f} |')
    print(f'\nsummary: {osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
