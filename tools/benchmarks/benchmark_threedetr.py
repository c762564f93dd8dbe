# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark 3DETR training steps with the 3DETR and the PiMAE encoder.

One step = forward (``ThreeDETR.loss``: pre-encoder, transformer encoder,
decoder, Hungarian matching, losses), backward and an Adam update, on a
synthetic batch of ``--batch-size`` SUN RGB-D-sized scenes
(``--num-points`` xyz points, 8 random boxes each). Two models with the same
pre-encoder and head, measured in the same run:

* ``scratch``: ``configs/threedetr/threedetr_1xb8-1080e_sunrgbd-3d-10class.py``
  (3DETR's 3-layer encoder, the baseline of PiMAE's table);
* ``pimae``: ``configs/threedetr/threedetr_pimae_sunrgbd.py`` (the 6-layer
  encoder that PiMAE's 3 point-specific + 3 shared layers initialise; the
  checkpoint is not loaded, the timing does not depend on the weights).

Reported: the minimum step time over ``--repeats`` steps after ``--warmup``
steps, samples/s, and the ratio pimae / scratch of the samples/s.

Example:
    python tools/benchmarks/benchmark_threedetr.py
    python tools/benchmarks/benchmark_threedetr.py --device cuda
"""
import argparse
import os.path as osp
import sys

from benchmark_args import apply_device_args, step_parser


def parse_args() -> argparse.Namespace:
    return step_parser(
        'Benchmark 3DETR training steps (fwd + bwd + Adam) with the 3DETR '
        'and the PiMAE-initialised encoder.',
        batch_size=8,
        num_points_help='points per scene (3DETR SUN RGB-D pipeline: 20000)'
    ).parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import torch  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from benchmark_votenet import measure  # noqa: E402

CONFIGS = dict(
    scratch=osp.join(
        ROOT, 'configs/threedetr/threedetr_1xb8-1080e_sunrgbd-3d-10class.py'),
    pimae=osp.join(ROOT, 'configs/threedetr/threedetr_pimae_sunrgbd.py'))


def main() -> int:
    args = parse_args()
    apply_device_args(args)
    results = {
        name: measure(
            config,
            args.device,
            args.batch_size,
            args.num_points,
            args.repeats,
            args.warmup,
            with_height=False)
        for name, config in CONFIGS.items()
    }
    print(f'3DETR training step, batch {args.batch_size} x '
          f'{args.num_points} points, {args.device}, '
          f'{torch.get_num_threads()} threads, min of {args.repeats}')
    print('| encoder | backbone params (M) | step (s) | samples/s |')
    print('| --- | --- | --- | --- |')
    for name, r in results.items():
        print(f'| {name} | {r["params_m"]:.2f} | {r["seconds"]:.3f} | '
              f'{r["samples_per_s"]:.2f} |')
    ratio = results['pimae']['samples_per_s'] / results['scratch'][
        'samples_per_s']
    print(f'samples/s pimae / scratch: {ratio:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
