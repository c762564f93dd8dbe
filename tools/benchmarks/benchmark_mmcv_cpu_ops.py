# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark the CPU backend of mmcv's point ops against naive loops.

mmcv 2.1 has no CPU kernels for these ops; the baseline is what one writes
first without a backend: a Python loop over the points (or centres, or FPS
steps), each iteration vectorised with NumPy over the other axis. Both are
measured in the same run, at the sizes of VoteNet on SUN RGB-D (one scene of
20000 points; SA1: 2048 centres, radius 0.2, 64 samples, 3 + 1 channels
grouped; FP2: 1024 targets from 512 sources with 256 channels; target
assignment: 20000 points in 10 boxes). The candidate is called through the
names mmdet3d binds (``mmcv.ops.*`` after
``register_mmcv_cpu_ops()``), so the dispatch cost is included.

Times are the minimum over ``--repeats`` runs after one warm-up, in ms.

To add rows (e.g. whole-detector throughput), write a function that takes the
parsed arguments and returns a list of :data:`Row` and extend ``rows`` with
it in :func:`main`.

Example:
    python tools/benchmarks/benchmark_mmcv_cpu_ops.py --repeats 3
"""
import argparse
import os.path as osp
import sys
import time
from typing import Callable, List, Optional, Tuple

from benchmark_args import add_threads_arg, apply_device_args


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark the CPU backend of mmcv point ops against '
        'naive per-point loops.')
    parser.add_argument(
        '--repeats', type=int, default=3, help='timed runs per case')
    add_threads_arg(parser, 1, '1 = comparable across loaded machines')
    parser.add_argument(
        '--num-points', type=int, default=20000, help='points per scene')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from projects.pimae.pimae.ops import register_mmcv_cpu_ops  # noqa: E402

#: (case, baseline name, baseline ms, candidate name, candidate ms, note)
Row = Tuple[str, str, Optional[float], str, Optional[float], str]


def time_ms(fn: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of ``fn`` over ``repeats`` runs after a warm-up."""
    fn()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


# --------------------------------------------------------------------------
# Baselines: one Python iteration per point / centre / step
# --------------------------------------------------------------------------


def loop_fps(xyz: np.ndarray, num_samples: int) -> np.ndarray:
    """FPS with one Python iteration per sample."""
    min_dist = np.full(len(xyz), 1e10, np.float32)
    chosen = [0]
    for _ in range(1, num_samples):
        diff = xyz - xyz[chosen[-1]]
        min_dist = np.minimum(min_dist, (diff * diff).sum(1))
        chosen.append(int(min_dist.argmax()))
    return np.array(chosen, np.int32)


def loop_ball_query(radius: float, num_samples: int, xyz: np.ndarray,
                    centres: np.ndarray) -> np.ndarray:
    """Ball query with one Python iteration per centre."""
    out = np.zeros((len(centres), num_samples), np.int32)
    for i, centre in enumerate(centres):
        diff = xyz - centre
        found = np.flatnonzero((diff * diff).sum(1) < radius * radius)
        if len(found):
            out[i] = found[0]
            out[i, :min(len(found), num_samples)] = found[:num_samples]
    return out


def loop_grouping(features: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Grouping with one Python iteration per group."""
    out = np.empty(features.shape[:1] + idx.shape, features.dtype)
    for m, group in enumerate(idx):
        out[:, m] = features[:, group]
    return out


def loop_three_nn(target: np.ndarray,
                  source: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Three nearest neighbours with one Python iteration per target."""
    dist = np.empty((len(target), 3), np.float32)
    idx = np.empty((len(target), 3), np.int32)
    for n, point in enumerate(target):
        diff = source - point
        sq_dist = (diff * diff).sum(1)
        nearest = np.argsort(sq_dist, kind='stable')[:3]
        idx[n], dist[n] = nearest, np.sqrt(sq_dist[nearest])
    return dist, idx


def loop_three_interpolate(features: np.ndarray, idx: np.ndarray,
                           weight: np.ndarray) -> np.ndarray:
    """Three-point interpolation with one Python iteration per target."""
    out = np.empty((features.shape[0], len(idx)), features.dtype)
    for n in range(len(idx)):
        out[:, n] = features[:, idx[n]] @ weight[n]
    return out


def loop_points_in_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Points in boxes with one Python iteration per point."""
    centre_z = boxes[:, 2] + boxes[:, 5] / 2
    cos, sin = np.cos(-boxes[:, 6]), np.sin(-boxes[:, 6])
    out = np.zeros((len(points), len(boxes)), np.int32)
    for m, (x, y, z) in enumerate(points):
        shift_x, shift_y = x - boxes[:, 0], y - boxes[:, 1]
        local_x = shift_x * cos - shift_y * sin
        local_y = shift_x * sin + shift_y * cos
        out[m] = (np.abs(z - centre_z) <= boxes[:, 5] / 2) & \
            (np.abs(local_x) < boxes[:, 3] / 2) & \
            (np.abs(local_y) < boxes[:, 4] / 2)
    return out


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


def cpu_op_rows(args: argparse.Namespace) -> List[Row]:
    """Rows of the op cases: naive loop vs the CPU backend of mmcv.ops."""
    from mmcv import ops
    repeats = args.repeats
    generator = torch.Generator().manual_seed(args.seed)
    num_points = args.num_points
    xyz = torch.rand((1, num_points, 3), generator=generator) * \
        torch.tensor([6., 6., 2.5])
    xyz_np = xyz[0].numpy()
    rows: List[Row] = []

    fps = ops.furthest_point_sample(xyz, 2048)
    rows.append((f'FPS {num_points}->2048', 'loop per sample',
                 time_ms(lambda: loop_fps(xyz_np, 2048),
                         repeats), 'furthest_point_sample',
                 time_ms(lambda: ops.furthest_point_sample(xyz, 2048),
                         repeats), ''))

    centres = ops.gather_points(xyz.transpose(1, 2).contiguous(),
                                fps).transpose(1, 2).contiguous()
    centres_np = centres[0].numpy()
    rows.append(('ball query 2048 x 64, r=0.2', 'loop per centre',
                 time_ms(lambda: loop_ball_query(0.2, 64, xyz_np, centres_np),
                         repeats), 'ball_query',
                 time_ms(lambda: ops.ball_query(0., 0.2, 64, xyz, centres),
                         repeats), ''))

    features = torch.rand((1, 4, num_points), generator=generator)
    idx = ops.ball_query(0., 0.2, 64, xyz, centres)
    idx_np = idx[0].numpy()
    rows.append(('grouping (4 ch) 2048 x 64', 'loop per group',
                 time_ms(lambda: loop_grouping(features[0].numpy(), idx_np),
                         repeats), 'grouping_operation',
                 time_ms(lambda: ops.grouping_operation(features, idx),
                         repeats), ''))
    grad = torch.rand((1, 4, 2048, 64), generator=generator)

    def grouping_fwd_bwd():
        leaf = features.detach().requires_grad_()
        ops.grouping_operation(leaf, idx).backward(grad)

    def loop_grouping_bwd():
        out = np.zeros((4, num_points), np.float32)
        grad_np = grad[0].numpy()
        for m, group in enumerate(idx_np):
            np.add.at(out, (slice(None), group), grad_np[:, m])
        return out

    rows.append(('grouping backward', 'loop per group (np.add.at)',
                 time_ms(loop_grouping_bwd,
                         repeats), 'grouping_operation fwd+bwd',
                 time_ms(grouping_fwd_bwd, repeats), ''))

    target, source = centres[:, :1024].contiguous(), centres[:, :512] \
        .contiguous()
    rows.append(
        ('three_nn 1024 <- 512', 'loop per target',
         time_ms(lambda: loop_three_nn(target[0].numpy(), source[0].numpy()),
                 repeats), 'three_nn',
         time_ms(lambda: ops.three_nn(target, source), repeats), ''))

    dist, nn_idx = ops.three_nn(target, source)
    weight = (1 / (dist + 1e-8))
    weight = (weight / weight.sum(2, keepdim=True)).contiguous()
    source_feats = torch.rand((1, 256, 512), generator=generator)
    rows.append(
        ('three_interpolate 256 ch, 1024 <- 512', 'loop per target',
         time_ms(
             lambda: loop_three_interpolate(source_feats[0].numpy(), nn_idx[
                 0].numpy(), weight[0].numpy()), repeats), 'three_interpolate',
         time_ms(lambda: ops.three_interpolate(source_feats, nn_idx, weight),
                 repeats), ''))

    boxes = torch.cat([
        torch.rand((10, 3), generator=generator) * torch.tensor([5., 5., 1.]),
        0.5 + torch.rand((10, 3), generator=generator) * 1.5,
        (torch.rand((10, 1), generator=generator) - 0.5) * 6.28
    ], 1)
    rows.append((f'points_in_boxes_all {num_points} x 10', 'loop per point',
                 time_ms(lambda: loop_points_in_boxes(xyz_np, boxes.numpy()),
                         repeats), 'points_in_boxes_all',
                 time_ms(lambda: ops.points_in_boxes_all(xyz, boxes[None]),
                         repeats), ''))
    return rows


def format_value(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def print_table(rows: List[Row]) -> None:
    header = ('case', 'baseline', 'ms', 'candidate', 'ms',
              'baseline / candidate', 'note')
    lines = [header, tuple('---' for _ in header)]
    for case, base_name, base, cand_name, cand, note in rows:
        ratio = 'n/a' if base is None or not cand else f'{base / cand:.1f}x'
        lines.append((case, base_name, format_value(base), cand_name,
                      format_value(cand), ratio, note))
    for line in lines:
        print('| ' + ' | '.join(line) + ' |')


def main() -> None:
    args = parse_args()
    apply_device_args(args)
    register_mmcv_cpu_ops()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} CPU '
          f'thread(s), repeats {args.repeats}, {args.num_points} points')
    rows = cpu_op_rows(args)
    print_table(rows)


if __name__ == '__main__':
    main()
