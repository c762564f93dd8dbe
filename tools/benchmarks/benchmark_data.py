# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark the paired point + image data path against baselines measured
in the same run.

1. Generation: ``--num-scenes`` synthetic SUN RGB-D scenes at
   ``--width x --height`` (default 730x530, Kinect v2) with
   ``tools/create_demo_data.py``'s generator, in one process and with
   ``--workers`` processes; prints scenes/s and the projected time for 100
   scenes.
2. Pipeline: the PiMAE pre-training pipeline (load points + image, check
   depth2img, sample 20000, FPS to 2048, resize to 256x352, 3D
   augmentation, image flip, pack) over the generated train split in this
   process, i.e. the throughput of **one data-loader worker** (samples/s),
   with each transform timed separately: the table gives every transform's
   share of the time, FPS included. Baseline in the same run: the same
   pipeline with FPS replaced by random sampling to 2048 (what FPS costs)
   and, where torch_quickfps is installed, FPS on its pure torch backend.

Times are wall-clock medians over ``--repeats`` passes after a warm-up. The
pipeline runs single-threaded (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), as in a PyTorch data-loader worker under
mmengine.

Example:
    python tools/benchmarks/benchmark_data.py
    python tools/benchmarks/benchmark_data.py --num-scenes 100 --workers 2
"""
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile
import time
from collections import defaultdict
from typing import Dict, List, Tuple

# as mmengine / PyTorch set up data-loader workers (before numpy loads BLAS)
os.environ.setdefault('OMP_NUM_THREADS', '1')


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
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from mmengine.registry import init_default_scope  # noqa: E402

from mmdet3d.registry import DATASETS  # noqa: E402
from projects.pimae.pimae import \
    data_generation as synthetic_sunrgbd  # noqa: E402
from projects.pimae.pimae.ops import quickfps_available  # noqa: E402

PIPELINE = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='DEPTH',
        load_dim=6,
        use_dim=[0, 1, 2, 3, 4, 5],
        use_color=True),
    dict(type='LoadImageFromFile'),
    dict(type='CheckDepth2Img'),
    dict(type='LoggedPointSample', num_points=20000),
    dict(type='FurthestPointSample', num_points=2048),
    dict(type='ResizeWithDepth2Img', scale=(352, 256), keep_ratio=False),
    dict(type='GlobalFlipRotScaleWithDepth2Img', flip_ratio=0.5),
    dict(type='RandomImageFlipWithDepth2Img', prob=0.5),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'img'],
        meta_keys=('depth2img', 'img_shape', 'ori_shape', 'sample_idx',
                   'lidar_path', 'img_path', 'flip', 'pcd_horizontal_flip',
                   'pcd_rotation_angle', 'pcd_scale_factor')),
]


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
                     args: argparse.Namespace) -> Tuple[float, float]:
    """Generate the scenes with 1 and ``--workers`` processes.

    Returns:
        tuple[float, float]: Seconds per scene for 1 and for ``--workers``
        processes.
    """
    cfg = synthetic_sunrgbd.SceneConfig(width=args.width, height=args.height)
    times = []
    for workers in (1, args.workers):
        start = time.perf_counter()
        synthetic_sunrgbd.generate_dataset(
            out_dir, args.num_scenes, seed=0, cfg=cfg, workers=workers)
        times.append((time.perf_counter() - start) / args.num_scenes)
    return times[0], times[1]


def bench_pipeline(data_root: str, pipeline: list,
                   repeats: int) -> Tuple[float, Dict[str, float], int]:
    """Run the train split through ``pipeline`` in this process.

    Returns:
        tuple: Median seconds per sample, mean seconds per sample of each
        transform (keyed by class name), number of samples per pass.
    """
    dataset = DATASETS.build(
        dict(
            type='SUNRGBDPretrainDataset',
            data_root=data_root,
            ann_file='sunrgbd_infos_train.pkl',
            pipeline=copy.deepcopy(pipeline)))
    record: Dict[str, List[float]] = defaultdict(list)
    dataset.pipeline.transforms = [
        TimedTransform(t, record) for t in dataset.pipeline.transforms
    ]
    np.random.seed(0)
    for idx in range(min(2, len(dataset))):  # warm-up
        dataset[idx]
    record.clear()
    per_pass = []
    for _ in range(repeats):
        start = time.perf_counter()
        for idx in range(len(dataset)):
            dataset[idx]
        per_pass.append((time.perf_counter() - start) / len(dataset))
    calls = repeats * len(dataset)
    per_transform = {k: sum(v) / calls for k, v in record.items()}
    return float(np.median(per_pass)), per_transform, len(dataset)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('mmdet3d')
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out_dir or tmp
        one, many = bench_generation(out_dir, args)
        print(f'generation of {args.num_scenes} scenes at {args.width}x'
              f'{args.height}:')
        print(f'  1 process : {1 / one:6.2f} scenes/s, 100 scenes in '
              f'{100 * one:5.1f} s')
        print(f'  {args.workers} workers : {1 / many:6.2f} scenes/s, 100 '
              f'scenes in {100 * many:5.1f} s (x{one / many:.2f})')

        full, parts, num = bench_pipeline(out_dir, PIPELINE, args.repeats)
        print(f'\npipeline, one worker, {num} train samples x '
              f'{args.repeats} passes:')
        print(f'  full pipeline: {1 / full:6.2f} samples/s '
              f'({1000 * full:.1f} ms/sample)')
        total = sum(parts.values())
        print(f'  {"transform":34s} {"ms":>8s} {"share":>7s}')
        for name, sec in parts.items():
            print(f'  {name:34s} {1000 * sec:8.2f} {100 * sec / total:6.1f}%')
        fps = parts.get('FurthestPointSample', 0.)
        print(f'  FPS share of the pipeline time: {100 * fps / total:.1f}%')

        baseline = copy.deepcopy(PIPELINE)
        baseline[4] = dict(type='LoggedPointSample', num_points=2048)
        base, _, _ = bench_pipeline(out_dir, baseline, args.repeats)
        print(f'  baseline without FPS (random 2048): {1 / base:6.2f} '
              f'samples/s; full / baseline throughput = {base / full:.2f}')
        if quickfps_available():
            torch_fps = copy.deepcopy(PIPELINE)
            torch_fps[4] = dict(
                type='FurthestPointSample', num_points=2048, backend='torch')
            slow, slow_parts, _ = bench_pipeline(out_dir, torch_fps,
                                                 args.repeats)
            slow_fps = 1000 * slow_parts['FurthestPointSample']
            print(f'  FPS on the pure torch backend: {1 / slow:6.2f} '
                  f'samples/s (FPS {slow_fps:.1f} ms); quickfps speeds the '
                  f'pipeline up x{slow / full:.2f}')
        else:
            print('  torch_quickfps not installed: FPS ran on the pure torch '
                  'backend')


if __name__ == '__main__':
    main()
