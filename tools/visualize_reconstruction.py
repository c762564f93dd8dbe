"""Draw PiMAE reconstructions of a few samples into one PNG per sample.

    python tools/visualize_reconstruction.py CONFIG CHECKPOINT --out-dir DIR

Each picture shows the input image, the masked image, the reconstructed image
and 3D views of the visible points, the masked ground truth and the
reconstructed points.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from cli_utils import ConfigOptions  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='PiMAE config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='folder for PNGs')
    parser.add_argument('--num-samples', type=int, default=4)
    parser.add_argument(
        '--split',
        choices=['train', 'val', 'test'],
        default='train',
        help='dataloader of the config whose dataset is drawn')
    parser.add_argument('--seed', type=int, default=0, help='masking seed')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptions)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for path, what in ((args.config, 'Config'), (args.checkpoint,
                                                 'Checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'{what} file not found: {path}')
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from PIL import Image

    from mmdet3d.registry import DATASETS, MODELS
    from projects.pimae.pimae.engine.hooks import \
        reconstruction_visualization_hook as vis_hook
    from projects.pimae.pimae.utils.checkpoint import (CheckpointError,
                                                       check_checkpoint_keys,
                                                       get_state_dict,
                                                       load_checkpoint_file,
                                                       revise_keys)
    from projects.pimae.pimae.visualization import draw_reconstruction
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))

    dataloader_cfg = cfg.get(f'{args.split}_dataloader')
    if not dataloader_cfg:
        sys.exit(f'The config has no {args.split}_dataloader.')
    model = MODELS.build(cfg.model)
    try:
        state = revise_keys(
            get_state_dict(
                load_checkpoint_file(args.checkpoint), args.checkpoint))
        report = check_checkpoint_keys(model, state, args.checkpoint)
    except CheckpointError as error:
        sys.exit(f'error: {error}')
    if report.missing or report.unexpected or report.shape_mismatch:
        print(report.format(args.checkpoint))
    model.load_state_dict(
        {k: state[k] for k in report.matched}, strict=False)
    model.to(args.device)
    dataset = DATASETS.build(dataloader_cfg['dataset'])
    model.eval()
    mean, std = vis_hook.image_normalization(model)

    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    count = min(args.num_samples, len(dataset))
    for index in range(count):
        with torch.no_grad():
            result = model.test_step(pseudo_collate([dataset[index]]))[0]
        name = result.metainfo.get('sample_idx', index)
        picture = draw_reconstruction(
            result.reconstruction, mean, std, title=f'sample {name}')
        path = osp.join(args.out_dir, f'reconstruction_{name}.png')
        Image.fromarray(picture).save(path)
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
