"""Mixed precision with bfloat16 autocast on any device, CPU included."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmdet3d.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """Run the forward pass under ``torch.autocast(dtype=torch.bfloat16)``.

    MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. bfloat16 has
    float32's exponent range, so no loss scaling is needed and the wrapper
    only adds the autocast context; parameters, gradients and optimizer state
    stay in float32, and the models of this project compute their losses in
    float32. ``tools/train.py --amp`` selects it when CUDA is unavailable.
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Autocast to bfloat16 on the device of the model's parameters."""
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=torch.bfloat16):
            yield
