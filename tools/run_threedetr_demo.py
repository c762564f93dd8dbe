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
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from demo_runs import TEST, TRAIN, run  # noqa: E402
from demo_runs import ensure_demo_data, latest_checkpoint  # noqa: E402
from demo_runs import read_test_json  # noqa: E402

CONFIGS = dict(
    scratch=osp.join(ROOT, 'configs/threedetr/threedetr_demo_sunrgbd.py'),
    pimae=osp.join(ROOT, 'configs/threedetr/threedetr_pimae_demo_sunrgbd.py'))
PRETRAIN_CONFIG = osp.join(ROOT, 'configs/pimae/pretrain_demo.py')
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


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """AP / AR of the json file that ``tools/test.py`` wrote.

    ``IndoorMetric`` gives NaN for a class without ground truth in the split
    (and so a NaN mean); a small generated val split may miss some classes,
    so the means here are over the classes it has (``num_classes``).
    """
    metrics = read_test_json(test_dir)
    summary: Dict[str, float] = {}
    for metric in METRICS:
        kind, thr = metric.split('_')  # mAP / mAR, threshold
        suffix = f'_{"AP" if kind == "mAP" else "rec"}_{thr}'
        values = [
            float(v) for k, v in metrics.items()
            if k.endswith(suffix) and not math.isnan(float(v))
        ]
        if not values:
            sys.exit(f'error: {metrics["_path"]} has no per-class '
                     f'{suffix[1:]}')
        summary[metric] = sum(values) / len(values)
        summary['num_classes'] = len(values)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    py = sys.executable
    data_root = args.data_root.rstrip('/') + '/'
    ensure_demo_data(data_root, args.num_scenes)
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
