"""3DETR on generated scenes, from scratch and from PiMAE, with one budget.

    python tools/run_threedetr_demo.py [--pimae-checkpoint PATH]
        [--work-dir work_dirs/threedetr_demo] [--cfg-options k=v ...]

1. generates the synthetic SUN RGB-D scenes (``tools/create_demo_data.py``)
   unless ``--data-root`` already holds them;
2. takes the PiMAE checkpoint given, or the latest one of the PiMAE demo
   (``work_dirs/pimae_demo``), pre-training it with
   ``configs/pimae/pretrain_demo.py`` when there is none;
3. trains ``configs/threedetr/threedetr_demo_sunrgbd.py`` (scratch) and
   ``configs/threedetr/threedetr_pimae_demo_sunrgbd.py`` (encoder layers 0-5
   from PiMAE) through ``tools/train.py`` with the same seed and schedule,
   tests both final checkpoints through ``tools/test.py`` (mmdet3d's
   ``IndoorMetric``) and prints AP@0.25 / AP@0.5 of both, also written to
   ``<work-dir>/summary.json``.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = dict(
    scratch=osp.join(ROOT, 'configs/threedetr/threedetr_demo_sunrgbd.py'),
    pimae=osp.join(ROOT, 'configs/threedetr/threedetr_pimae_demo_sunrgbd.py'))
PRETRAIN_CONFIG = osp.join(ROOT, 'configs/pimae/pretrain_demo.py')
TRAIN, TEST = osp.join(ROOT, 'tools/train.py'), osp.join(ROOT, 'tools/test.py')
METRICS = ('mAP_0.25', 'mAP_0.50', 'mAR_0.25', 'mAR_0.50')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/threedetr_demo',
        help='runs go to <work-dir>/scratch and <work-dir>/pimae')
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
        '--cfg-options',
        nargs='+',
        default=[],
        help='overrides passed to both 3DETR trainings, e.g. '
        'train_cfg.max_epochs=10')
    return parser.parse_args(argv)


def run(cmd: List[str]) -> None:
    """Run a tool; stop with its exit code if it fails."""
    print('+', ' '.join(cmd), flush=True)
    result = subprocess.run(cmd)
    if result.returncode != 0:
        sys.exit(f'error: `{" ".join(cmd)}` failed with exit code '
                 f'{result.returncode}')


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named by ``<work_dir>/last_checkpoint``, if any."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = osp.join(work_dir, osp.basename(f.read().strip()))
    return path if osp.isfile(path) else None


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """AP / AR of the json file that ``tools/test.py`` wrote.

    ``IndoorMetric`` gives NaN for a class without ground truth in the split
    (and so a NaN mean); a small generated val split may miss some classes,
    so the means here are over the classes it has (``num_classes``).
    """
    logs = sorted(
        glob.glob(osp.join(test_dir, '*', '*.json')), key=osp.getmtime)
    if not logs:
        sys.exit(f'error: tools/test.py wrote no metrics under {test_dir}')
    metrics = {}
    with open(logs[-1]) as f:
        for line in f:
            if line.strip():
                metrics.update(json.loads(line))
    summary: Dict[str, float] = {}
    for metric in METRICS:
        kind, thr = metric.split('_')  # mAP / mAR, threshold
        suffix = f'_{"AP" if kind == "mAP" else "rec"}_{thr}'
        values = [
            float(v) for k, v in metrics.items()
            if k.endswith(suffix) and not math.isnan(float(v))
        ]
        if not values:
            sys.exit(f'error: {logs[-1]} has no per-class {suffix[1:]}')
        summary[metric] = sum(values) / len(values)
        summary['num_classes'] = len(values)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    py = sys.executable
    data_root = args.data_root.rstrip('/') + '/'
    if not osp.isfile(osp.join(data_root, 'sunrgbd_infos_train.pkl')):
        run([
            py,
            osp.join(ROOT, 'tools/create_demo_data.py'), '--out-dir',
            data_root, '--num-scenes',
            str(args.num_scenes), '--seed', '0'
        ])
    data_options = [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]

    checkpoint = args.pimae_checkpoint
    if checkpoint is None:
        pretrain_dir = 'work_dirs/pimae_demo'
        checkpoint = latest_checkpoint(pretrain_dir)
        if checkpoint is None:
            run([
                py, TRAIN, PRETRAIN_CONFIG, '--work-dir', pretrain_dir,
                '--cfg-options',
                f'train_dataloader.dataset.data_root={data_root}'
            ])
            checkpoint = latest_checkpoint(pretrain_dir)
    checkpoint = osp.abspath(checkpoint)
    if not osp.isfile(checkpoint):
        sys.exit(f'error: PiMAE checkpoint not found: {checkpoint}')

    results = {}
    for name, config in CONFIGS.items():
        work_dir = osp.join(args.work_dir, name)
        options = data_options + list(args.cfg_options)
        if name == 'pimae':
            options.append(f'model.init_cfg.checkpoint={checkpoint}')
        run([
            py, TRAIN, config, '--work-dir', work_dir, '--cfg-options',
            *options
        ])
        final = latest_checkpoint(work_dir)
        if final is None:
            sys.exit(f'error: the {name} run left no checkpoint in '
                     f'{work_dir}')
        test_dir = osp.join(work_dir, 'test')
        run([
            py, TEST, config, final, '--work-dir', test_dir, '--cfg-options',
            *options
        ])
        results[name] = read_test_metrics(test_dir)

    summary = dict(pimae_checkpoint=checkpoint, results=results)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\n3DETR demo (val split of the generated scenes):')
    print(f'| init | {" | ".join(METRICS)} | classes with val boxes |')
    print('|' + ' --- |' * (len(METRICS) + 2))
    for name, metrics in results.items():
        values = ' | '.join(f'{100 * metrics[m]:.2f}' for m in METRICS)
        print(f'| {name} | {values} | {metrics["num_classes"]} |')
    print(f'\nsummary: {osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
