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

import torch  # noqa: E402
from mmengine.analysis import get_model_complexity_info  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from torch import nn  # noqa: E402

from mmdet3d.registry import DATASETS, MODELS  # noqa: E402


class TracedForward(nn.Module):
    """Expose ``model(inputs, data_samples, mode)`` as a tensors-only forward.

    Args:
        model (nn.Module): The model.
        input_keys (list[str]): Keys of the ``inputs`` dict, in the order the
            tensors are passed to :meth:`forward`.
        data_samples (list): Data samples passed unchanged to the model.
        mode (str): Forward mode of the model (``loss`` or ``tensor``).
    """

    def __init__(self, model: nn.Module, input_keys, data_samples, mode: str):
        super().__init__()
        self.model = model
        self.input_keys = list(input_keys)
        self.data_samples = data_samples
        self.mode = mode

    def forward(self, *tensors):
        outputs = self.model(
            dict(zip(self.input_keys, tensors)),
            self.data_samples,
            mode=self.mode)
        if isinstance(outputs, dict):
            return tuple(v for v in outputs.values()
                         if isinstance(v, torch.Tensor))
        return outputs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--mode',
        choices=['loss', 'tensor'],
        default='loss',
        help="'loss': the full pre-training forward (encoders, decoders, "
        "heads); 'tensor': the feature extractor only")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        sys.exit(f'Config file not found: {args.config}')
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
    inputs = data['inputs']
    keys = [k for k, v in inputs.items() if isinstance(v, torch.Tensor)]
    wrapped = TracedForward(model, keys, data['data_samples'], args.mode)
    torch.manual_seed(0)
    with torch.no_grad():
        info = get_model_complexity_info(
            wrapped,
            inputs=tuple(inputs[k] for k in keys),
            show_table=True,
            show_arch=False)
    shapes = ', '.join(f'{k} {tuple(inputs[k].shape)}' for k in keys)
    print(info['out_table'])
    print(f'Inputs: {shapes} (mode={args.mode})')
    print(f"FLOPs: {info['flops_str']}  Parameters: {info['params_str']}")


if __name__ == '__main__':
    main()
