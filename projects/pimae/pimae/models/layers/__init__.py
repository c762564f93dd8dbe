# Copyright (c) OpenMMLab. All rights reserved.
from .compile_layers import compile_transformer_layers
from .detr_style_encoder import DETRStyleEncoder
from .detr_style_encoder_layer import DETRStyleEncoderLayer
from .fourier_point_embedding import FourierPointEmbedding
from .pointnet_set_abstraction import PointNetSetAbstraction
from .threedetr_decoder import ThreeDETRDecoder
from .threedetr_decoder_layer import ThreeDETRDecoderLayer
from .vit_layers import build_vit_layers

__all__ = [
    'DETRStyleEncoderLayer', 'DETRStyleEncoder', 'build_vit_layers',
    'FourierPointEmbedding', 'PointNetSetAbstraction', 'ThreeDETRDecoder',
    'ThreeDETRDecoderLayer', 'compile_transformer_layers'
]
