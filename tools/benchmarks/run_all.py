# Copyright (c) OpenMMLab. All rights reserved.
"""Every benchmark of the project in one run, each against its baseline
measured in the same run, as one table and one JSON file.

    python tools/benchmarks/run_all.py --device cuda
    python tools/benchmarks/run_all.py --device cpu --size tiny --out r.json

Rows (``key``: value vs baseline):

* ``point_ops.*``: each point op's fast path vs its pure torch path (ms, or
  MB of peak memory): on CPU torch_quickfps FPS, top-k KNN and cdist
  Chamfer; on CUDA mmcv's kernels where mmcv has them
  (``benchmark_point_ops.py``);
* ``data.pipeline:<variant>``: samples/s of one data-loader worker (single
  thread) on generated SUN RGB-D-like scenes: each variant of the
  pre-training dataset config's pipeline (FPS in the worker, FPS left to
  the device, full-size decoding) vs the pipeline as it ran before its
  data path was tuned (``benchmark_data.pipeline_variants``);
* ``train_step.*``: one training step of the default PiMAE (fwd + bwd +
  AdamW): samples/s and peak memory of this project's default path vs the
  original's work pattern ('faithful'); bf16 autocast vs fp32 (CUDA only);
  the GFLOP/s a step achieves (FLOPs from
  ``torch.utils.flop_counter.FlopCounterMode``) vs a square matmul timed in
  the same run, in fp32 and, on CUDA, bf16 (``benchmark_train_step.py``);
* ``threedetr.samples_per_s``: a 3DETR training step with the PiMAE-shaped
  6-layer encoder vs 3DETR's 3-layer one (``benchmark_threedetr.py``);
* ``votenet.samples_per_s``: a VoteNet training step with the PiMAE point
  backbone vs PointNet++ (``benchmark_votenet.py``);
* ``pretrain.end_to_end``: pre-training samples/s through mmengine's Runner
  with ``--workers`` data workers (data loading included) vs the model alone
  on one loaded batch (``benchmark_pretrain.py``).

``ratio`` is always value / baseline; the ``better`` column says whether a
higher or a lower value is the better one. ``--size tiny`` runs small inputs
(about a minute on CPU; what the test runs), ``--size default`` the
project's real sizes (a few minutes on one GPU). ``--device cpu`` hides any
GPU from the whole run (the Runner would otherwise pick it). A section that
fails is reported in its row and on stderr, the others still run, and the
exit status is 1.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Optional

_START = time.perf_counter()  # the run's seconds include the imports

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.abspath(osp.join(HERE, '..', '..'))

#: Inputs and repeats of each ``--size``.
SIZES = dict(
    tiny=dict(
        repeats=1,
        warmup=1,
        point_ops=dict(
            scene_points=4000,
            scene_samples=256,
            batch=2,
            cloud_points=1024,
            centres=64,
            k=16,
            patches=64,
            group=32),
        data=dict(num_scenes=5, width=365, height=265, repeats=1),
        train_batch=1,
        matmul_size=dict(cpu=256, cuda=1024),
        detector=dict(batch_size=1, num_points=4096),
        pretrain=dict(batch_size=2, epochs=2, warmup=1, model_steps=1),
        workers=1),
    default=dict(
        repeats=3,
        warmup=1,
        point_ops=dict(),  # benchmark_point_ops.SIZES: PiMAE's sizes
        data=dict(num_scenes=40, width=730, height=530, repeats=3),
        train_batch=8,
        matmul_size=dict(cpu=2048, cuda=4096),
        detector=dict(batch_size=8, num_points=20000),
        pretrain=dict(batch_size=8, epochs=3, warmup=2, model_steps=3),
        workers=4),
)

#: More repeats where a step takes milliseconds.
CUDA_REPEATS = dict(repeats=10, warmup=3)

SECTIONS = ('point_ops', 'data', 'train_step', 'threedetr', 'votenet',
            'pretrain')

DATA_CONFIG = osp.join(ROOT, 'configs/_base_/datasets/sunrgbd_pretrain.py')
PRETRAIN_CONFIG = osp.join(ROOT, 'configs/pimae/pretrain_demo.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run every PiMAE benchmark against its baseline in one '
        'run; print one table and write JSON.')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--size',
        choices=sorted(SIZES),
        default='default',
        help='tiny: small inputs, about a minute on CPU; default: the '
        'project\'s sizes (a few minutes on one GPU)')
    parser.add_argument(
        '--out',
        default=None,
        help='JSON file to write (default: '
        'work_dirs/benchmarks/run_all_<device>_<size>.json)')
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='data workers of the end-to-end pre-training row (default: 1 '
        'for tiny, 4 for default)')
    parser.add_argument(
        '--data-config',
        default=DATA_CONFIG,
        help='config whose train_pipeline (and its variants) the data rows '
        'measure')
    parser.add_argument(
        '--sections',
        nargs='+',
        choices=SECTIONS,
        default=list(SECTIONS),
        help='run only these sections')
    return parser.parse_args(argv)


if __name__ == '__main__':
    _args = parse_args()  # --help, usage errors: before the heavy imports
    if _args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # before torch sees a GPU

import torch  # noqa: E402

for _path in (HERE, ROOT):  # this clone's code wins over any installed copy
    if _path not in sys.path:
        sys.path.insert(0, _path)

import benchmark_data  # noqa: E402
import benchmark_point_ops  # noqa: E402
import benchmark_threedetr  # noqa: E402
import benchmark_train_step  # noqa: E402
import benchmark_votenet  # noqa: E402

from projects.pimae.pimae.ops import quickfps_available  # noqa: E402
from projects.pimae.pimae.ops._mmcv_backend import \
    mmcv_cuda_ops_status  # noqa: E402

Row = Dict[str, object]


def make_row(key: str,
             figure: str,
             unit: str,
             better: str,
             value: Optional[float],
             baseline: Optional[float],
             value_name: str,
             baseline_name: str,
             device: str,
             note: str = '') -> Row:
    """One figure against its baseline; ``ratio`` = value / baseline, None
    where either is missing."""
    ratio = None
    if value is not None and baseline:
        ratio = value / baseline
    return dict(
        key=key,
        figure=figure,
        unit=unit,
        better=better,
        value=value,
        value_name=value_name,
        baseline=baseline,
        baseline_name=baseline_name,
        ratio=ratio,
        device=device,
        note=note)


class Context:
    """What the sections share: arguments, sizes, the generated data."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = args.device
        self.size = dict(SIZES[args.size])
        if args.device == 'cuda' and args.size == 'default':
            self.size.update(CUDA_REPEATS)
        self.workers = args.workers if args.workers is not None else \
            self.size['workers']
        self.data_root: Optional[str] = None
        self.tmp = tempfile.TemporaryDirectory(prefix='pimae_run_all_')

    def scenes(self) -> str:
        """Generate the synthetic scenes once, on first use."""
        if self.data_root is None:
            data = self.size['data']
            root = osp.join(self.tmp.name, 'sunrgbd')
            cfg = benchmark_data.scene_config(data['width'], data['height'])
            benchmark_data.synthetic_sunrgbd.generate_dataset(
                root,
                data['num_scenes'],
                seed=0,
                cfg=cfg,
                workers=min(8, os.cpu_count() or 1))
            self.data_root = root
        return self.data_root


# --------------------------------------------------------------------------
# Sections: each returns its rows
# --------------------------------------------------------------------------


def point_op_rows(ctx: Context) -> List[Row]:
    repeats = max(ctx.size['repeats'], 1)
    if ctx.device == 'cpu':  # as in a data-loader worker
        with benchmark_data.torch_threads(1):
            cases = benchmark_point_ops.measure_point_ops(
                'cpu', repeats, sizes=ctx.size['point_ops'])
        threads = '1 CPU thread'
    else:
        cases = benchmark_point_ops.measure_point_ops(
            'cuda', repeats, sizes=ctx.size['point_ops'])
        threads = 'GPU'
    rows = []
    for case in cases:
        note = '; '.join(n for n in (threads, case['note']) if n)
        rows.append(
            make_row(f'point_ops.{case["key"]}', f'point op: {case["case"]}',
                     case['unit'], 'lower', case['candidate'],
                     case['baseline'], case['candidate_name'],
                     case['baseline_name'], ctx.device, note))
    return rows


def data_rows(ctx: Context) -> List[Row]:
    data = ctx.size['data']
    results = benchmark_data.measure_pipelines(ctx.scenes(), data['repeats'],
                                               ctx.args.data_config)
    base = results.pop('baseline')
    base_name = f'{base["name"]} pipeline'
    config = osp.relpath(ctx.args.data_config, ROOT)
    common = (f'one worker (1 thread, CPU), {base["num_samples"]} scenes '
              f'{data["width"]}x{data["height"]} x {data["repeats"]} passes')
    rows = []
    for name, result in results.items():
        where = 'FPS in the worker' if result['fps_in_worker'] else \
            'no FPS in the worker (the data preprocessor samples on the ' \
            'device)'
        rows.append(
            make_row(f'data.pipeline:{name}',
                     f'data pipeline per worker: {name}', 'samples/s',
                     'higher', result['samples_per_s'], base['samples_per_s'],
                     name, base_name, 'cpu',
                     f'{common}; train_pipeline of {config}; {where}'))
    return rows


def train_step_rows(ctx: Context) -> List[Row]:
    device, size = ctx.device, ctx.size
    kwargs = dict(
        device=device,
        batch_size=size['train_batch'],
        repeats=size['repeats'],
        warmup=size['warmup'])
    measure = benchmark_train_step.measure
    faithful = measure('faithful', **kwargs)
    default = measure('default', flops=True, **kwargs)
    batch = f'batch {size["train_batch"]}'
    rows = [
        make_row('train_step.samples_per_s',
                 'PiMAE training step (fwd+bwd+AdamW)', 'samples/s', 'higher',
                 default['samples_per_s'], faithful['samples_per_s'],
                 'default', 'faithful', device, batch),
        make_row('train_step.peak_memory', 'PiMAE training step peak memory',
                 'MiB', 'lower', default['peak_mb'], faithful['peak_mb'],
                 'default', 'faithful', device, batch)
    ]
    matmul = size['matmul_size'][device]
    mm_fp32 = benchmark_train_step.matmul_gflops(device, torch.float32,
                                                 matmul, size['repeats'] + 2)
    gflop = default['flops'] / 1e9
    tf32 = device == 'cuda' and torch.backends.cuda.matmul.allow_tf32
    flops_note = (f'{gflop:.2f} GFLOP per step (fwd+bwd, '
                  f'torch.utils.flop_counter), {batch}; {matmul}x{matmul} '
                  f'matmul{", TF32 on" if tf32 else ""}')
    rows.append(
        make_row('train_step.gflops', 'PiMAE training step GFLOP/s, fp32',
                 'GFLOP/s', 'higher', gflop / default['seconds'], mm_fp32,
                 'achieved by the step', 'fp32 matmul', device, flops_note))
    if device == 'cuda':
        amp = measure('default', amp=True, memory=False, **kwargs)
        mm_bf16 = benchmark_train_step.matmul_gflops(device, torch.bfloat16,
                                                     matmul,
                                                     size['repeats'] + 2)
        rows += [
            make_row('train_step.amp', 'PiMAE training step, bf16 autocast',
                     'samples/s', 'higher', amp['samples_per_s'],
                     default['samples_per_s'], 'default + bf16 autocast',
                     'default fp32', device, batch),
            make_row('train_step.gflops_bf16',
                     'PiMAE training step GFLOP/s, bf16 autocast', 'GFLOP/s',
                     'higher', gflop / amp['seconds'], mm_bf16,
                     'achieved by the step', 'bf16 matmul', device,
                     flops_note),
            make_row('matmul.bf16', 'square matmul GFLOP/s, bf16 vs fp32',
                     'GFLOP/s', 'higher', mm_bf16, mm_fp32, 'bf16', 'fp32',
                     device, f'{matmul}x{matmul}')
        ]
    else:
        skipped = ('skipped: bf16 autocast is measured with --device cuda '
                   'only (a CPU step is not trained in bf16)')
        rows += [
            make_row('train_step.amp', 'PiMAE training step, bf16 autocast',
                     'samples/s', 'higher', None, default['samples_per_s'],
                     'default + bf16 autocast', 'default fp32', device,
                     skipped),
            make_row('train_step.gflops_bf16',
                     'PiMAE training step GFLOP/s, bf16 autocast', 'GFLOP/s',
                     'higher', None, None, 'achieved by the step',
                     'bf16 matmul', device, skipped),
            make_row('matmul.bf16', 'square matmul GFLOP/s, bf16 vs fp32',
                     'GFLOP/s', 'higher', None, mm_fp32, 'bf16', 'fp32',
                     device, skipped)
        ]
    return rows


def detector_row(ctx: Context, key: str, figure: str, configs: dict,
                 value: str, baseline: str, with_height: bool) -> Row:
    det = ctx.size['detector']
    results = {
        name: benchmark_votenet.measure(
            configs[name],
            ctx.device,
            det['batch_size'],
            det['num_points'],
            ctx.size['repeats'],
            ctx.size['warmup'],
            with_height=with_height)
        for name in (baseline, value)
    }
    return make_row(
        key, figure, 'samples/s', 'higher', results[value]['samples_per_s'],
        results[baseline]['samples_per_s'], value, baseline, ctx.device,
        f'batch {det["batch_size"]} x {det["num_points"]} points; backbone '
        f'{results[value]["params_m"]:.2f} M vs '
        f'{results[baseline]["params_m"]:.2f} M parameters')


def threedetr_rows(ctx: Context) -> List[Row]:
    return [
        detector_row(ctx, 'threedetr.samples_per_s',
                     '3DETR training step (fwd+bwd+Adam)',
                     benchmark_threedetr.CONFIGS, 'pimae', 'scratch', False)
    ]


def votenet_rows(ctx: Context) -> List[Row]:
    return [
        detector_row(ctx, 'votenet.samples_per_s',
                     'VoteNet training step (fwd+bwd+Adam)',
                     benchmark_votenet.CONFIGS, 'pimae', 'stock', True)
    ]


def pretrain_rows(ctx: Context) -> List[Row]:
    import benchmark_pretrain
    from mmengine.config import Config
    opts = ctx.size['pretrain']
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    loader = cfg.train_dataloader
    loader.dataset.data_root = ctx.scenes()
    loader.batch_size = opts['batch_size']
    loader.num_workers = ctx.workers
    loader.persistent_workers = ctx.workers > 0
    result = benchmark_pretrain.measure_pretrain(cfg, opts['epochs'],
                                                 opts['warmup'],
                                                 opts['model_steps'])
    return [
        make_row(
            'pretrain.end_to_end', 'PiMAE pre-training, end to end',
            'samples/s', 'higher', result['end_to_end'], result['model_only'],
            f'Runner, {ctx.workers} data workers', 'model only, one batch',
            result['device'],
            f'{osp.relpath(PRETRAIN_CONFIG, ROOT)}, batch '
            f'{result["batch_size"]}, {result["timed_iters"]} timed '
            'iterations; ratio 1 = the data loading keeps up')
    ]


SECTION_FUNCS: Dict[str, Callable[[Context], List[Row]]] = dict(
    point_ops=point_op_rows,
    data=data_rows,
    train_step=train_step_rows,
    threedetr=threedetr_rows,
    votenet=votenet_rows,
    pretrain=pretrain_rows)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def environment(device: str) -> Dict[str, object]:
    import mmcv
    mmcv_cuda, mmcv_reason = mmcv_cuda_ops_status()
    return dict(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available() else None,
        gpu=torch.cuda.get_device_name() if device == 'cuda' else None,
        mmcv=mmcv.__version__,
        mmcv_cuda_ops=mmcv_cuda,
        mmcv_cuda_ops_reason=mmcv_reason,
        torch_quickfps=quickfps_available(),
        cpu_threads=torch.get_num_threads(),
        python=sys.version.split()[0])


def format_number(value: Optional[float]) -> str:
    if value is None:
        return 'n/a'
    return f'{value:.3g}' if abs(value) < 100 else f'{value:.0f}'


def print_table(report: Dict[str, object]) -> None:
    env = report['environment']
    where = report['device'] + (f' ({env["gpu"]})' if env['gpu'] else '')
    print(f'\nPiMAE benchmarks, size {report["size"]}, device {where}, '
          f'torch {env["torch"]}, CUDA {env["cuda"]}, mmcv {env["mmcv"]} '
          f'(CUDA ops: {env["mmcv_cuda_ops_reason"]}), '
          f'{env["cpu_threads"]} CPU threads, {report["seconds"]:.0f} s')
    versions = f'{env["torch"]} / {env["cuda"]}'
    header = ('figure', 'value', 'baseline', 'ratio (value / baseline)',
              'unit (better)', 'device', 'torch / CUDA', 'note')
    lines = [header, tuple('---' for _ in header)]
    for r in report['rows']:
        ratio = 'n/a' if r['ratio'] is None else f'{r["ratio"]:.2f}'
        lines.append(
            (r['figure'], f'{format_number(r["value"])} ({r["value_name"]})',
             f'{format_number(r["baseline"])} ({r["baseline_name"]})', ratio,
             f'{r["unit"]} ({r["better"]})', r['device'], versions,
             r['note']))
    for line in lines:
        print('| ' + ' | '.join(str(cell) for cell in line) + ' |')


def run(args: argparse.Namespace) -> Dict[str, object]:
    """Run the chosen sections; a failing section becomes an error row.

    Returns:
        dict: ``device``, ``size``, ``environment``, ``rows`` (see
        :func:`make_row`), ``errors`` (section -> message) and ``seconds``
        (since the start of the process, imports included).
    """
    ctx = Context(args)
    rows: List[Row] = []
    errors: Dict[str, str] = {}
    try:
        for section in args.sections:
            print(f'[run_all] {section} ...', flush=True)
            try:
                rows.extend(SECTION_FUNCS[section](ctx))
            except Exception as error:  # report, then run the others
                traceback.print_exc()
                message = f'{type(error).__name__}: {error}'
                errors[section] = message
                rows.append(
                    make_row(section, f'{section} (failed)', '', '', None,
                             None, '', '', args.device, f'failed: {message}'))
    finally:
        ctx.tmp.cleanup()
    return dict(
        device=args.device,
        size=args.size,
        environment=environment(args.device),
        rows=rows,
        errors=errors,
        seconds=time.perf_counter() - _START)


def main() -> int:
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: --device cuda but no CUDA device is visible')
    report = run(args)
    out = args.out or osp.join(ROOT, 'work_dirs', 'benchmarks',
                               f'run_all_{args.device}_{args.size}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as file:
        json.dump(report, file, indent=2)
    print_table(report)
    print(f'\nJSON: {out}')
    for section, message in report['errors'].items():
        print(f'error in {section}: {message}', file=sys.stderr)
    return 1 if report['errors'] else 0


if __name__ == '__main__':
    sys.exit(main())
