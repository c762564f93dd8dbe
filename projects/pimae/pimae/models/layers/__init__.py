# Copyright (c) OpenMMLab. All rights reserved.
from .detr_style_encoder import DETRStyleEncoder
from .detr_style_encoder_layer import DETRStyleEncoderLayer
from .vit_layers import build_vit_layers

__all__ = ['DETRStyleEncoderLayer', 'DETRStyleEncoder', 'build_vit_layers']
