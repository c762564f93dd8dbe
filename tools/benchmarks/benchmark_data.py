# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark the paired point + image data path against baselines measured
in the same run.

1. Generation: ``--num-scenes`` synthetic SUN RGB-D scenes at
   ``--width x --height`` (default 730x530, Kinect v2) with
   ``tools/create_demo_data.py``'s generator, in one process and with
   ``--workers`` processes; prints scenes/s and the projected time for 100
   scenes.
2. Pipeline: ``train_pipeline`` of ``--config`` (default: the
   pre-training dataset base, ``configs/_base_/datasets/
   sunrgbd_pretrain.py``: load points + image, check depth2img, sample
   20000, FPS to 2048, resize to 256x352, 3D augmentation, image flip,
   pack) over the generated train split in this process, i.e. the
   throughput of **one data-loader worker** (samples/s), with each
   transform timed separately: the table gives every transform's share of
   the time, FPS included. Compared in the same run: the same pipeline
   with FPS replaced by random sampling to 2048 (what FPS costs) and with
   FPS on the pure torch loop.
3. Variants (:func:`pipeline_variants`): the project's variants of that
   pipeline (FPS in the worker, left to the data preprocessor on the
   device, full-size image decoding) against the pipeline as it ran before
   its data path was tuned: samples/s of each and the ratio.

Times are medians of the process CPU time over ``--repeats`` passes after
a warm-up (the transforms' shares: wall time). The baseline, the variants
and, with ``--compare-tree``, the pipeline of another checkout take turns
pass by pass, so that a drift of the machine's speed reaches them alike.
Every pipeline runs single-threaded (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``, ``cv2.setNumThreads(0)``), as in a PyTorch
data-loader worker under mmengine.

Example:
    python tools/benchmarks/benchmark_data.py
    python tools/benchmarks/benchmark_data.py --num-scenes 100 --workers 2
    git worktree add /tmp/before <commit>
    python tools/benchmarks/benchmark_data.py --compare-tree /tmp/before
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Tuple

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DATA_CONFIG = osp.join(ROOT, 'configs/_base_/datasets/sunrgbd_pretrain.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark synthetic data generation and the PiMAE '
        'pre-training data pipeline.')
    parser.add_argument(
        '--num-scenes',
        type=int,
        default=20,
        help='scenes to generate (and to run through the '
        'pipeline: the train split)')
    parser.add_argument('--width', type=int, default=730)
    parser.add_argument('--height', type=int, default=530)
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='processes for the parallel generation run')
    parser.add_argument(
        '--repeats', type=int, default=3, help='timed passes over the dataset')
    parser.add_argument(
        '--out-dir',
        default=None,
        help='where to generate (default: a temp folder)')
    parser.add_argument(
        '--config',
        default=DATA_CONFIG,
        help='config whose train_pipeline is measured (and its variants)')
    parser.add_argument(
        '--compare-tree',
        default=None,
        help='another checkout of this project (e.g. `git worktree add '
        '/tmp/before <commit>`): its train_pipeline of --config\'s path '
        'runs in a child process on the same scenes, taking turns pass by '
        'pass with the pipelines here')
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports
    # as mmengine / PyTorch set up data-loader workers (before numpy loads
    # BLAS)
    os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from mmengine.registry import (DefaultScope,  # noqa: E402
                               init_default_scope)

from mmdet3d.registry import DATASETS  # noqa: E402
from projects.pimae.pimae import \
    data_generation as synthetic_sunrgbd  # noqa: E402
from projects.pimae.pimae.datasets.transforms.pretrain_pipeline_variants \
    import PIPELINE_VARIANTS, build_pipeline  # noqa: E402

#: SUN RGB-D's JPEGs carry libjpeg's quantisation tables at quality 75 (its
#: default); the generator's default (92) leaves more for the entropy decoder,
#: which no reduced-scale decode can skip, so the benchmarks write their
#: scenes at SUN RGB-D's quality.
SUNRGBD_JPEG_QUALITY = 75


def scene_config(width: int, height: int):
    """The generator's settings for benchmark scenes of ``width x height``
    (JPEGs at :data:`SUNRGBD_JPEG_QUALITY`)."""
    return synthetic_sunrgbd.SceneConfig(
        width=width, height=height, jpeg_quality=SUNRGBD_JPEG_QUALITY)


class TimedTransform:
    """Call a transform and add its wall time to a shared record."""

    def __init__(self, transform, record: Dict[str, List[float]]) -> None:
        self.transform = transform
        self.name = type(transform).__name__
        self.record = record

    def __call__(self, results: dict) -> dict:
        start = time.perf_counter()
        out = self.transform(results)
        self.record[self.name].append(time.perf_counter() - start)
        return out


def bench_generation(out_dir: str,
                     num_scenes: int,
                     width: int = 730,
                     height: int = 530,
                     workers: int = 2) -> Tuple[float, float]:
    """Generate ``num_scenes`` scenes with 1 and ``workers`` processes (the
    second run overwrites the first's identical files).

    Returns:
        tuple[float, float]: Seconds per scene for 1 and for ``workers``
        processes.
    """
    cfg = scene_config(width, height)
    times = []
    for num_workers in (1, workers):
        start = time.perf_counter()
        synthetic_sunrgbd.generate_dataset(
            out_dir, num_scenes, seed=0, cfg=cfg, workers=num_workers)
        times.append((time.perf_counter() - start) / num_scenes)
    return times[0], times[1]


@contextlib.contextmanager
def torch_threads(num_threads: int) -> Iterator[None]:
    """Run the body with ``num_threads`` torch CPU threads, then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def worker_threads() -> Iterator[None]:
    """Run the body single-threaded as in a data-loader worker under
    mmengine: one torch thread, and OpenCV's own thread pool off
    (``env_cfg.mp_cfg.opencv_num_threads=0``, which forked workers
    inherit), then restore both."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(0)
    try:
        with torch_threads(1):
            yield
    finally:
        cv2.setNumThreads(before)


def build_dataset(data_root: str, pipeline: list):
    """The generated train split of ``data_root`` through ``pipeline``."""
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return DATASETS.build(
            dict(
                type='SUNRGBDPretrainDataset',
                data_root=data_root,
                ann_file='sunrgbd_infos_train.pkl',
                pipeline=copy.deepcopy(pipeline)))


def warm_up(dataset) -> None:
    """Seed numpy's global state and run the first two samples untimed."""
    np.random.seed(0)
    for idx in range(min(2, len(dataset))):
        dataset[idx]


def time_pass(dataset) -> float:
    """CPU seconds per sample of one pass over ``dataset``.

    The process's CPU time, not the wall time: on a machine shared with
    other work it does not count the time the process waited for a core,
    and for a data-loader worker with a core of its own the two are equal.
    """
    start = time.process_time()
    for idx in range(len(dataset)):
        dataset[idx]
    return (time.process_time() - start) / len(dataset)


def bench_pipeline(data_root: str, pipeline: list,
                   repeats: int) -> Tuple[float, Dict[str, float], int]:
    """Run the train split through ``pipeline`` in this process.

    Returns:
        tuple: Median CPU seconds per sample, mean wall seconds per sample
        of each transform (keyed by class name), number of samples per
        pass.
    """
    with worker_threads():
        dataset = build_dataset(data_root, pipeline)
        record: Dict[str, List[float]] = defaultdict(list)
        dataset.pipeline.transforms = [
            TimedTransform(t, record) for t in dataset.pipeline.transforms
        ]
        warm_up(dataset)
        record.clear()
        per_pass = [time_pass(dataset) for _ in range(repeats)]
    calls = repeats * len(dataset)
    per_transform = {k: sum(v) / calls for k, v in record.items()}
    return float(np.median(per_pass)), per_transform, len(dataset)


def transform_types(pipeline: list) -> List[str]:
    return [t['type'] for t in pipeline]


def pipeline_variants(config: str = DATA_CONFIG
                      ) -> Tuple[str, list, Dict[str, list]]:
    """The baseline pipeline and the variants to compare with it.

    Both come from ``train_pipeline`` of ``config`` through
    ``build_pipeline`` of ``projects.pimae.pimae.datasets.transforms.
    pretrain_pipeline_variants``: the baseline is ``'upstream-transforms'``
    (the pipeline as it ran before its data path was tuned: mmdet3d's point
    loading and sampling, mmcv's full-size image decoding, FPS on
    torch_quickfps), the variants are ``'worker-fps'`` (the config's
    pipeline), ``'full-decode'`` (the same with the image decoded at full
    size) and ``'device-fps'`` (without FPS in the worker; the data
    preprocessor samples on the device).

    Args:
        config (str): Path of the config.

    Returns:
        tuple: Name of the baseline, its pipeline, and variant name ->
        pipeline.
    """
    from mmengine.config import Config
    base = Config.fromfile(config).train_pipeline
    baseline = 'upstream-transforms'
    return (baseline, build_pipeline(baseline, base), {
        name: build_pipeline(name, base)
        for name in PIPELINE_VARIANTS if name != baseline
    })


#: Run in a child process with ``cwd`` = the other tree: build that tree's
#: pre-training dataset, then time one pass per line read from stdin.
_TREE_SCRIPT = r"""
import sys, time
import cv2, numpy as np, torch
cv2.setNumThreads(0)
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from mmengine.config import Config
from mmengine.registry import init_default_scope
import projects.pimae.pimae  # noqa: F401
from mmdet3d.registry import DATASETS
init_default_scope('mmdet3d')
dataset = DATASETS.build(dict(
    type='SUNRGBDPretrainDataset', data_root=sys.argv[3],
    ann_file='sunrgbd_infos_train.pkl',
    pipeline=Config.fromfile(sys.argv[2]).train_pipeline))
np.random.seed(0)
for idx in range(min(2, len(dataset))):
    dataset[idx]
print('READY', len(dataset), flush=True)
for _ in sys.stdin:
    start = time.process_time()
    for idx in range(len(dataset)):
        dataset[idx]
    print('PASS', (time.process_time() - start) / len(dataset), flush=True)
"""


class TreePipeline:
    """The pre-training pipeline of another checkout of this project, in a
    child process that times one pass over the train split on request.

    Args:
        tree (str): Root of the other checkout.
        config (str): Config path relative to a checkout's root.
        data_root (str): Dataset root with ``sunrgbd_infos_train.pkl``.
    """

    def __init__(self, tree: str, config: str, data_root: str) -> None:
        self.tree = osp.abspath(tree)
        if not osp.isfile(osp.join(self.tree, config)):
            raise FileNotFoundError(
                f'--compare-tree {tree}: no {config} in it (a checkout of '
                'this project is expected)')
        env = dict(os.environ, OMP_NUM_THREADS='1')
        self.process = subprocess.Popen(
            [sys.executable, '-c', _TREE_SCRIPT, self.tree, config,
             osp.abspath(data_root)],
            cwd=self.tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True)
        self.num_samples = int(self._answer('READY'))

    def _answer(self, tag: str) -> str:
        """The value of the child's next line that starts with ``tag``
        (its log lines are skipped)."""
        for line in self.process.stdout:
            if line.startswith(tag + ' '):
                return line.split(' ', 1)[1].strip()
        self.process.wait()
        raise RuntimeError(
            f'the pipeline of {self.tree} stopped (exit status '
            f'{self.process.returncode}) before answering {tag}; its error '
            'is above')

    def time_pass(self) -> float:
        """CPU seconds per sample of one pass in the child."""
        self.process.stdin.write('pass\n')
        self.process.stdin.flush()
        return float(self._answer('PASS'))

    def close(self) -> None:
        """End the child process."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure_pipelines(data_root: str,
                      repeats: int,
                      config: str = DATA_CONFIG,
                      compare_tree: Optional[str] = None
                      ) -> Dict[str, Dict[str, object]]:
    """Samples/s of one data-loader worker: the baseline pipeline and the
    variants of ``config`` (:func:`pipeline_variants`), single-threaded as
    in a worker.

    Args:
        data_root (str): Dataset root with ``sunrgbd_infos_train.pkl``.
        repeats (int): Timed passes over the train split per pipeline.
        config (str): Config whose ``train_pipeline`` is measured.
        compare_tree (str, optional): Another checkout of this project
            whose pipeline (``train_pipeline`` of ``config``'s path relative
            to this checkout) takes turns with the others in a
            :class:`TreePipeline`, as ``'tree'``. Defaults to None.

    Returns:
        dict[str, dict]: ``'baseline'``, ``'tree'`` (with
        ``compare_tree``) and each variant's name -> dict of
        ``name``, ``samples_per_s``, ``fps_in_worker`` (whether the
        pipeline runs FurthestPointSample), ``transforms`` (types) and
        ``num_samples``.
    """
    base_name, base, pipelines = pipeline_variants(config)
    pipelines = {'baseline': base, **pipelines}
    results = {}
    with worker_threads():
        datasets = {
            name: build_dataset(data_root, pipeline)
            for name, pipeline in pipelines.items()
        }
        for dataset in datasets.values():
            warm_up(dataset)
        # the pipelines take turns, pass by pass, so that a drift of the
        # machine's speed during the run reaches all of them alike
        per_pass = defaultdict(list)
        tree = None if compare_tree is None else TreePipeline(
            compare_tree, osp.relpath(osp.abspath(config), ROOT), data_root)
        try:
            for _ in range(repeats):
                if tree is not None:
                    per_pass['tree'].append(tree.time_pass())
                for name, dataset in datasets.items():
                    per_pass[name].append(time_pass(dataset))
        finally:
            if tree is not None:
                tree.close()
        for name, pipeline in pipelines.items():
            types = transform_types(pipeline)
            results[name] = dict(
                name=base_name if name == 'baseline' else name,
                samples_per_s=1 / float(np.median(per_pass[name])),
                fps_in_worker='FurthestPointSample' in types,
                transforms=types,
                num_samples=len(datasets[name]))
        if tree is not None:
            results['tree'] = dict(
                name=f'train_pipeline of {tree.tree}',
                samples_per_s=1 / float(np.median(per_pass['tree'])),
                fps_in_worker=None,
                transforms=None,
                num_samples=tree.num_samples)
    return results


def with_fps(pipeline: list, **fps: object) -> list:
    """``pipeline`` with its ``FurthestPointSample`` replaced by ``fps``."""
    pipeline = copy.deepcopy(pipeline)
    index = transform_types(pipeline).index('FurthestPointSample')
    pipeline[index] = fps
    return pipeline


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmdet3d')
    from mmengine.config import Config
    pipeline = Config.fromfile(args.config).train_pipeline
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out_dir or tmp
        one, many = bench_generation(out_dir, args.num_scenes, args.width,
                                     args.height, args.workers)
        print(f'generation of {args.num_scenes} scenes at {args.width}x'
              f'{args.height}:')
        print(f'  1 process : {1 / one:6.2f} scenes/s, 100 scenes in '
              f'{100 * one:5.1f} s')
        print(f'  {args.workers} workers : {1 / many:6.2f} scenes/s, 100 '
              f'scenes in {100 * many:5.1f} s (x{one / many:.2f})')

        full, parts, num = bench_pipeline(out_dir, pipeline, args.repeats)
        print(f'\ntrain_pipeline of {osp.relpath(args.config, ROOT)}, one '
              f'worker, {num} train samples x {args.repeats} passes:')
        print(f'  full pipeline: {1 / full:6.2f} samples/s '
              f'({1000 * full:.1f} ms/sample)')
        total = sum(parts.values())
        print(f'  {"transform":34s} {"ms":>8s} {"share":>7s}')
        for name, sec in parts.items():
            print(f'  {name:34s} {1000 * sec:8.2f} {100 * sec / total:6.1f}%')
        fps = parts.get('FurthestPointSample', 0.)
        print(f'  FPS share of the pipeline time: {100 * fps / total:.1f}%')

        fps_cfg = next(
            (t for t in pipeline if t['type'] == 'FurthestPointSample'), None)
        if fps_cfg is None:
            print('  no FurthestPointSample in the pipeline: the FPS '
                  'comparisons are skipped')
        else:
            num_fps = fps_cfg.get('num_points', 2048)
            random, _, _ = bench_pipeline(
                out_dir,
                with_fps(
                    pipeline, type='LoggedPointSample', num_points=num_fps),
                args.repeats)
            print(f'  without FPS (random {num_fps}): {1 / random:6.2f} '
                  f'samples/s; full / without FPS throughput = '
                  f'{random / full:.2f}')
            slow, slow_parts, _ = bench_pipeline(
                out_dir, with_fps(pipeline, **dict(fps_cfg, backend='torch')),
                args.repeats)
            slow_fps = 1000 * slow_parts['FurthestPointSample']
            print(f'  FPS on the pure torch loop: {1 / slow:6.2f} samples/s '
                  f'(FPS {slow_fps:.1f} ms); the pipeline\'s FPS speeds it '
                  f'up x{slow / full:.2f}')
        results = measure_pipelines(out_dir, args.repeats, args.config,
                                    args.compare_tree)
        base = results.pop('baseline')
        tree = results.pop('tree', None)
        print(f'\nbaseline pipeline {base["name"]}: '
              f'{base["samples_per_s"]:6.2f} samples/s')
        if tree is not None:
            print(f'{tree["name"]}: {tree["samples_per_s"]:6.2f} samples/s')
        for name, result in results.items():
            where = 'in the worker' if result['fps_in_worker'] else \
                'not in the worker'
            line = (f'variant {name} (FPS {where}): '
                    f'{result["samples_per_s"]:6.2f} samples/s; variant / '
                    f'baseline = '
                    f'{result["samples_per_s"] / base["samples_per_s"]:.2f}')
            if tree is not None:
                ratio = result['samples_per_s'] / tree['samples_per_s']
                line += f'; variant / the other tree = {ratio:.2f}'
            print(line)


if __name__ == '__main__':
    main()
