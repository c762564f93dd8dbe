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
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from demo_runs import TRAIN, run  # noqa: E402
from demo_runs import data_root_options, demo_arg_parser  # noqa: E402
from demo_runs import ensure_demo_data, find_pimae_checkpoint  # noqa: E402
from demo_runs import indoor_metric_means  # noqa: E402
from demo_runs import print_indoor_table  # noqa: E402

#: run name -> config under configs/votenet/
CONFIGS = {
    'stock': 'votenet_demo_sunrgbd-3d.py',
    'pimae-scratch': 'votenet_pimae-backbone_demo_sunrgbd-3d.py',
    'pimae': 'votenet_pimae_demo_sunrgbd-3d.py',
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = demo_arg_parser(
        __doc__.split('\n')[0],
        work_dir='work_dirs/votenet_demo',
        work_dir_help='runs go to <work-dir>/<run name>',
        checkpoint_help='PiMAE checkpoint; default: the latest of '
        'work_dirs/pimae_demo, pre-trained with '
        'configs/pimae/pretrain_demo.py if there is none',
        cfg_options_help='overrides passed to every VoteNet training, e.g. '
        'train_cfg.max_epochs=10')
    parser.add_argument(
        '--runs',
        nargs='+',
        choices=list(CONFIGS),
        default=list(CONFIGS),
        help='which of the three runs to make (default: all)')
    return parser.parse_args(argv)


def read_val_metrics(work_dir: str) -> Dict[str, float]:
    """AP / AR of the last validation of the newest run in ``work_dir``.

    The metrics are those ``IndoorMetric`` computed, as the run logged them
    to ``<work_dir>/<timestamp>/vis_data/scalars.json``, averaged over the
    classes the val split has (``num_classes``).
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
    return indoor_metric_means(last_val, logs[-1])


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    ensure_demo_data(data_root, args.num_scenes)
    data_options = data_root_options(data_root)
    checkpoint = None
    if 'pimae' in args.runs:
        checkpoint = find_pimae_checkpoint(
            args.pimae_checkpoint, pretrain_data_root=data_root)

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
    print_indoor_table('VoteNet demo (val split of the generated scenes):',
                       'backbone', results, seconds)
    print(f'\nsummary: {osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
