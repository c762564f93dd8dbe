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
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from demo_runs import TEST, TRAIN, run  # noqa: E402
from demo_runs import data_root_options, demo_arg_parser  # noqa: E402
from demo_runs import ensure_demo_data, find_pimae_checkpoint  # noqa: E402
from demo_runs import indoor_metric_means, latest_checkpoint  # noqa: E402
from demo_runs import print_indoor_table, read_test_json  # noqa: E402

CONFIGS = dict(
    scratch=osp.join(ROOT, 'configs/threedetr/threedetr_demo_sunrgbd.py'),
    pimae=osp.join(ROOT, 'configs/threedetr/threedetr_pimae_demo_sunrgbd.py'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = demo_arg_parser(
        __doc__.split('\n')[0],
        work_dir='work_dirs/threedetr_demo',
        work_dir_help='runs go to <work-dir>/scratch and <work-dir>/pimae',
        checkpoint_help='PiMAE checkpoint; default: the latest of '
        'work_dirs/pimae_demo, pre-trained with '
        'configs/pimae/pretrain_demo.py if there is none',
        cfg_options_help='overrides passed to both 3DETR trainings, e.g. '
        'train_cfg.max_epochs=10')
    return parser.parse_args(argv)


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """AP / AR of the json file that ``tools/test.py`` wrote, averaged over
    the classes the val split has (``num_classes``)."""
    metrics = read_test_json(test_dir)
    return indoor_metric_means(metrics, metrics['_path'])


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    py = sys.executable
    data_root = args.data_root.rstrip('/') + '/'
    ensure_demo_data(data_root, args.num_scenes)
    data_options = data_root_options(data_root)
    checkpoint = find_pimae_checkpoint(
        args.pimae_checkpoint, pretrain_data_root=data_root)

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
    print_indoor_table('3DETR demo (val split of the generated scenes):',
                       'init', results)
    print(f'\nsummary: {osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
