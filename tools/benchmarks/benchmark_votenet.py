# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark VoteNet training steps with the stock and the PiMAE backbone.

One step = forward (``VoteNet.loss``: backbone, votes, aggregation, target
assignment, losses), backward and an Adam update, on a synthetic batch of
``--batch-size`` SUN RGB-D-sized scenes (``--num-points`` points of xyz +
height, 8 random boxes each). Two models with the same ``VoteHead``,
measured in the same run:

* ``stock``: mmdet3d's ``votenet_8xb16_sunrgbd-3d.py`` (PointNet++
  ``PointNet2SASSG``: 4 set-abstraction levels, 2 feature propagations);
* ``pimae``: ``configs/votenet/votenet_pimae-backbone_8xb16_sunrgbd-3d.py``
  (``PiMAEPointBackbone``: one set-abstraction layer to 1024 seeds, 6 PiMAE
  encoder layers).

On the CPU the mmcv point ops go to this project's CPU backend, which
importing ``projects.pimae.pimae`` switches on. Reported: the minimum step
time over ``--repeats`` steps after ``--warmup`` steps, samples/s, and the
ratio pimae / stock of the samples/s.

Example:
    python tools/benchmarks/benchmark_votenet.py
    python tools/benchmarks/benchmark_votenet.py --num-points 8000 --threads 2
"""
import argparse
import logging
import os.path as osp
import sys
import time
from typing import Dict, Tuple

from benchmark_args import apply_device_args, step_parser


def parse_args() -> argparse.Namespace:
    return step_parser(
        'Benchmark VoteNet training steps (fwd + bwd + Adam) with the stock '
        'PointNet++ and the PiMAE backbone.',
        batch_size=2,
        num_points_help='points per scene (mmdet3d SUN RGB-D pipeline: 20000)'
    ).parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import torch  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

CONFIGS = dict(
    stock='mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py',
    pimae=osp.join(
        ROOT, 'configs/votenet/votenet_pimae-backbone_8xb16_sunrgbd-3d.py'))


def build(config: str, device: str) -> torch.nn.Module:
    """The detector of ``config`` (a path or ``package::path``), initialised
    (``init_cfg`` dropped: no pre-trained weights are needed to time it), in
    train mode."""
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae  # noqa: F401  (registers, CPU point ops)
    from mmdet3d.registry import MODELS
    cfg = get_config(config) if '::' in config else Config.fromfile(config)
    cfg.model.pop('init_cfg', None)
    # the per-parameter initialisation report is long and not measured
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.to(device).train()


def make_batch(batch_size: int,
               num_points: int,
               device: str,
               with_height: bool = True) -> Tuple[dict, list]:
    """Scenes of a 6 x 6 x 2.5 m room: uniform points (plus the height
    channel when ``with_height``, as VoteNet's pipeline adds it), and 8
    boxes of 10 classes each."""
    from mmengine.structures import InstanceData

    from mmdet3d.structures import (Det3DDataSample, DepthInstance3DBoxes,
                                    PointData)
    g = torch.Generator().manual_seed(0)
    points, samples = [], []
    for i in range(batch_size):
        xyz = torch.rand(
            num_points, 3, generator=g) * torch.tensor(
                [6., 6., 2.5]) - torch.tensor([3., 0., 0.])
        height = xyz[:, 2:] - xyz[:, 2].quantile(0.01)
        points.append((torch.cat([xyz, height], dim=1)
                       if with_height else xyz).to(device))
        centres = torch.rand(
            8, 3, generator=g) * torch.tensor([5., 5., 1.]) - torch.tensor(
                [2.5, -0.5, 0.])
        sizes = 0.4 + torch.rand(8, 3, generator=g)
        yaw = torch.rand(8, 1, generator=g) * 3.14
        gt = InstanceData()
        gt.bboxes_3d = DepthInstance3DBoxes(
            torch.cat([centres, sizes, yaw], dim=1).to(device),
            origin=(0.5, 0.5, 0.5))
        gt.labels_3d = torch.randint(0, 10, (8, ), generator=g).to(device)
        sample = Det3DDataSample()
        sample.set_metainfo(
            dict(box_type_3d=DepthInstance3DBoxes, sample_idx=i))
        sample.gt_instances_3d = gt
        sample.gt_pts_seg = PointData()
        samples.append(sample)
    return dict(points=points), samples


def measure(config: str,
            device: str = 'cpu',
            batch_size: int = 2,
            num_points: int = 20000,
            repeats: int = 3,
            warmup: int = 1,
            with_height: bool = True) -> Dict[str, float]:
    """Time training steps (loss, backward, Adam) of a point detector.

    Args:
        config (str): Detector config (path or ``package::path``).
        device (str): 'cpu' or 'cuda'.
        batch_size (int): Scenes per step.
        num_points (int): Points per scene.
        repeats (int): Timed steps (the minimum is taken).
        warmup (int): Untimed steps first.
        with_height (bool): Points carry the height channel (VoteNet).

    Returns:
        dict: ``seconds`` (one step), ``samples_per_s`` and ``params_m``
        (backbone parameters, millions).
    """
    model = build(config, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    inputs, samples = make_batch(batch_size, num_points, device, with_height)

    def step() -> None:
        total, _ = model.parse_losses(model.loss(inputs, samples))
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = min(times)
    return dict(
        seconds=seconds,
        samples_per_s=batch_size / seconds,
        params_m=sum(p.numel() for p in model.backbone.parameters()) / 1e6)


def main() -> int:
    args = parse_args()
    apply_device_args(args)
    results = {
        name: measure(config, args.device, args.batch_size, args.num_points,
                      args.repeats, args.warmup)
        for name, config in CONFIGS.items()
    }
    print(f'VoteNet training step, batch {args.batch_size} x '
          f'{args.num_points} points, {args.device}, '
          f'{torch.get_num_threads()} threads, min of {args.repeats}')
    print('| backbone | backbone params (M) | step (s) | samples/s |')
    print('| --- | --- | --- | --- |')
    for name, r in results.items():
        print(f'| {name} | {r["params_m"]:.2f} | {r["seconds"]:.3f} | '
              f'{r["samples_per_s"]:.2f} |')
    ratio = results['pimae']['samples_per_s'] / results['stock'][
        'samples_per_s']
    print(f'samples/s pimae / stock: {ratio:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
