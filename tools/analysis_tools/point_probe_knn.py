"""Weighted k-NN accuracy of a point classifier's frozen backbone features.

    python tools/analysis_tools/point_probe_knn.py CONFIG \
        [--checkpoint PIMAE_OR_PROBE.pth | --random-init] [--k 20] \
        [--temperature 0.07] [--out knn.json]

The standard k-NN protocol of self-supervised evaluation (Wu et al. 2018, as
in DINO): the backbone features of the config's train set are the labelled
memory, each test sample takes a vote of its ``k`` nearest (cosine) train
features weighted by ``exp(cos / T)``. No training. Both sets go through the
config's test pipeline (deterministic FPS). ``--checkpoint`` (a PiMAE
checkpoint, or a probe checkpoint of the same config) replaces the
backbone's ``init_cfg`` checkpoint; ``--random-init`` gives the baseline.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)
if sys.path[1:2] != [osp.join(ROOT, 'tools')]:
    sys.path.insert(1, osp.join(ROOT, 'tools'))

from cli_utils import ConfigOptions  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``None`` reads ``sys.argv``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Weighted k-NN accuracy of frozen point features')
    parser.add_argument('config', help='a configs/point_probe/ config')
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        '--checkpoint',
        help='PiMAE (or probe) checkpoint for the backbone; default: the '
        "config's model.backbone.init_cfg")
    weights.add_argument(
        '--random-init',
        action='store_true',
        help='random backbone weights (the baseline)')
    parser.add_argument(
        '--k', type=int, default=20, help='neighbours (default 20)')
    parser.add_argument(
        '--temperature',
        type=float,
        default=0.07,
        help='vote temperature (default 0.07)')
    parser.add_argument(
        '--batch-size', type=int, help='override the loaders\' batch size')
    parser.add_argument(
        '--num-workers', type=int, default=0, help='loader workers')
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        help='override settings of the config (see tools/train.py)')
    args = parser.parse_args(argv)
    if args.k < 1 or args.temperature <= 0:
        parser.error('--k must be >= 1 and --temperature > 0')
    return args


def _loader_cfg(loader: dict, pipeline: list, args) -> dict:
    """A deterministic, worker-light copy of a dataloader config."""
    import copy
    loader = copy.deepcopy(loader)
    loader['dataset']['pipeline'] = copy.deepcopy(pipeline)
    loader['dataset']['test_mode'] = True
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader['num_workers'] = args.num_workers
    loader['persistent_workers'] = False
    loader['drop_last'] = False
    if args.batch_size:
        loader['batch_size'] = args.batch_size
    return loader


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the k-NN evaluation.

    Args:
        argv (list[str], optional): Arguments; ``None`` reads ``sys.argv``.

    Returns:
        dict: ``top1`` (%), ``k``, ``temperature``, ``num_train``,
        ``num_test``, ``checkpoint``.
    """
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'Config file not found: {args.config}')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        sys.exit(f'Checkpoint file not found: {args.checkpoint}')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from cli_utils import (ConfigOptionError, check_cfg_options,
                           import_custom_modules)
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options is not None:
        try:
            check_cfg_options(cfg, args.cfg_options)
        except ConfigOptionError as err:
            sys.exit(f'error: {err}')
        cfg.merge_from_dict(args.cfg_options)
    import_custom_modules(cfg)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS

    from projects.pimae.pimae.models.classifiers import (
        extract_features, weighted_knn_classify)

    backbone = cfg.model.backbone
    if args.random_init:
        backbone.init_cfg = None
    elif args.checkpoint:
        backbone.init_cfg = dict(
            type='Pretrained', checkpoint=args.checkpoint)
    checkpoint = (backbone.get('init_cfg') or {}).get('checkpoint')
    if checkpoint and not osp.isfile(checkpoint):
        sys.exit(f'{args.config}: the backbone checkpoint {checkpoint} does '
                 'not exist; pass --checkpoint PATH (a PiMAE checkpoint) or '
                 '--random-init')
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()

    test_loader = cfg.get('test_dataloader') or cfg.val_dataloader
    pipeline = test_loader.dataset.pipeline
    feats = {}
    for name, loader in (('train', cfg.train_dataloader), ('test',
                                                           test_loader)):
        dataloader = Runner.build_dataloader(
            _loader_cfg(loader, pipeline, args))
        feats[name] = extract_features(model, dataloader)
        if name == 'train':
            num_classes = len(dataloader.dataset.metainfo['classes'])
    (train_feats, train_labels), (test_feats, test_labels) = \
        feats['train'], feats['test']
    pred, _ = weighted_knn_classify(
        train_feats,
        train_labels,
        test_feats,
        num_classes,
        k=args.k,
        temperature=args.temperature)
    top1 = float((pred == test_labels).double().mean() * 100)
    result = dict(
        top1=top1,
        k=args.k,
        temperature=args.temperature,
        num_train=len(train_labels),
        num_test=len(test_labels),
        checkpoint=checkpoint or 'random init')
    print(f'k-NN top-1 {top1:.2f}% (k={args.k}, T={args.temperature:g}) on '
          f'{len(test_labels)} test objects with {len(train_labels)} train '
          f'objects; backbone: {result["checkpoint"]}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
