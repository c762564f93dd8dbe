"""Test (evaluate) a checkpoint, like mmdet3d 1.4's ``tools/test.py``."""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)

from cli_utils import ConfigOptions  # noqa: E402

#: Hooks every test run of this tool gets when its config lacks them.
TEST_HOOKS = ('CheckpointKeyCheckHook', )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        help='override settings of the config (see tools/train.py)')
    parser.add_argument(
        '--allow-new-keys',
        action='store_true',
        help='let --cfg-options add keys that the config does not have')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--preflight',
        action='store_true',
        help='only check the config, the options and the data files, then '
        'exit (tools/dist_*.sh run this once before starting processes)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for path, what in ((args.config, 'Config'), (args.checkpoint,
                                                 'Checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'{what} file not found: {path}')
    from mmengine.config import Config

    from cli_utils import (ConfigOptionError, check_cfg_options,
                           check_data_files, import_custom_modules,
                           set_local_rank)
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if any(cfg.get(k) is None
           for k in ('test_dataloader', 'test_cfg', 'test_evaluator')):
        sys.exit(f'{args.config} has no test loop (test_dataloader, test_cfg '
                 'and test_evaluator): it is a training-only config, such '
                 'as PiMAE pre-training. Evaluate a pre-trained checkpoint '
                 'downstream (configs/threedetr/, configs/vit/), or draw '
                 'its reconstructions with tools/visualize_reconstruction.py')
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        if not args.allow_new_keys:
            try:
                check_cfg_options(cfg, args.cfg_options)
            except ConfigOptionError as err:
                sys.exit(f'error: {err}')
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint

    if args.tta:
        assert 'tta_model' in cfg and 'tta_pipeline' in cfg, (
            'Cannot find `tta_model` / `tta_pipeline` in config.')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    check_data_files(cfg, args.config, ('test_dataloader', ))
    if args.preflight:
        return
    set_local_rank(args.local_rank)
    import_custom_modules(cfg)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from projects.pimae.pimae.utils import (ensure_custom_hooks,
                                            setup_cpu_distributed)
    ensure_custom_hooks(cfg, TEST_HOOKS)
    gloo_message = setup_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if gloo_message:
        runner.logger.info(gloo_message)
    runner.test()


if __name__ == '__main__':
    main()
