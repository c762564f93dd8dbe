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

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from PIL import Image  # noqa: E402

from mmdet3d.registry import DATASETS, MODELS  # noqa: E402
from projects.pimae.pimae.engine.hooks import \
    reconstruction_visualization_hook as vis_hook  # noqa: E402
from projects.pimae.pimae.visualization import \
    draw_reconstruction  # noqa: E402


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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for path, what in ((args.config, 'Config'), (args.checkpoint,
                                                 'Checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'{what} file not found: {path}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))

    dataloader_cfg = cfg.get(f'{args.split}_dataloader')
    if not dataloader_cfg:
        sys.exit(f'The config has no {args.split}_dataloader.')
    dataset = DATASETS.build(dataloader_cfg['dataset'])
    model = MODELS.build(cfg.model).to(args.device)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
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
