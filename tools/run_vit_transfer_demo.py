"""PiMAE's image encoder as a ViT on object crops, vs. random init.

    python tools/run_vit_transfer_demo.py [--pimae-checkpoint PATH]
        [--work-dir work_dirs/vit_transfer_demo] [--cfg-options k=v ...]

1. generates the synthetic SUN RGB-D scenes (``tools/create_demo_data.py``)
   unless ``--data-root`` already holds them;
2. takes the PiMAE checkpoint given, or the latest one of the PiMAE demo
   (``work_dirs/pimae_demo``, written by ``bash tools/demo.sh``), and
   converts its image branch into an mmpretrain ViT checkpoint
   (``tools/model_converters/pimae_to_mmpretrain_vit.py``);
3. trains ``configs/vit/vit-pimae_linear-probe_sunrgbd-crops_demo.py`` and
   ``configs/vit/vit-pimae_finetune_sunrgbd-crops_demo.py`` on crops of the
   annotated objects (10 classes), each from the PiMAE weights and from a
   random initialisation with the same seed and schedule, through
   ``tools/train.py``; tests every final checkpoint on the val crops through
   ``tools/test.py`` and prints the top-1 accuracy of the four runs, also
   written to ``<work-dir>/summary.json``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from demo_runs import PIMAE_DEMO_DIR, TEST, TRAIN, run  # noqa: E402
from demo_runs import data_root_options, demo_arg_parser  # noqa: E402
from demo_runs import ensure_demo_data, find_pimae_checkpoint  # noqa: E402
from demo_runs import latest_checkpoint, read_test_json  # noqa: E402

CONFIGS = dict(
    linear_probe=osp.join(
        ROOT, 'configs/vit/vit-pimae_linear-probe_sunrgbd-crops_demo.py'),
    finetune=osp.join(ROOT,
                      'configs/vit/vit-pimae_finetune_sunrgbd-crops_demo.py'))
INITS = ('pimae', 'random')
CONVERTER = osp.join(ROOT, 'tools/model_converters/pimae_to_mmpretrain_vit.py')
METRIC = 'accuracy/top1'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = demo_arg_parser(
        __doc__.split('\n')[0],
        work_dir='work_dirs/vit_transfer_demo',
        work_dir_help='runs go to '
        '<work-dir>/<linear_probe|finetune>_<pimae|random>',
        checkpoint_help='PiMAE checkpoint (ours or official); default: the '
        f'latest of {PIMAE_DEMO_DIR} (bash tools/demo.sh writes it)',
        cfg_options_help='overrides passed to all four trainings and tests, '
        'e.g. train_cfg.max_epochs=4')
    return parser.parse_args(argv)


def read_test_metric(test_dir: str) -> float:
    """The top-1 accuracy that ``tools/test.py`` logged to its json file."""
    metrics = read_test_json(test_dir)
    if METRIC not in metrics:
        sys.exit(f'error: {metrics["_path"]} has no {METRIC}')
    return float(metrics[METRIC])


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    py = sys.executable
    start = time.perf_counter()
    checkpoint = find_pimae_checkpoint(args.pimae_checkpoint)
    data_root = args.data_root.rstrip('/') + '/'
    ensure_demo_data(data_root, args.num_scenes)
    os.makedirs(args.work_dir, exist_ok=True)
    vit_checkpoint = osp.abspath(osp.join(args.work_dir, 'pimae_vit.pth'))
    run([py, CONVERTER, checkpoint, vit_checkpoint])

    data_options = data_root_options(data_root)
    init_options = dict(
        pimae=f'model.backbone.init_cfg.checkpoint={vit_checkpoint}',
        random='model.backbone.init_cfg=None')
    results: Dict[str, Dict[str, dict]] = {}
    for protocol, config in CONFIGS.items():
        for init in INITS:
            work_dir = osp.join(args.work_dir, f'{protocol}_{init}')
            options = data_options + [init_options[init]] + list(
                args.cfg_options)
            train_time = run([
                py, TRAIN, config, '--work-dir', work_dir, '--cfg-options',
                *options
            ])
            final = latest_checkpoint(work_dir)
            if final is None:
                sys.exit(f'error: the {protocol} run from {init} weights '
                         f'left no checkpoint in {work_dir}')
            test_dir = osp.join(work_dir, 'test')
            test_time = run([
                py, TEST, config, final, '--work-dir', test_dir,
                '--cfg-options', *options
            ])
            results.setdefault(protocol, {})[init] = dict(
                top1=read_test_metric(test_dir),
                checkpoint=osp.abspath(final),
                train_s=round(train_time, 1),
                test_s=round(test_time, 1))

    summary = dict(
        pimae_checkpoint=checkpoint,
        vit_checkpoint=vit_checkpoint,
        data_root=osp.abspath(data_root),
        cfg_options=list(args.cfg_options),
        results=results,
        wall_s=round(time.perf_counter() - start, 1))
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\nViT on object crops of the generated scenes (val split, '
          '10 classes):')
    print('| protocol | init | top-1 (%) | train (s) | test (s) |')
    print('| --- | --- | --- | --- | --- |')
    for protocol, by_init in results.items():
        for init, row in by_init.items():
            print(f'| {protocol.replace("_", " ")} | {init} | '
                  f'{row["top1"]:.2f} | {row["train_s"]:.0f} | '
                  f'{row["test_s"]:.0f} |')
    print(f'\ntotal {summary["wall_s"]:.0f} s; summary: '
          f'{osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
