# Copyright (c) OpenMMLab. All rights reserved.
"""Benchmark one PiMAE training step against the original's work pattern.

One step = forward, backward and AdamW update of the default-size model
(``configs/_base_/models/pimae.py``, 8.7 M parameters) on a synthetic batch
of 2048-point clouds and 256x352 images (``--batch-size``, 8 by default).
Two variants, measured in the same run:

* ``faithful``: the original's work pattern: the mini-PointNet embeds all
  128 point groups and the masked ones are dropped afterwards
  (``backbone.embed_masked_groups=True``), and the cross-modal head
  upsamples the image-decoder feature map to 256x352 before sampling it
  (``cross_head.compat_upsample_size=(256, 352)``);
* ``default``: this project's defaults: only the visible groups are embedded
  and the feature map is sampled bilinearly at the exact projections.

Both compute the same losses (the upsample path differs by interpolation
error only). Reported: the minimum step time over ``--repeats`` steps after
``--warmup`` steps, samples/s, and the peak tensor memory of one step
(``torch.profiler`` allocation events on CPU, ``max_memory_allocated`` on
CUDA), then the ratios default / faithful. With ``--amp`` (CUDA only) the
default variant is also timed with its forward under bf16 autocast.

Also reported: the FLOPs of one default step (forward + backward, counted by
``torch.utils.flop_counter.FlopCounterMode``: matmuls, convolutions,
attention; element-wise work is not counted), the GFLOP/s it achieves, and
the GFLOP/s of a square matmul timed in the same run (fp32; bf16 too with
``--amp``), i.e. how much of the machine's dense throughput one step uses.

Example:
    python tools/benchmarks/benchmark_train_step.py --repeats 3
    python tools/benchmarks/benchmark_train_step.py --device cuda --amp
"""
import argparse
import contextlib
import copy
import os.path as osp
import sys
import time
from typing import Callable, Dict, Optional, Tuple

from benchmark_args import apply_device_args, step_parser, synchronize


def parse_args() -> argparse.Namespace:
    parser = step_parser(
        'Benchmark one PiMAE training step (fwd + bwd + AdamW).', batch_size=8)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='also time the default step under bf16 autocast (CUDA only)')
    parser.add_argument(
        '--matmul-size',
        type=int,
        default=None,
        help='side of the square matmul timed for the machine\'s GFLOP/s '
        '(default: 4096 on CUDA, 2048 on CPU)')
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help, usage errors: before the heavy imports

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

VARIANTS = dict(
    faithful=dict(
        backbone=dict(embed_masked_groups=True),
        cross_head=dict(compat_upsample_size=(256, 352))),
    default=dict(),
)


def build(variant: dict, device: str) -> torch.nn.Module:
    """The default PiMAE with a variant's overrides merged in."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.pimae.pimae.models  # noqa: F401
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/models/pimae.py'))
    model_cfg = copy.deepcopy(cfg.model)
    for key, value in variant.items():
        model_cfg[key].update(value)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    return model.to(device).train()


def make_batch(batch_size: int, device: str) -> Tuple[dict, list]:
    """Points in front of a pinhole camera, projecting into the image."""
    from mmdet3d.structures import Det3DDataSample
    g = torch.Generator().manual_seed(0)
    depth = 1 + 4 * torch.rand(batch_size, 2048, generator=g)
    x = (torch.rand(batch_size, 2048, generator=g) - .5) * depth
    z = (torch.rand(batch_size, 2048, generator=g) - .5) * .6 * depth
    points = torch.stack([x, depth, z], dim=-1).to(device)
    imgs = torch.randn(batch_size, 3, 256, 352, generator=g).to(device)
    focal = 0.6 * 352
    depth2img = torch.tensor([[focal, 175.5 + 1, 0.], [0., 127.5 + 1, -focal],
                              [0., 1., 0.]]).numpy()
    samples = []
    for i in range(batch_size):
        sample = Det3DDataSample()
        sample.set_metainfo(
            dict(depth2img=depth2img, img_shape=(256, 352), sample_idx=i))
        samples.append(sample)
    return dict(points=points, imgs=imgs), samples


def step_fn(model, optimizer, inputs, samples, amp: bool = False):
    """One training step: forward (under bf16 autocast when ``amp``),
    backward, AdamW update."""
    device = inputs['points'].device.type

    def step():
        with autocast(device, amp):
            losses = model.loss(inputs, samples)
            total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        return total

    return step


def peak_memory_mb(fn, device: str) -> float:
    """Peak tensor memory of one call of ``fn`` above what was alive."""
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with profile(
            activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.events() if e.cpu_memory_usage != 0),
                    key=lambda e: e.time_range.start)
    alive = peak = 0
    for event in events:
        alive += event.cpu_memory_usage
        peak = max(peak, alive)
    return peak / 2**20


def min_seconds(fn: Callable[[], object], device: str, repeats: int) -> float:
    """Minimum wall time of ``fn`` over ``repeats`` calls (no warm-up)."""
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def autocast(device: str, amp: bool):
    """bf16 autocast on ``device`` when ``amp``, else a no-op context."""
    if amp:
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def measure(name: str,
            device: str = 'cpu',
            batch_size: int = 8,
            repeats: int = 3,
            warmup: int = 1,
            amp: bool = False,
            memory: bool = True,
            flops: bool = False) -> Dict[str, Optional[float]]:
    """Time training steps of one variant of :data:`VARIANTS`.

    Args:
        name (str): 'default' or 'faithful'.
        device (str): 'cpu' or 'cuda'.
        batch_size (int): Samples per step.
        repeats (int): Timed steps (the minimum is taken).
        warmup (int): Untimed steps first.
        amp (bool): Forward under bf16 autocast.
        memory (bool): Also measure the peak tensor memory of one step.
        flops (bool): Also count the FLOPs of one step.

    Returns:
        dict: ``seconds`` (one step), ``samples_per_s``, ``peak_mb`` (None
        unless ``memory``), ``flops`` (None unless ``flops``).
    """
    model = build(VARIANTS[name], device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs, samples = make_batch(batch_size, device)
    step = step_fn(model, optimizer, inputs, samples, amp)
    for _ in range(warmup):
        step()
    seconds = min_seconds(step, device, repeats)
    return dict(
        seconds=seconds,
        samples_per_s=batch_size / seconds,
        peak_mb=peak_memory_mb(step, device) if memory else None,
        flops=step_flops(step) if flops else None)


def step_flops(step: Callable[[], object]) -> float:
    """FLOPs of one call of ``step`` (forward + backward) as counted by
    ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def matmul_gflops(device: str,
                  dtype: torch.dtype = torch.float32,
                  size: int = 2048,
                  repeats: int = 5) -> float:
    """GFLOP/s of a ``size`` x ``size`` matmul (2 size^3 FLOPs), minimum
    time over ``repeats`` after a warm-up."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    torch.mm(a, b)
    seconds = min_seconds(lambda: torch.mm(a, b), device, repeats)
    return 2 * size**3 / seconds / 1e9


def main() -> int:
    args = parse_args()
    apply_device_args(args)
    if args.amp and args.device != 'cuda':
        sys.exit('error: --amp is measured on CUDA only (--device cuda)')
    kwargs = dict(
        device=args.device,
        batch_size=args.batch_size,
        repeats=args.repeats,
        warmup=args.warmup)
    results = {
        name: measure(name, flops=name == 'default', **kwargs)
        for name in VARIANTS
    }
    if args.amp:
        results['default + bf16 autocast'] = measure(
            'default', amp=True, **kwargs)
    print(f'PiMAE training step, batch {args.batch_size}, {args.device}, '
          f'{torch.get_num_threads()} threads, min of {args.repeats}')
    print('| variant | step (s) | samples/s | peak memory (MiB) |')
    print('| --- | --- | --- | --- |')
    for name, r in results.items():
        print(f'| {name} | {r["seconds"]:.3f} | {r["samples_per_s"]:.2f} | '
              f'{r["peak_mb"]:.0f} |')
    fast, slow = results['default'], results['faithful']
    print(f'speed-up default / faithful: '
          f'{slow["seconds"] / fast["seconds"]:.2f}x; peak memory ratio: '
          f'{fast["peak_mb"] / slow["peak_mb"]:.2f}')
    size = args.matmul_size or (4096 if args.device == 'cuda' else 2048)
    dtypes = [torch.float32] + ([torch.bfloat16] if args.amp else [])
    for dtype, name in zip(dtypes, ['default', 'default + bf16 autocast']):
        peak = matmul_gflops(args.device, dtype, size)
        achieved = fast['flops'] / results[name]['seconds'] / 1e9
        print(f'{name}: {fast["flops"] / 1e9:.1f} GFLOP per step, '
              f'{achieved:.1f} GFLOP/s; {size}x{size} {dtype} matmul '
              f'{peak:.1f} GFLOP/s; step / matmul {achieved / peak:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
