# Copyright (c) OpenMMLab. All rights reserved.
"""The effective weight initialisation of the original PiMAE (see
projects/pimae/docs/original_code.md, 'Initialisation')."""
from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import nn


def init_pimae_weights(module: nn.Module) -> None:
    """Initialise one module as the original's ``self.apply(_init_weights)``.

    Meant for ``model.apply(init_pimae_weights)``:

    - ``nn.Linear`` (also MHA ``out_proj``) and ``nn.Conv1d``: truncated
      normal, std 0.02, absolute bounds +-2; bias 0.
    - ``nn.LayerNorm``: weight 1, bias 0.
    - ``nn.MultiheadAttention``: ``in_proj_weight`` xavier-uniform over the
      whole (3C, C) matrix (3DETR's reset), ``in_proj_bias`` 0.
    - BatchNorm and the patch ``Conv2d`` are left alone (the owners handle
      the patch projection; BN keeps PyTorch's default).

    Args:
        module (nn.Module): The module to initialise (not its children).
    """
    if isinstance(module, (nn.Linear, nn.Conv1d)):
        trunc_normal_init(module, std=0.02, bias=0.)
    elif isinstance(module, nn.LayerNorm):
        constant_init(module, val=1., bias=0.)
    elif isinstance(module, nn.MultiheadAttention):
        if module.in_proj_weight is not None:
            nn.init.xavier_uniform_(module.in_proj_weight)
        else:
            for weight in (module.q_proj_weight, module.k_proj_weight,
                           module.v_proj_weight):
                nn.init.xavier_uniform_(weight)
        if module.in_proj_bias is not None:
            nn.init.zeros_(module.in_proj_bias)
