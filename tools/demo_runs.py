"""Helpers shared by the demo tools that chain ``tools/train.py`` and
``tools/test.py`` (``run_threedetr_demo.py``, ``run_vit_transfer_demo.py``,
``run_votenet_demo.py``): their common options, the PiMAE checkpoint they
start from, and the metrics they read back.

Only the standard library: the demo tools start the real tools as
subprocesses and read what they write.
"""
import argparse
import glob
import json
import math
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
TEST = osp.join(ROOT, 'tools', 'test.py')
#: where ``bash tools/demo.sh`` pre-trains the PiMAE demo
PIMAE_DEMO_DIR = 'work_dirs/pimae_demo'
PRETRAIN_CONFIG = osp.join(ROOT, 'configs', 'pimae', 'pretrain_demo.py')
#: the means of mmdet3d's IndoorMetric the detection demos report
INDOOR_METRICS = ('mAP_0.25', 'mAP_0.50', 'mAR_0.25', 'mAR_0.50')


def demo_arg_parser(description: str, work_dir: str, work_dir_help: str,
                    checkpoint_help: str,
                    cfg_options_help: str) -> argparse.ArgumentParser:
    """The options every demo tool takes: ``--work-dir``, ``--data-root``
    (generated scenes, created when absent), ``--num-scenes``,
    ``--pimae-checkpoint`` and ``--cfg-options`` (passed to every run).

    Returns:
        argparse.ArgumentParser: A tool adds its own options to it.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--work-dir', default=work_dir, help=work_dir_help)
    parser.add_argument(
        '--data-root',
        default='data/sunrgbd_demo',
        help='generated SUN RGB-D scenes (created when absent)')
    parser.add_argument(
        '--num-scenes',
        type=int,
        default=64,
        help='scenes to generate when --data-root is empty')
    parser.add_argument('--pimae-checkpoint', help=checkpoint_help)
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help=cfg_options_help)
    return parser


def data_root_options(data_root: str) -> List[str]:
    """``--cfg-options`` that point the train / val / test datasets of a
    config at ``data_root``."""
    return [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def run(cmd: List[str]) -> float:
    """Run a tool; stop with its exit code if it fails.

    Returns:
        float: Wall time of the command in seconds.
    """
    print('+', ' '.join(cmd), flush=True)
    start = time.perf_counter()
    result = subprocess.run(cmd)
    if result.returncode != 0:
        sys.exit(f'error: `{" ".join(cmd)}` failed with exit code '
                 f'{result.returncode}')
    return time.perf_counter() - start


def ensure_demo_data(data_root: str, num_scenes: int) -> None:
    """Generate the synthetic SUN RGB-D scenes unless ``data_root`` holds
    them (``tools/create_demo_data.py``, seed 0)."""
    if not osp.isfile(osp.join(data_root, 'sunrgbd_infos_train.pkl')):
        run([
            sys.executable,
            osp.join(ROOT, 'tools', 'create_demo_data.py'), '--out-dir',
            data_root, '--num-scenes',
            str(num_scenes), '--seed', '0'
        ])


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named by ``<work_dir>/last_checkpoint``, looked up in
    ``work_dir`` itself (the file holds the path the run wrote, which may be
    relative to another directory), or None."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = osp.join(work_dir, osp.basename(f.read().strip()))
    return path if osp.isfile(path) else None


def find_pimae_checkpoint(given: Optional[str],
                          pretrain_data_root: Optional[str] = None) -> str:
    """The PiMAE checkpoint a demo starts from, as an absolute path.

    Args:
        given (str, optional): The user's ``--pimae-checkpoint``; it must
            exist.
        pretrain_data_root (str, optional): Without ``given``, the latest
            checkpoint of the PiMAE demo (:data:`PIMAE_DEMO_DIR`) is taken;
            when there is none, PiMAE is pre-trained there with
            ``configs/pimae/pretrain_demo.py`` on these scenes, or, if this
            is None, the tool exits with a hint.
    """
    checkpoint = given
    if checkpoint is None:
        checkpoint = latest_checkpoint(PIMAE_DEMO_DIR)
        if checkpoint is None and pretrain_data_root is None:
            sys.exit(f'error: no PiMAE checkpoint: {PIMAE_DEMO_DIR}/'
                     'last_checkpoint does not name an existing file. Run '
                     '`bash tools/demo.sh` first (it pre-trains the PiMAE '
                     'demo there), or pass --pimae-checkpoint PATH.')
        if checkpoint is None:
            run([
                sys.executable, TRAIN, PRETRAIN_CONFIG, '--work-dir',
                PIMAE_DEMO_DIR, '--cfg-options',
                f'train_dataloader.dataset.data_root={pretrain_data_root}'
            ])
            checkpoint = latest_checkpoint(PIMAE_DEMO_DIR)
            if checkpoint is None:
                sys.exit(f'error: the PiMAE pre-training left no checkpoint '
                         f'in {PIMAE_DEMO_DIR}')
    if not osp.isfile(checkpoint):
        sys.exit(f'error: PiMAE checkpoint not found: {checkpoint}')
    return osp.abspath(checkpoint)


def indoor_metric_means(metrics: dict, source: str) -> Dict[str, float]:
    """The means of :data:`INDOOR_METRICS` over the classes that have them.

    ``IndoorMetric`` gives NaN for a class without ground truth in the split
    (and so a NaN mean); a small generated val split may miss some classes,
    so the means here are over the per-class values that are numbers.

    Args:
        metrics (dict): Logged keys such as ``bed_AP_0.25``, ``bed_rec_0.25``.
        source (str): The file they come from, for the error message.

    Returns:
        dict: Each of :data:`INDOOR_METRICS`, and ``num_classes`` (the
        classes averaged).
    """
    means: Dict[str, float] = {}
    for metric in INDOOR_METRICS:
        kind, thr = metric.split('_')  # mAP / mAR, threshold
        suffix = f'_{"AP" if kind == "mAP" else "rec"}_{thr}'
        values = [
            float(v) for k, v in metrics.items()
            if k.endswith(suffix) and not math.isnan(float(v))
        ]
        if not values:
            sys.exit(f'error: {source} has no per-class {suffix[1:]}')
        means[metric] = sum(values) / len(values)
        means['num_classes'] = len(values)
    return means


def print_indoor_table(title: str,
                       name_column: str,
                       results: Dict[str, Dict[str, float]],
                       seconds: Optional[Dict[str, float]] = None) -> None:
    """Print the :func:`indoor_metric_means` of each run as a Markdown
    table, in %, with the wall time of each run if ``seconds`` is given."""
    print(f'\n{title}')
    header = [name_column, *INDOOR_METRICS, 'classes with val boxes']
    if seconds is not None:
        header.append('train + val (s)')
    print(f'| {" | ".join(header)} |')
    print('|' + ' --- |' * len(header))
    for name, metrics in results.items():
        row = [name] + [f'{100 * metrics[m]:.2f}' for m in INDOOR_METRICS]
        row.append(str(metrics['num_classes']))
        if seconds is not None:
            row.append(f'{seconds[name]:.0f}')
        print(f'| {" | ".join(row)} |')


def read_test_json(test_dir: str) -> dict:
    """The metrics that ``tools/test.py`` logged to its newest json file.

    Returns:
        dict: Every key of the file's lines, ``'_path'`` its path.
    """
    logs = sorted(
        glob.glob(osp.join(test_dir, '*', '*.json')), key=osp.getmtime)
    if not logs:
        sys.exit(f'error: tools/test.py wrote no metrics under {test_dir}')
    metrics = dict(_path=logs[-1])
    with open(logs[-1]) as f:
        for line in f:
            if line.strip():
                metrics.update(json.loads(line))
    return metrics
