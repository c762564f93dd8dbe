# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark PiMAE's point ops against a baseline measured in the same run.

Cases (PiMAE's sizes):

* FPS 20000 -> 2048, one scene (the data-worker step);
* FPS 2048 -> 128 group centres, batch 8;
* KNN: 128 centres x 32 neighbours over 2048 points, batch 8;
* Chamfer-L2 forward + backward on 8 * 76 masked patches of 32 vs 32 points.

On CPU (default) the fast paths are torch_quickfps for FPS, ``knn``'s
``cdist`` + ``topk`` (baseline: a full stable sort of the distance matrix)
and ``chamfer_distance``'s ``cdist`` (baseline: the broadcast difference
tensor that mmdet3d's ``chamfer_distance`` builds). With ``--device cuda``
the baseline is the pure torch path on the GPU and the candidate is mmcv's
CUDA kernel where mmcv was built with CUDA (else the row says so).

Times are the minimum over ``--repeats`` runs after one warm-up, in ms.
Peak memory is the largest amount of tensor memory alive at once during one
run, above what was alive before it: on CUDA from
``torch.cuda.max_memory_allocated``; on CPU from the allocation and free
events of ``torch.profiler`` (``profile_memory=True``), summed in time order
at operator granularity. The CPU allocator does not cache, so this is the
memory the op really held, not a process RSS that includes the allocator's
and Python's own overheads.

Example:
    python tools/benchmarks/benchmark_point_ops.py --repeats 5
    python tools/benchmarks/benchmark_point_ops.py --device cuda
"""
import argparse
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

from benchmark_args import (add_device_arg, add_threads_arg, apply_device_args,
                            synchronize)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark the PiMAE point ops (FPS, KNN, Chamfer).')
    add_device_arg(
        parser, 'cpu: fast CPU paths vs pure torch; cuda: mmcv CUDA kernels '
        'vs the pure torch path on the GPU')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed runs per case')
    add_threads_arg(parser, 1, '1 = a data-loader worker')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from projects.pimae.pimae import ops  # noqa: E402
from projects.pimae.pimae.ops._mmcv_backend import \
    mmcv_cuda_ops_available  # noqa: E402

#: PiMAE's sizes: one 20000-point scene sampled to 2048 (a data worker);
#: 8 clouds of 2048 points, 128 group centres of 32 neighbours; Chamfer over
#: 8 * 76 masked patches of 32 vs 32 points.
SIZES = dict(
    scene_points=20000,
    scene_samples=2048,
    batch=8,
    cloud_points=2048,
    centres=128,
    k=32,
    patches=8 * 76,
    group=32)


def time_ms(fn: Callable[[], object], device: str, repeats: int) -> float:
    """Minimum wall time of ``fn`` over ``repeats`` runs after a warm-up."""
    fn()
    synchronize(device)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def cpu_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak tensor memory alive during ``fn`` on CPU, from profiler events."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    events = sorted(p.events(), key=lambda event: event.time_range.start)
    alive = peak = 0
    for event in events:
        alive += event.self_cpu_memory_usage
        peak = max(peak, alive)
    return peak


def cuda_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak CUDA tensor memory during ``fn`` above what was allocated."""
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def peak_mb(fn: Callable[[], object], device: str) -> float:
    fn()
    peak = cuda_peak_bytes(fn) if device == 'cuda' else cpu_peak_bytes(fn)
    return peak / 2**20


def chamfer_broadcast(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Baseline: Chamfer-L2 through a (B, N, M, 3) difference tensor."""
    sq_dist = (src.unsqueeze(2) - dst.unsqueeze(1)).square().sum(-1)
    return sq_dist.min(dim=2).values.mean() + sq_dist.min(dim=1).values.mean()


def chamfer_ops(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    dist_src, dist_dst, _, _ = ops.chamfer_distance(src, dst, 'l2', 'mean')
    return dist_src + dist_dst


def knn_full_sort(k: int, ref: torch.Tensor, query: torch.Tensor):
    """Baseline: exact KNN by a full stable sort of all distances."""
    dist = torch.cdist(query, ref, compute_mode='donot_use_mm_for_euclid_dist')
    return dist.sort(dim=-1, stable=True).indices[..., :k]


def fwd_bwd(loss_fn, src: torch.Tensor, dst: torch.Tensor):

    def run():
        pred = src.detach().requires_grad_()
        loss_fn(pred, dst).backward()

    return run


def row(key: str,
        case: str,
        unit: str,
        baseline_name: str,
        baseline: Optional[float],
        candidate_name: str,
        candidate: Optional[float],
        note: str = '') -> Dict[str, object]:
    """One case: the pure path (baseline) and the fast path (candidate)."""
    return dict(
        key=key,
        case=case,
        unit=unit,
        baseline_name=baseline_name,
        baseline=baseline,
        candidate_name=candidate_name,
        candidate=candidate,
        note=note)


def cpu_rows(repeats: int, generator: torch.Generator,
             sizes: Dict[str, int]) -> List[Dict[str, object]]:
    """Fast CPU paths vs pure torch: quickfps (FPS), topk (KNN), cdist
    (Chamfer)."""
    scene_n, scene_m = sizes['scene_points'], sizes['scene_samples']
    batch, cloud_n = sizes['batch'], sizes['cloud_points']
    centres_m, k = sizes['centres'], sizes['k']
    rows = []
    scene = (torch.rand((scene_n, 3), generator=generator) * 6).numpy()
    clouds = torch.rand((batch, cloud_n, 3), generator=generator) * 6
    quick = ops.quickfps_available()
    missing = '' if quick else 'torch_quickfps not installed'

    def fps_numpy(points, num, backend):
        return lambda: ops.furthest_point_sample_numpy(points, num, backend)

    loop = time_ms(fps_numpy(scene, scene_m, 'torch'), 'cpu', repeats)
    fast = time_ms(fps_numpy(scene, scene_m, 'quickfps'), 'cpu',
                   repeats) if quick else None
    rows.append(
        row('fps_scene', f'FPS {scene_n}->{scene_m}, B=1', 'ms',
            'torch loop', loop, 'quickfps', fast, missing))
    loop = time_ms(lambda: ops.furthest_point_sample(clouds, centres_m),
                   'cpu', repeats)
    fast = time_ms(fps_numpy(clouds.numpy(), centres_m, 'quickfps'), 'cpu',
                   repeats) if quick else None
    rows.append(
        row('fps_groups', f'FPS {cloud_n}->{centres_m}, B={batch}', 'ms',
            'torch loop', loop, 'quickfps', fast, missing))
    centres = clouds[:, :centres_m]
    rows.append(
        row('knn', f'KNN {centres_m}x{k} of {cloud_n}, B={batch}', 'ms',
            'full sort',
            time_ms(lambda: knn_full_sort(k, clouds, centres), 'cpu',
                    repeats), 'knn (topk)',
            time_ms(lambda: ops.knn(k, clouds, centres), 'cpu', repeats)))
    rows.extend(chamfer_rows(repeats, generator, sizes, 'cpu'))
    return rows


def chamfer_rows(repeats: int, generator: torch.Generator,
                 sizes: Dict[str, int],
                 device: str) -> List[Dict[str, object]]:
    shape = (sizes['patches'], sizes['group'], 3)
    src = (torch.rand(shape, generator=generator) * 0.2).to(device)
    dst = (torch.rand(shape, generator=generator) * 0.2).to(device)
    base = fwd_bwd(chamfer_broadcast, src, dst)
    ours = fwd_bwd(chamfer_ops, src, dst)
    case = (f'Chamfer-L2 fwd+bwd, {shape[0]}x({shape[1]} vs '
            f'{shape[1]})')
    return [
        row('chamfer', case, 'ms', 'broadcast',
            time_ms(base, device, repeats), 'chamfer_distance',
            time_ms(ours, device, repeats)),
        row('chamfer_memory', case, 'MB', 'broadcast', peak_mb(base, device),
            'chamfer_distance', peak_mb(ours, device))
    ]


def cuda_rows(repeats: int, generator: torch.Generator,
              sizes: Dict[str, int]) -> List[Dict[str, object]]:
    """mmcv's CUDA kernels (where mmcv has them) vs the pure torch path on
    the GPU."""
    scene_n, scene_m = sizes['scene_points'], sizes['scene_samples']
    batch, cloud_n = sizes['batch'], sizes['cloud_points']
    centres_m, k = sizes['centres'], sizes['k']
    scene = (torch.rand((1, scene_n, 3), generator=generator) * 6).cuda()
    clouds = (torch.rand(
        (batch, cloud_n, 3), generator=generator) * 6).cuda()
    centres = clouds[:, :centres_m]
    mmcv = mmcv_cuda_ops_available()
    note = '' if mmcv else 'mmcv has no CUDA ops here'
    rows = []
    for key, case, points, num in [
        ('fps_scene', f'FPS {scene_n}->{scene_m}, B=1', scene, scene_m),
        ('fps_groups', f'FPS {cloud_n}->{centres_m}, B={batch}', clouds,
         centres_m)
    ]:
        loop = time_ms(
            lambda: ops.furthest_point_sample(points, num, backend='torch'),
            'cuda', repeats)
        fast = time_ms(
            lambda: ops.furthest_point_sample(points, num, backend='mmcv'),
            'cuda', repeats) if mmcv else None
        rows.append(
            row(key, case, 'ms', 'torch loop', loop, 'mmcv', fast, note))
    loop = time_ms(lambda: ops.knn(k, clouds, centres, backend='torch'),
                   'cuda', repeats)
    fast = time_ms(lambda: ops.knn(k, clouds, centres, backend='mmcv'),
                   'cuda', repeats) if mmcv else None
    rows.append(
        row('knn', f'KNN {centres_m}x{k} of {cloud_n}, B={batch}', 'ms',
            'torch', loop, 'mmcv', fast, note))
    rows.extend(chamfer_rows(repeats, generator, sizes, 'cuda'))
    return rows


def measure_point_ops(device: str = 'cpu',
                      repeats: int = 5,
                      seed: int = 0,
                      sizes: Optional[Dict[str, int]] = None
                      ) -> List[Dict[str, object]]:
    """Time every point op case on ``device``, fast path vs pure path.

    Args:
        device (str): 'cpu' or 'cuda'.
        repeats (int): Timed runs per case (minimum taken, after a warm-up).
        seed (int): Seed of the random inputs.
        sizes (dict, optional): Overrides of :data:`SIZES`.

    Returns:
        list[dict]: One dict per case with ``key``, ``case``, ``unit``
        ('ms', or 'MB' of peak tensor memory), ``baseline_name`` /
        ``baseline`` (the pure path), ``candidate_name`` / ``candidate``
        (the fast path, None where it is unavailable) and ``note``.
    """
    sizes = {**SIZES, **(sizes or {})}
    generator = torch.Generator().manual_seed(seed)
    if device == 'cuda':
        return cuda_rows(repeats, generator, sizes)
    return cpu_rows(repeats, generator, sizes)


def format_value(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def print_table(rows: List[Dict[str, object]]) -> None:
    header = ('case', 'baseline', 'value', 'candidate', 'value',
              'baseline / candidate', 'note')
    lines = [header, tuple('---' for _ in header)]
    for r in rows:
        base, cand = r['baseline'], r['candidate']
        ratio = 'n/a' if cand is None or cand == 0 else f'{base / cand:.1f}x'
        lines.append((f"{r['case']} [{r['unit']}]", r['baseline_name'],
                      format_value(base), r['candidate_name'],
                      format_value(cand), ratio, r['note']))
    for line in lines:
        print('| ' + ' | '.join(line) + ' |')


def main() -> None:
    args = parse_args()
    apply_device_args(args)
    print(f'torch {torch.__version__}, device {args.device}, '
          f'{torch.get_num_threads()} CPU thread(s), repeats {args.repeats}, '
          f'torch_quickfps usable: {ops.quickfps_available()}, '
          f'mmcv CUDA ops: {mmcv_cuda_ops_available()}')
    if args.device == 'cuda':
        print(f'GPU: {torch.cuda.get_device_name()}')
    print_table(measure_point_ops(args.device, args.repeats, args.seed))


if __name__ == '__main__':
    main()
