# Copyright (c) OpenMMLab. All rights reserved.
"""``torch.compile`` for the transformer layers of a model, in place."""
from typing import Tuple, Type

from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from torch import nn

from .detr_style_encoder_layer import DETRStyleEncoderLayer
from .threedetr_decoder_layer import ThreeDETRDecoderLayer

#: The layers :func:`compile_transformer_layers` compiles: pure tensor code
#: with static shapes and no host reads, where compilation fuses the norms,
#: activations, dropouts and residual additions around the attention.
COMPILED_LAYER_TYPES: Tuple[Type[nn.Module], ...] = (
    TransformerEncoderLayer, DETRStyleEncoderLayer, ThreeDETRDecoderLayer)


def compile_transformer_layers(model: nn.Module, **options) -> int:
    """Compile every transformer layer of ``model`` with
    ``nn.Module.compile``.

    The layers are compiled in place, so parameter names, checkpoints and
    wrappers (DDP) are unchanged. MMEngine's own ``compile=True`` compiles
    the whole ``train_step`` instead, which also traces the data
    preprocessor and the loss bookkeeping: with mmengine 0.10 and torch 2.x
    it stops at the deep copy of ``numpy`` metainfo in
    ``BaseDataElement.to``; the point ops' Python loops and checks would
    break the graph too.

    Args:
        model (nn.Module): Any model, possibly wrapped.
        **options: Keyword arguments of ``torch.compile``, e.g. ``mode``
            ('reduce-overhead', 'max-autotune', ...), ``backend`` or
            ``fullgraph``.

    Returns:
        int: Number of layers compiled; 0 when the model has none.
    """
    count = 0
    for module in model.modules():
        if isinstance(module, COMPILED_LAYER_TYPES):
            module.compile(**options)
            count += 1
    return count
