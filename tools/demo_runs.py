"""Helpers shared by the demo tools that chain ``tools/train.py`` and
``tools/test.py`` (``run_threedetr_demo.py``, ``run_vit_transfer_demo.py``).

Only the standard library: the demo tools start the real tools as
subprocesses and read what they write.
"""
import glob
import json
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
TEST = osp.join(ROOT, 'tools', 'test.py')


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
