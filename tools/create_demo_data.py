"""Generate a synthetic SUN RGB-D dataset in mmdet3d's v1.x layout.

Example::

    python tools/create_demo_data.py --out-dir data/sunrgbd_demo \
        --num-scenes 100 --seed 0

writes ``points/%06d.bin``, ``sunrgbd_trainval/image/%06d.jpg`` and
``sunrgbd_infos_{train,val}.pkl`` under ``--out-dir``; the files load with
mmdet3d's ``SUNRGBDDataset`` (and the PiMAE pre-training dataset) like the
real converted SUN RGB-D. The generator itself lives in
``projects/pimae/pimae/data_generation/``.
"""
import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional

ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``None`` reads ``sys.argv``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Generate synthetic SUN RGB-D scenes (points + images '
        '+ mmdet3d v1.x info files).')
    parser.add_argument(
        '--out-dir', default='data/sunrgbd_demo', help='dataset root to write')
    parser.add_argument('--num-scenes', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.2,
        help='fraction of scenes in sunrgbd_infos_val.pkl')
    parser.add_argument(
        '--variety',
        choices=('basic', 'rich'),
        default='basic',
        help="scene preset: 'basic' (the demos' scenes) or 'rich' (classes "
        'differ by shape and size only; clutter, occlusion, depth noise; '
        'see projects/pimae/docs/synthetic_scenes.md)')
    parser.add_argument('--width', type=int, default=730)
    parser.add_argument('--height', type=int, default=530)
    parser.add_argument(
        '--num-points',
        type=int,
        default=50000,
        help='points kept per scene (-1: every valid pixel)')
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='worker processes (output does not depend on '
        'it)')
    parser.add_argument(
        '--no-progress',
        action='store_true',
        help='do not show a progress bar')
    args = parser.parse_args(argv)
    if args.num_scenes <= 0:
        parser.error('--num-scenes must be positive')
    if not 0. <= args.val_ratio < 1.:
        parser.error('--val-ratio must be in [0, 1)')
    if args.width < 16 or args.height < 16:
        parser.error('--width and --height must be at least 16')
    return args


def _progress(total: int) -> Callable[[Iterable], Iterator]:
    """A wrapper that advances an mmengine progress bar per scene."""
    from mmengine.utils import ProgressBar

    def wrap(items: Iterable) -> Iterator:
        bar = ProgressBar(total)
        for item in items:
            bar.update()
            yield item
        sys.stdout.write('\n')

    return wrap


def main(argv: Optional[List[str]] = None) -> int:
    """Generate the dataset and print a summary.

    Args:
        argv (list[str], optional): Command-line arguments.

    Returns:
        int: Exit code (0).
    """
    args = parse_args(argv)
    from projects.pimae.pimae import data_generation
    cfg = data_generation.SceneConfig(
        width=args.width,
        height=args.height,
        num_points=args.num_points,
        **data_generation.SCENE_PRESETS[args.variety])
    start = time.perf_counter()
    splits = data_generation.generate_dataset(
        args.out_dir,
        args.num_scenes,
        seed=args.seed,
        val_ratio=args.val_ratio,
        cfg=cfg,
        workers=args.workers,
        progress=None if args.no_progress else _progress(args.num_scenes))
    elapsed = time.perf_counter() - start
    for split, data_list in splits.items():
        num_inst = sum(len(info['instances']) for info in data_list)
        print(f'{split}: {len(data_list)} scenes, {num_inst} instances -> '
              f'{Path(args.out_dir) / f"sunrgbd_infos_{split}.pkl"}')
    print(f'generated {args.num_scenes} scenes ({args.width}x{args.height})'
          f' in {elapsed:.1f} s ({args.num_scenes / elapsed:.2f} scenes/s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
