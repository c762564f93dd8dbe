"""Validate an mmdet3d v1.x SUN RGB-D info file and the files it points to.

Example::

    python tools/data_check.py data/sunrgbd/sunrgbd_infos_train.pkl
    python tools/data_check.py data/sunrgbd_demo/sunrgbd_infos_val.pkl \
        --max-samples 50

For every entry it checks that the point file exists and is well formed
(size a multiple of ``load_dim`` float32, not empty, finite, colours in
range), that the image exists, decodes and has the size the info says,
that ``depth2img`` is a finite, invertible 3x3 matrix, and which fraction of
the points projects into the image in front of the camera (1.0 for SUN RGB-D
points, which are back-projected from the registered depth map). It prints
one line per problem and a summary, and exits with 1 when any sample has a
problem (2 when the info file itself cannot be read).
"""
import argparse
import os.path as osp
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

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
        description='Check an mmdet3d SUN RGB-D info file and its data.')
    parser.add_argument(
        'ann_file',
        help='info .pkl, e.g. '
        'data/sunrgbd/sunrgbd_infos_train.pkl')
    parser.add_argument(
        '--data-root',
        default=None,
        help='dataset root (default: the info file folder)')
    parser.add_argument('--pts-prefix', default='points')
    parser.add_argument('--img-prefix', default='sunrgbd_trainval/image')
    parser.add_argument('--cam', default='CAM0')
    parser.add_argument('--load-dim', type=int, default=6)
    parser.add_argument(
        '--color-range',
        type=float,
        nargs=2,
        default=(0., 1.),
        metavar=('LOW', 'HIGH'))
    parser.add_argument(
        '--min-in-image',
        type=float,
        default=0.95,
        help='smallest acceptable fraction of a sample\'s '
        'points that project into its image')
    parser.add_argument(
        '--max-samples',
        type=int,
        default=None,
        help='check only the first N entries')
    parser.add_argument(
        '--show',
        type=int,
        default=20,
        help='problem lines to print (all are counted)')
    parser.add_argument(
        '--no-progress',
        dest='progress',
        action='store_false',
        help='no progress bar (it goes to stderr)')
    return parser.parse_args(argv)


def check_sample(info: dict, index: int, args: argparse.Namespace,
                 data_root: str) -> dict:
    """Check one ``data_list`` entry.

    Args:
        info (dict): The raw entry.
        index (int): Its position in ``data_list``.
        args (argparse.Namespace): Options (prefixes, load_dim, ...).
        data_root (str): Dataset root.

    Returns:
        dict: ``problems`` (list[str]), ``num_points`` (int | None),
        ``in_image`` (float | None) and ``labels`` (list[int]).
    """
    import numpy as np

    from projects.pimae.pimae.datasets import (BadSampleError,
                                               CheckDepth2Img,
                                               LoadCheckedPointsFromFile)
    from projects.pimae.pimae.geometry import points_in_image, project_points
    report = dict(problems=[], num_points=None, in_image=None, labels=[])
    if not isinstance(info, dict):
        report['problems'].append(
            f'sample {index}: the entry is a {type(info).__name__}, not a '
            'dict')
        return report
    lidar_path = (info.get('lidar_points') or {}).get('lidar_path')
    cam = (info.get('images') or {}).get(args.cam) or {}
    img_path = cam.get('img_path')
    name = f'sample {index} (points: {lidar_path}, image: {img_path})'
    problems = report['problems']
    if lidar_path is None:
        problems.append(f'{name}: no lidar_points.lidar_path')
    if img_path is None:
        problems.append(f'{name}: no images.{args.cam}.img_path')
    results = dict(sample_idx=index, depth2img=cam.get('depth2img'))
    if img_path is not None:
        results['img_path'] = osp.join(data_root, args.img_prefix, img_path)
    points = None
    if lidar_path is not None:
        results['lidar_points'] = dict(
            lidar_path=osp.join(data_root, args.pts_prefix, lidar_path))
        try:
            points = LoadCheckedPointsFromFile(
                load_dim=args.load_dim,
                use_dim=list(range(args.load_dim)),
                use_color=args.load_dim >= 6,
                color_range=args.color_range)(results)['points']
            report['num_points'] = len(points)
        except BadSampleError as error:
            problems.append(str(error))
    depth2img = None
    try:
        depth2img = CheckDepth2Img()(results)['depth2img']
    except BadSampleError as error:
        problems.append(str(error))
    height, width = cam.get('height'), cam.get('width')
    if img_path is not None:
        import mmcv
        path = results['img_path']
        if not osp.isfile(path):
            problems.append(f'{name}: image file {path} does not exist')
        else:
            img = mmcv.imread(path)
            if img is None:
                problems.append(f'{name}: image file {path} cannot be '
                                'decoded')
            elif (height, width) != img.shape[:2]:
                problems.append(
                    f'{name}: image is {img.shape[1]}x{img.shape[0]} but '
                    f'the info says {width}x{height}')
    if points is not None and depth2img is not None and height and width:
        uv, depth = project_points(
            points.tensor[:, :3].numpy().astype(np.float64), depth2img)
        inside = points_in_image(uv, depth, (int(height), int(width)))
        report['in_image'] = float(inside.mean())
        if report['in_image'] < args.min_in_image:
            problems.append(
                f'{name}: only {100 * report["in_image"]:.1f}% of the points '
                f'project into the {width}x{height} image (expected at '
                f'least {100 * args.min_in_image:.0f}%): wrong depth2img or '
                'points / image of another scene')
    for inst in info.get('instances') or []:
        report['labels'].append(int(inst.get('bbox_label_3d', -1)))
    return report


def main(argv: Optional[List[str]] = None) -> int:
    """Check the info file and print a summary.

    Args:
        argv (list[str], optional): Command-line arguments.

    Returns:
        int: 0 when every sample passed, 1 when some did not, 2 when the
        info file cannot be read.
    """
    args = parse_args(argv)
    import numpy as np
    from mmengine.utils import ProgressBar

    from projects.pimae.pimae.datasets import InfoFileError, load_info_file
    try:
        ann = load_info_file(args.ann_file)
    except (OSError, InfoFileError) as error:
        print(f'cannot read info file {args.ann_file}: {error}')
        return 2
    data_list, metainfo = ann['data_list'], ann['metainfo']
    data_root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
    if args.max_samples is not None:
        data_list = data_list[:args.max_samples]
    categories = {v: k for k, v in metainfo.get('categories', {}).items()}
    if not categories:  # old info files: mmdet3d's SUN RGB-D classes
        from mmdet3d.datasets import SUNRGBDDataset
        categories = dict(enumerate(SUNRGBDDataset.METAINFO['classes']))
    problems, num_points, in_image, labels = [], [], [], Counter()
    bad_samples = 0
    progress = ProgressBar(len(data_list), file=sys.stderr) \
        if args.progress and data_list else None
    for index, info in enumerate(data_list):
        report = check_sample(info, index, args, data_root)
        if progress is not None:
            progress.update()
        if report['problems']:
            bad_samples += 1
            problems.extend(report['problems'])
        if report['num_points'] is not None:
            num_points.append(report['num_points'])
        if report['in_image'] is not None:
            in_image.append(report['in_image'])
        labels.update(report['labels'])
    if progress is not None:
        sys.stderr.write('\n')
    for line in problems[:args.show]:
        print(f'PROBLEM {line}')
    if len(problems) > args.show:
        print(f'... and {len(problems) - args.show} more problems')
    print(f'info file: {args.ann_file} (dataset '
          f'{metainfo.get("dataset", "?")}, info_version '
          f'{metainfo.get("info_version", "?")}), data root: {data_root}')
    print(f'samples checked: {len(data_list)}, ok: '
          f'{len(data_list) - bad_samples}, with problems: {bad_samples}')
    if num_points:
        print(f'points per sample: min {min(num_points)}, mean '
              f'{np.mean(num_points):.0f}, max {max(num_points)}')
    if in_image:
        print(f'points projecting into their image: mean '
              f'{100 * np.mean(in_image):.2f}%, min '
              f'{100 * min(in_image):.2f}%')
    if labels:
        names = ', '.join(f'{categories.get(k, k)}: {n}'
                          for k, n in sorted(labels.items()))
        print(f'instances: {sum(labels.values())} ({names})')
    return 1 if bad_samples else 0


if __name__ == '__main__':
    sys.exit(main())
