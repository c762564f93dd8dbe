"""Parameters and FLOPs per module of a model, on one sample of its config.

    python tools/analysis_tools/get_flops.py CONFIG [--mode loss|tensor]

Uses MMEngine's analysis tools (``get_model_complexity_info``). The sample is
the first one of the config's train dataset, passed through the model's data
preprocessor, so the figures are those of the real input sizes.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if sys.path[:1] != [ROOT]:  # this clone's code wins over any installed copy
    sys.path.insert(0, ROOT)
if sys.path[1:2] != [osp.join(ROOT, 'tools')]:
    sys.path.insert(1, osp.join(ROOT, 'tools'))

from cli_utils import ConfigOptions  # noqa: E402


def traced_forward(model, inputs: dict, data_samples, mode: str):
    """Expose ``model(inputs, data_samples, mode)`` as a forward of tensors.

    MMEngine's FLOP counter traces a module called with a tuple of tensors.
    Tensors of ``inputs`` are passed as they are; a list of tensors (the
    per-sample point clouds of mmdet3d's data preprocessor) as its items,
    regrouped into a list inside the forward.

    Args:
        model (nn.Module): The model.
        inputs (dict): The data preprocessor's ``inputs``.
        data_samples (list): Data samples, passed unchanged.
        mode (str): Forward mode of the model (``loss`` or ``tensor``).

    Returns:
        tuple[nn.Module, tuple[Tensor]]: The wrapper and its input tensors.
    """
    import torch
    from torch import nn

    layout, tensors = [], []
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor):
            layout.append((key, None))
            tensors.append(value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, torch.Tensor) for v in value):
            layout.append((key, len(value)))
            tensors.extend(value)

    class TracedForward(nn.Module):

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *flat):
            rebuilt, start = {}, 0
            for key, count in layout:
                if count is None:
                    rebuilt[key], start = flat[start], start + 1
                else:
                    rebuilt[key] = list(flat[start:start + count])
                    start += count
            outputs = self.model(rebuilt, data_samples, mode=mode)
            if isinstance(outputs, dict):
                return tuple(v for v in outputs.values()
                             if isinstance(v, torch.Tensor))
            return outputs

    return TracedForward(), tuple(tensors)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--mode',
        choices=['loss', 'tensor'],
        default='loss',
        help="'loss': the full pre-training forward (encoders, decoders, "
        "heads); 'tensor': the feature extractor only")
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptions)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        sys.exit(f'Config file not found: {args.config}')
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmdet3d.registry import DATASETS, MODELS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    try:
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        sample = dataset[0]
    except (FileNotFoundError, OSError) as err:
        sys.exit(
            f'get_flops needs one sample of the config\'s train dataset: '
            f'{err}. Generate data first (e.g. tools/create_demo_data.py) '
            'or point the dataset at real data with --cfg-options.')
    model = MODELS.build(cfg.model).eval()
    data = model.data_preprocessor(pseudo_collate([sample]), False)
    wrapped, tensors = traced_forward(model, data['inputs'],
                                      data['data_samples'], args.mode)
    torch.manual_seed(0)
    with torch.no_grad():
        info = get_model_complexity_info(
            wrapped, inputs=tensors, show_table=True, show_arch=False)
    shapes = ', '.join(f'{k} {_shape(v)}' for k, v in data['inputs'].items())
    print(info['out_table'])
    print(f'Inputs: {shapes} (mode={args.mode})')
    print(f"FLOPs: {info['flops_str']}  Parameters: {info['params_str']}")


def _shape(value) -> str:
    if isinstance(value, (list, tuple)):
        return f'{len(value)} x {tuple(value[0].shape)}' if value else '[]'
    return str(tuple(getattr(value, 'shape', ())))


if __name__ == '__main__':
    main()
