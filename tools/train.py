"""Train a model (PiMAE pre-training or a downstream detector) with MMEngine.

Behaves like mmdet3d 1.4's ``tools/train.py``; on a machine without CUDA the
distributed backend falls back to gloo automatically.
"""
import argparse
import logging
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from cli_utils import ConfigOptions  # noqa: E402

#: Hooks every training run of this tool gets when its config lacks them:
#: checkpoints that load with weights_only=True (so --resume works for any
#: config), the random states for an exact resume, a check of every loaded
#: checkpoint against the model, and an early first loss line.
TRAIN_HOOKS = ('WeightsOnlyCheckpointHook', 'RandomStateCheckpointHook',
               'CheckpointKeyCheckHook', 'EarlyLoggingHook')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='default',
        choices=[
            'default', 'reduce-overhead', 'max-autotune',
            'max-autotune-no-cudagraphs'
        ],
        help='torch.compile the transformer layers of the model in place '
        '(checkpoint keys unchanged), optionally with a torch.compile mode; '
        "MMEngine's `compile=True` compiles the whole train_step and fails "
        'on this stack (see projects/pimae/pimae/models/layers/'
        'compile_layers.py)')
    parser.add_argument(
        '--sync_bn',
        choices=['none', 'torch', 'mmcv'],
        default='none',
        help='convert all BatchNorm layers in the model to SyncBN')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from '
        'the latest checkpoint in the work directory')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        help='override settings of the config, e.g. '
        'train_dataloader.batch_size=4 optim_wrapper.optimizer.lr=1e-4; '
        'lists as key="[a,b]" without spaces. Every key must exist in the '
        'config (typos fail early) unless --allow-new-keys is given')
    parser.add_argument(
        '--allow-new-keys',
        action='store_true',
        help='let --cfg-options add keys that the config does not have')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank since torch 2.0
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--preflight',
        action='store_true',
        help='only check the config, the options and the data files, then '
        'exit (tools/dist_*.sh run this once before starting processes)')
    return parser.parse_args()


def load_config(args: argparse.Namespace):
    """Load the config and apply the command-line edits, failing clearly.

    The config's ``custom_imports`` are not imported yet (see
    :func:`import_custom_modules`), so that a missing file or a bad option
    stops the tool before the deep-learning stack is loaded.
    """
    from mmengine.config import Config
    from mmengine.logging import print_log
    if not osp.isfile(args.config):
        sys.exit(f'Config file not found: {args.config}')
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        if not args.allow_new_keys:
            from cli_utils import ConfigOptionError, check_cfg_options
            try:
                check_cfg_options(cfg, args.cfg_options)
            except ConfigOptionError as err:
                sys.exit(f'error: {err}')
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config stem>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            import torch
            if torch.cuda.is_available():
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.loss_scale = 'dynamic'
            else:  # MMEngine's AmpOptimWrapper needs a GPU
                cfg.optim_wrapper.type = 'BF16AutocastOptimWrapper'
                print_log(
                    'CUDA is not available: --amp uses bfloat16 autocast on '
                    'CPU (BF16AutocastOptimWrapper).',
                    logger='current')

    if args.sync_bn != 'none':
        cfg.sync_bn = args.sync_bn

    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and \
                'enable' in cfg.auto_scale_lr and \
                'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise RuntimeError('Can not find "auto_scale_lr" or '
                               '"auto_scale_lr.enable" or '
                               '"auto_scale_lr.base_batch_size" in your'
                               ' configuration file.')

    if args.resume == 'auto':
        from mmengine.runner import find_latest_checkpoint
        if find_latest_checkpoint(cfg.work_dir) is None:
            print(f'--resume: no checkpoint found in {cfg.work_dir}; '
                  'starting a fresh run there')
            cfg.resume = False
        else:
            cfg.resume = True
            cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            sys.exit(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    from cli_utils import (check_data_files, import_custom_modules,
                           set_local_rank)
    check_data_files(cfg, args.config,
                     ('train_dataloader', 'val_dataloader'))
    if args.preflight:
        return
    set_local_rank(args.local_rank)
    import_custom_modules(cfg)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from projects.pimae.pimae.utils import (ensure_custom_hooks,
                                            setup_cpu_distributed)
    ensure_custom_hooks(cfg, TRAIN_HOOKS)
    gloo_message = setup_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if gloo_message:
        runner.logger.info(gloo_message)
    if args.compile is not None:
        from projects.pimae.pimae.models.layers import \
            compile_transformer_layers
        options = {} if args.compile == 'default' else dict(
            mode=args.compile)
        count = compile_transformer_layers(runner.model, **options)
        if count == 0:
            sys.exit(f'--compile: {type(runner.model).__name__} has no '
                     'transformer layers to compile')
        runner.logger.info(f'--compile: {count} transformer layers compiled '
                           f'(mode {args.compile}); the first iterations '
                           'are slow')
    runner.train()


if __name__ == '__main__':
    main()
