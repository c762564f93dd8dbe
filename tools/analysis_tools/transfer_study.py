"""Does PiMAE pre-training transfer? The paper's ablations, probed and
fine-tuned, over several seeds.

    python tools/analysis_tools/transfer_study.py [--size quick|default]
        [--seeds 3] [--variants random-init mask-random ...] [--jobs 2]
        [--work-dir work_dirs/transfer_study]

For every *variant* (random initialisation, or pre-training with one of the
configs in ``configs/pimae/ablations/``) and every seed, one *cell*:

1. **pre-train** the variant on an unlabelled corpus of generated scenes
   (``tools/create_demo_data.py --variety rich``, its train split; the labels
   are not read) with the variant's config and a short schedule;
2. **point probes** of the frozen point encoder on the objects of the
   scenes (``configs/point_probe/``): weighted k-NN (no training) and a
   BatchNorm + linear head, trained on the train split's objects and tested
   on the held-out split's;
3. **image probe** of the frozen image encoder on the objects' crops
   (``configs/vit/vit-pimae_linear-probe_sunrgbd-crops_demo.py``, the
   checkpoint converted by
   ``tools/model_converters/pimae_to_mmpretrain_vit.py``);
4. **detector**: 3DETR (``configs/threedetr/threedetr_pimae_demo_sunrgbd.py``,
   encoder from the variant; from scratch for random initialisation)
   fine-tuned on a small labelled subset and evaluated with mmdet3d's
   ``IndoorMetric`` (AP@0.25) on the held-out scenes.

A variant without a point branch has no point or detector numbers, one
without an image branch no image-probe number ("n/a"). Every step runs the
project's configs through MMEngine's ``Runner`` in this process, with the
study's sizes as config overrides (``SIZES``). Each finished step writes its
result to ``<work-dir>/cells/<variant>_seed<k>/<step>.json``, and a finished
cell to ``<work-dir>/cells/<variant>_seed<k>.json``: a stopped study run
again with the same arguments continues from there (finished steps and cells
are read back, not recomputed; ``--fresh`` starts over). At the end it
writes ``results.json``, ``results.md`` (mean ± seed std) and ``results.png``
(bar chart with error bars) to the work dir, and prints the table and the
checks of the paper's claims. ``--jobs N`` runs N cells at once, each in
its own process (the default size is timed with ``--jobs 2`` on 2 cores).
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (osp.join(ROOT, 'tools', 'analysis_tools'),
             osp.join(ROOT, 'tools', 'model_converters'),
             osp.join(ROOT, 'tools'), ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)

import study_report  # noqa: E402

ABLATIONS = 'configs/pimae/ablations/pimae_8xb16-accum2-400e_{}_sunrgbd.py'
#: Variant name -> pre-training config (None: random initialisation).
VARIANTS: Dict[str, Optional[str]] = {
    'random-init': None,
    'mask-random': ABLATIONS.format('image-mask-random'),
    'mask-uniform': ABLATIONS.format('image-mask-uniform'),
    'mask-complement': ABLATIONS.format('image-mask-complement'),
    'no-cross-loss': ABLATIONS.format('no-cross-loss'),
    'point-only': ABLATIONS.format('point-only'),
    'image-only': ABLATIONS.format('image-only'),
    'shared-enc-0': ABLATIONS.format('shared-enc-0'),
    'shared-enc-1': ABLATIONS.format('shared-enc-1'),
}
DEFAULT_VARIANTS = ('random-init', 'mask-random', 'mask-uniform',
                    'mask-complement', 'no-cross-loss', 'point-only',
                    'image-only')
POINT_PROBE = 'configs/point_probe/pimae-point_linear-probe_sunrgbd-objects_demo.py'  # noqa: E501
IMAGE_PROBE = 'configs/vit/vit-pimae_linear-probe_sunrgbd-crops_demo.py'
DETECTOR = 'configs/threedetr/threedetr_pimae_demo_sunrgbd.py'
METRICS = ('point_knn', 'point_linear', 'image_linear', 'det_map25')
#: The evaluations of a cell (``--steps``) and the metric each reports.
STEPS = ('point_knn', 'point_linear', 'image_linear', 'detector')
STEP_METRIC = dict(zip(STEPS, METRICS))
TITLES = dict(
    point_knn='point k-NN top-1 (%)',
    point_linear='point linear probe top-1 (%)',
    image_linear='image linear probe top-1 (%)',
    det_map25='3DETR AP@0.25 (%)')

#: The study's sizes: the corpus, and the epochs / batch of every step.
SIZES: Dict[str, dict] = dict(
    quick=dict(
        num_scenes=12, width=200, height=150, scene_points=20000,
        pretrain_epochs=1, pretrain_batch=4,
        probe_epochs=1, probe_batch=8,
        det_scenes=8, det_epochs=1, det_batch=4),
    # 89 min on 2 shared cores, --jobs 2 (README): 6 pre-training epochs of 15
    # iterations, probes of 6 epochs, 3DETR for 4 epochs of 8 iterations
    default=dict(
        num_scenes=160, width=320, height=240, scene_points=20000,
        pretrain_epochs=6, pretrain_batch=8,
        probe_epochs=6, probe_batch=32,
        det_scenes=32, det_epochs=4, det_batch=4),
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``None`` reads ``sys.argv``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Pre-training variants x seeds: point / image probes '
        'and 3DETR fine-tuning on generated scenes')
    parser.add_argument('--size', choices=tuple(SIZES), default='default')
    parser.add_argument('--seeds', type=int, default=3, help='seeds per cell')
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=tuple(VARIANTS),
        default=list(DEFAULT_VARIANTS),
        metavar='VARIANT',
        help=f'variants to run (of {", ".join(VARIANTS)}); default: '
        f'{" ".join(DEFAULT_VARIANTS)}')
    parser.add_argument(
        '--steps',
        nargs='+',
        choices=STEPS,
        default=list(STEPS),
        metavar='STEP',
        help=f'evaluations to run (of {", ".join(STEPS)}; default: all); '
        'pre-training runs when any of them needs it')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/transfer_study',
        help='runs, cells and the report go here')
    parser.add_argument(
        '--data-root',
        help='generated scenes to use (created there when absent); '
        'default: <work-dir>/data')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='cells run at once, each in its own process with '
        'cpu_count / jobs torch threads (default: 1, in this process); '
        'small models use 2 cores better as 2 single-threaded cells')
    parser.add_argument(
        '--fresh',
        action='store_true',
        help='delete the finished cells of an earlier run first')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show the runners' log lines (default: warnings only)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error('--seeds must be at least 1')
    if args.jobs < 1:
        parser.error('--jobs must be at least 1')
    return args


class Study:
    """The cells of one study: where they live and how a step runs.

    Args:
        args (argparse.Namespace): The parsed command line.
    """

    def __init__(self, args: argparse.Namespace, tag: str = '') -> None:
        self.args = args
        self.tag = tag  # prefixes the progress lines of parallel cells
        self.size = SIZES[args.size]
        self.work_dir = osp.abspath(args.work_dir)
        self.cell_dir = osp.join(self.work_dir, 'cells')
        self.data_root = osp.abspath(args.data_root or osp.join(
            self.work_dir, 'data')).rstrip('/') + '/'
        self._runs = 0

    # ----------------------------------------------------------- data
    def ensure_data(self) -> None:
        """Generate the rich scenes unless ``data_root`` holds them."""
        if osp.isfile(osp.join(self.data_root, 'sunrgbd_infos_val.pkl')):
            return
        import create_demo_data
        s = self.size
        code = create_demo_data.main([
            '--out-dir', self.data_root, '--num-scenes',
            str(s['num_scenes']), '--variety', 'rich', '--seed', '0',
            '--width',
            str(s['width']), '--height',
            str(s['height']), '--num-points',
            str(s['scene_points']), '--val-ratio', '0.25', '--no-progress'
        ])
        if code != 0:
            sys.exit(f'error: generating the scenes in {self.data_root} '
                     f'failed (exit code {code})')

    def data_options(self, loaders=('train', 'val', 'test')) -> dict:
        """``<loader>_dataloader.dataset.data_root`` overrides."""
        return {
            f'{loader}_dataloader.dataset.data_root': self.data_root
            for loader in loaders
        }

    # ------------------------------------------------------- runners
    def run(self, config: str, options: dict, work_dir: str, seed: int,
            epochs: int, test: bool = True) -> Tuple[dict, str]:
        """Train ``config`` (and test the final weights) in this process.

        Args:
            config (str): Config path relative to the repository root.
            options (dict): Overrides merged into the config.
            work_dir (str): The run's work dir.
            seed (int): ``randomness.seed``.
            epochs (int): ``train_cfg.max_epochs``; no validation during
                training, one checkpoint at the end.
            test (bool): Run the test loop on the final weights.

        Returns:
            tuple[dict, str]: The test metrics (empty without ``test``) and
            the final checkpoint.
        """
        from mmengine.config import Config
        from mmengine.runner import Runner

        from projects.pimae.pimae.utils import ensure_custom_hooks
        cfg = Config.fromfile(osp.join(ROOT, config))
        cfg.merge_from_dict(options)
        cfg.merge_from_dict({
            'train_cfg.max_epochs': epochs,
            'train_cfg.val_interval': epochs + 1,
            'default_hooks.checkpoint.interval': epochs,
            'default_hooks.checkpoint.max_keep_ckpts': 1,
            'default_hooks.checkpoint.save_best': None,
        })
        follow_epochs(cfg, epochs)
        cfg.work_dir = work_dir
        cfg.launcher = 'none'
        cfg.randomness = dict(seed=seed, diff_rank_seed=False)
        self._runs += 1
        cfg.experiment_name = (f'{osp.basename(work_dir)}_{os.getpid()}_'
                               f'{self._runs}')
        if not self.args.verbose:
            cfg.log_level = 'WARNING'
        ensure_custom_hooks(cfg, ('WeightsOnlyCheckpointHook', ))
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = dict(runner.test()) if test else {}
        checkpoint = osp.join(work_dir, f'epoch_{epochs}.pth')
        if not osp.isfile(checkpoint):
            raise RuntimeError(f'{config}: the run in {work_dir} wrote no '
                               f'{osp.basename(checkpoint)}')
        return metrics, checkpoint

    # ------------------------------------------------------- the steps
    def pretrain(self, variant: str, seed: int, cell: str) -> dict:
        s = self.size
        options = self.data_options(('train', ))
        options.update({
            'train_dataloader.batch_size': s['pretrain_batch'],
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'optim_wrapper.accumulative_counts': 1,
            'auto_scale_lr.enable': False,
        })
        _, checkpoint = self.run(
            VARIANTS[variant],
            options,
            osp.join(cell, 'pretrain'),
            seed,
            s['pretrain_epochs'],
            test=False)
        return dict(checkpoint=checkpoint)

    def point_knn(self, seed: int, checkpoint: Optional[str]) -> dict:
        import point_probe_knn
        import torch
        torch.manual_seed(seed)  # the random-init baseline's weights
        argv = [osp.join(ROOT, POINT_PROBE), '--cfg-options'] + [
            f'{k}={v}' for k, v in self.data_options(('train', 'test')).items()
        ]
        argv += ['--checkpoint', checkpoint] if checkpoint else \
            ['--random-init']
        result = point_probe_knn.main(argv)
        return dict(point_knn=result['top1'])

    def point_linear(self, seed: int, checkpoint: Optional[str],
                     cell: str) -> dict:
        s = self.size
        options = self.data_options()
        options.update(self._loader_options(s['probe_batch']))
        options['model.backbone.init_cfg'] = dict(
            type='Pretrained', checkpoint=checkpoint) if checkpoint else None
        metrics, _ = self.run(POINT_PROBE, options,
                              osp.join(cell, 'point_linear'), seed,
                              s['probe_epochs'])
        return dict(point_linear=_metric(metrics, 'accuracy/top1'))

    def image_linear(self, seed: int, checkpoint: Optional[str],
                     cell: str) -> dict:
        s = self.size
        options = self.data_options()
        options.update(self._loader_options(s['probe_batch']))
        if checkpoint:
            options['model.backbone.init_cfg'] = dict(
                type='Pretrained',
                checkpoint=self._vit_checkpoint(checkpoint, cell))
        else:
            options['model.backbone.init_cfg'] = None
        metrics, _ = self.run(IMAGE_PROBE, options,
                              osp.join(cell, 'image_linear'), seed,
                              s['probe_epochs'])
        return dict(image_linear=_metric(metrics, 'accuracy/top1'))

    def detector(self, seed: int, checkpoint: Optional[str],
                 cell: str) -> dict:
        s = self.size
        options = self.data_options()
        options.update(self._loader_options(s['det_batch']))
        options['train_dataloader.dataset.indices'] = s['det_scenes']
        options['model.init_cfg'] = dict(
            type='PiMAEPretrained',
            checkpoint=checkpoint) if checkpoint else None
        metrics, _ = self.run(DETECTOR, options, osp.join(cell, 'detector'),
                              seed, s['det_epochs'])
        return dict(det_map25=100. * map_over_present_classes(metrics))

    def _loader_options(self, batch_size: int) -> dict:
        options = {}
        for loader in ('train', 'val', 'test'):
            options.update({
                f'{loader}_dataloader.batch_size': batch_size,
                f'{loader}_dataloader.num_workers': 0,
                f'{loader}_dataloader.persistent_workers': False,
            })
        return options

    def _vit_checkpoint(self, checkpoint: str, cell: str) -> str:
        """The image branch of ``checkpoint`` as an mmpretrain ViT file."""
        from mmengine.config import Config
        from pimae_to_mmpretrain_vit import convert_to_vit

        from pimae_to_3detr import load_pimae_state

        from projects.pimae.pimae.utils.checkpoint import save_checkpoint_file
        img_size = Config.fromfile(osp.join(
            ROOT, IMAGE_PROBE)).model.backbone.img_size
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        out = convert_to_vit(
            load_pimae_state(checkpoint),
            img_size=tuple(img_size),
            source=checkpoint)
        path = osp.join(cell, 'image_linear', 'pimae_vit.pth')
        save_checkpoint_file(dict(state_dict=out), path)
        return path

    # ----------------------------------------------------------- cells
    def steps_of(self, variant: str) -> List[str]:
        """The requested steps that apply to a variant's branches."""
        branches = variant_branches(VARIANTS[variant])
        return [
            name for name in self.args.steps
            if ('images' if name == 'image_linear' else 'points') in branches
        ]

    def cell(self, variant: str, seed: int) -> dict:
        """Run (or read back) every step of one cell."""
        cell = osp.join(self.cell_dir, f'{variant}_seed{seed}')
        result = dict(variant=variant, seed=seed)

        def step(name: str, fn, *fn_args) -> dict:
            path = osp.join(cell, f'{name}.json')
            if osp.isfile(path):
                print(f'    {self.tag}{name}: finished earlier, read back',
                      flush=True)
                return study_report.read_json(path)
            start = time.perf_counter()
            out = fn(*fn_args)
            out['seconds'] = round(time.perf_counter() - start, 1)
            study_report.write_json_atomic(path, out)
            shown = {k: round(v, 2) for k, v in out.items()
                     if k in METRICS}
            print(
                f'    {self.tag}{name}: {shown or "done"} in '
                f'{out["seconds"]:.0f} s',
                flush=True)
            return out

        checkpoint = None
        wanted = self.steps_of(variant)
        if VARIANTS[variant] is not None and wanted:
            checkpoint = step('pretrain', self.pretrain, variant, seed,
                              cell)['checkpoint']
        for name in wanted:
            fn = getattr(self, name)
            args = (seed, checkpoint) if name == 'point_knn' else \
                (seed, checkpoint, cell)
            result.update(step(name, fn, *args))
        result.pop('seconds', None)
        result.pop('checkpoint', None)
        return result


def _metric(metrics: dict, key: str) -> float:
    if key not in metrics:
        raise KeyError(f'the test loop reported {sorted(metrics)}, not {key}')
    return float(metrics[key])


def map_over_present_classes(metrics: dict, iou: str = '0.25') -> float:
    """AP@``iou`` averaged over the classes with ground truth.

    mmdet3d's ``IndoorMetric`` averages the APs of every class that has a
    prediction or a ground-truth box; a class predicted but absent from the
    (small) test split has AP NaN and makes ``mAP`` NaN. Those are left out
    here; a class with boxes but no prediction counts with AP 0.
    """
    import math
    aps = [
        float(v) for k, v in metrics.items()
        if k.endswith(f'_AP_{iou}') and not math.isnan(float(v))
    ]
    if not aps:
        raise KeyError(f'the test loop reported no per-class AP_{iou} that '
                       f'is a number: {sorted(metrics)}')
    return sum(aps) / len(aps)


def variant_branches(config: Optional[str]) -> Tuple[str, ...]:
    """The modalities a variant pre-trains (random init: both)."""
    if config is None:
        return ('points', 'images')
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    return tuple(cfg.model.backbone.get('modalities', ('points', 'images')))


def follow_epochs(cfg, epochs: int) -> None:
    """Fit every epoch-based scheduler into ``epochs``: warm-up at most a
    fifth of them, then the rest."""
    warmup = max(1, epochs // 5) if epochs > 1 else 0
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, sched in enumerate(schedulers):
        if not sched.get('by_epoch', True):
            continue
        first = i == 0 and len(schedulers) > 1
        begin, end = (0, warmup) if first else (warmup if i else 0, epochs)
        if end <= begin:
            begin, end = 0, max(epochs, 1)
        sched['begin'], sched['end'] = begin, end
        if 'T_max' in sched:
            sched['T_max'] = end - begin


def checks(table: dict) -> List[str]:
    """The paper's claims, tested on the study's table (on each point probe
    the table has)."""
    lines = []
    for metric in ('point_linear', 'point_knn'):
        base = table.get('random-init', {}).get(metric)
        for variant in ('mask-random', 'mask-complement'):
            mine = table.get(variant, {}).get(metric)
            if not (base and mine):
                continue
            if min(base['n'], mine['n']) < 2:
                lines.append(f'- {variant} vs random init ({metric}): one '
                             'seed only, no std to compare the gap with')
                continue
            gap = mine['mean'] - base['mean']
            bar = 2 * max(mine['std'], base['std'])
            verdict = 'holds' if gap > bar else 'does not hold'
            lines.append(
                f'- {variant} beats random init on {metric} by more than '
                f'twice the seed std: {verdict} (gap {gap:+.2f}, 2 x std '
                f'{bar:.2f})')
        masks = [
            m for m in ('mask-random', 'mask-uniform', 'mask-complement')
            if metric in table.get(m, {})
        ]
        if len(masks) == 3:
            order = sorted(masks, key=lambda m: -table[m][metric]['mean'])
            verdict = 'holds' if order[0] == 'mask-complement' else \
                'does not hold'
            lines.append(f'- masking order on {metric}: '
                         f'{" > ".join(order)}; complement best: {verdict}')
    return lines


def finished_cell(study: Study, variant: str, seed: int) -> Optional[dict]:
    """The cell's result if an earlier run finished all its steps."""
    path = osp.join(study.cell_dir, f'{variant}_seed{seed}.json')
    if osp.isfile(path):
        done = study_report.read_json(path)
        if all(STEP_METRIC[name] in done for name in study.steps_of(variant)):
            return done
    return None


def run_cell(study: Study, variant: str, seed: int) -> dict:
    """Run one cell and write its result file."""
    result = study.cell(variant, seed)
    study_report.write_json_atomic(
        osp.join(study.cell_dir, f'{variant}_seed{seed}.json'), result)
    return result


def _exit_with_parent(poll_s: float = 1.0) -> None:
    """Initializer of the cell processes: exit once the study process is
    gone (killed included), rather than finish a cell nobody collects
    while the next study competes with it for the cores."""
    import threading
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _cell_process(args: argparse.Namespace, variant: str, seed: int,
                  threads: int) -> dict:
    """One cell in a worker process of :func:`run_cells_in_parallel`."""
    import torch
    torch.set_num_threads(threads)
    import projects.pimae.pimae  # noqa: F401  (registers the modules)
    study = Study(args, tag=f'{variant}/{seed} ')
    return run_cell(study, variant, seed)


def run_cells_in_parallel(args: argparse.Namespace,
                          pending: List[Tuple[int, str, int]], total: int,
                          cells: Dict[Tuple[str, int], dict],
                          start: float) -> List[str]:
    """Run the pending cells ``args.jobs`` at a time in spawned processes.

    Each process gets ``cpu_count // jobs`` torch threads and exits when
    this process does. A failing cell does not stop the others; its error
    is printed and returned.

    Returns:
        list[str]: ``'<variant> seed <k>: <error>'`` of each failed cell.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    failed = []
    with ProcessPoolExecutor(
            max_workers=args.jobs,
            mp_context=multiprocessing.get_context('spawn'),
            initializer=_exit_with_parent) as pool:
        futures = {}
        for index, variant, seed in pending:
            futures[pool.submit(_cell_process, args, variant, seed,
                                threads)] = (index, variant, seed)
            print(f'[{index}/{total}] {variant}, seed {seed}: queued',
                  flush=True)
        for future in as_completed(futures):
            index, variant, seed = futures[future]
            elapsed = (time.perf_counter() - start) / 60
            try:
                cells[variant, seed] = future.result()
            except Exception as error:  # reported, the others go on
                failed.append(f'{variant} seed {seed}: '
                              f'{type(error).__name__}: {error}')
                print(f'[{index}/{total}] {variant}, seed {seed}: FAILED '
                      f'({type(error).__name__}: {error})', flush=True)
                continue
            print(f'[{index}/{total}] {variant}, seed {seed}: done '
                  f'({elapsed:.1f} min so far)', flush=True)
    return failed


def check_same_size(study: Study) -> None:
    """Refuse to resume cells that were computed at another size.

    The sizes are written to ``<work-dir>/cells/study_size.json`` when the
    first cell starts; a later run with other sizes would mix numbers that
    do not compare, so it stops and names both.
    """
    path = osp.join(study.cell_dir, 'study_size.json')
    if osp.isfile(path):
        earlier = study_report.read_json(path)
        if earlier != study.size:
            sys.exit(f'error: {study.cell_dir} holds cells of another study '
                     f'size ({earlier}); this run has {study.size}. Use '
                     'another --work-dir, or --fresh to start over there')
    else:
        study_report.write_json_atomic(path, study.size)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    study = Study(args)
    if args.fresh and osp.isdir(study.cell_dir):
        shutil.rmtree(study.cell_dir)
    check_same_size(study)
    import projects.pimae.pimae  # noqa: F401  (registers the modules)
    start = time.perf_counter()
    study.ensure_data()
    todo = [(v, s) for v in args.variants for s in range(args.seeds)]
    cells: Dict[Tuple[str, int], dict] = {}
    pending = []
    for index, (variant, seed) in enumerate(todo, start=1):
        done = finished_cell(study, variant, seed)
        if done is not None:
            print(f'[{index}/{len(todo)}] {variant}, seed {seed}: finished '
                  'earlier, read back', flush=True)
            cells[variant, seed] = done
        else:
            pending.append((index, variant, seed))
    if args.jobs == 1:
        for index, variant, seed in pending:
            elapsed = time.perf_counter() - start
            print(f'[{index}/{len(todo)}] {variant}, seed {seed} '
                  f'({elapsed / 60:.1f} min so far)', flush=True)
            cells[variant, seed] = run_cell(study, variant, seed)
    else:
        failed = run_cells_in_parallel(args, pending, len(todo), cells, start)
        if failed:
            sys.exit(f'error: {len(failed)} cell(s) failed: '
                     f'{"; ".join(failed)}. The finished cells and steps '
                     'are kept; run the same command again to resume')
    cells = [cells[key] for key in todo]

    metrics = [STEP_METRIC[name] for name in STEPS if name in args.steps]
    table = study_report.aggregate(cells, args.variants, metrics)
    claims = checks(table)
    markdown = (
        f'Transfer study, size `{args.size}`, {args.seeds} seeds per cell '
        f'(mean ± sample std (n)); scenes: {study.data_root}\n\n' +
        study_report.markdown_table(table, metrics, TITLES) +
        ('\n' + '\n'.join(claims) + '\n' if claims else ''))
    study_report.write_json_atomic(
        osp.join(study.work_dir, 'results.json'),
        dict(
            size=args.size,
            sizes=study.size,
            seeds=args.seeds,
            variants=list(args.variants),
            cells=cells,
            table=table,
            checks=claims,
            wall_s=round(time.perf_counter() - start, 1)))
    with open(osp.join(study.work_dir, 'results.md'), 'w') as f:
        f.write(markdown)
    study_report.bar_chart(
        table,
        metrics,
        osp.join(study.work_dir, 'results.png'),
        TITLES,
        suptitle=f'PiMAE transfer study ({args.size}, {args.seeds} seeds)')
    print('\n' + markdown)
    minutes = (time.perf_counter() - start) / 60
    print(f'results: {osp.join(study.work_dir, "results.md")}, '
          f'results.json, results.png ({minutes:.1f} min)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
