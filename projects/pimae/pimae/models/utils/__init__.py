# Copyright (c) OpenMMLab. All rights reserved.
from .config_utils import check_sizes_agree
from .cross_modal_masker import CrossModalMasker, split_by_mask
from .patch_utils import patchify, unpatchify
from .pimae_structures import (CrossModalMasks, PiMAEDecoderOutput,
                               PiMAEEncoderOutput, PiMAEInputs, PointGroups)
from .position_embedding import build_2d_sincos_pos_embed
from .token_gather import batched_gather
from .weight_init import init_pimae_weights

__all__ = [
    'CrossModalMasker', 'split_by_mask', 'build_2d_sincos_pos_embed',
    'patchify', 'unpatchify', 'batched_gather', 'init_pimae_weights',
    'check_sizes_agree', 'CrossModalMasks', 'PiMAEDecoderOutput',
    'PiMAEEncoderOutput', 'PiMAEInputs', 'PointGroups'
]
