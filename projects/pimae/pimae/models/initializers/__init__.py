# Copyright (c) OpenMMLab. All rights reserved.
"""Weight initializers, registered into
``mmdet3d.registry.WEIGHT_INITIALIZERS``."""
from .pimae_pretrained_init import (PiMAEPretrainedInit, format_report,
                                    load_state_dict_file,
                                    map_pimae_encoder_weights)

__all__ = [
    'PiMAEPretrainedInit', 'format_report', 'load_state_dict_file',
    'map_pimae_encoder_weights'
]
