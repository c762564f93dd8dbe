# Copyright (c) OpenMMLab. All rights reserved.
"""mmpretrain's classifier for point-cloud inputs."""
from typing import Optional, Union

from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class PointCloudClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` (backbone -> neck -> head; ``loss``,
    ``predict``, ``extract_feat``) fed with point clouds.

    Nothing of ``ImageClassifier``'s forward is specific to images; only its
    default data preprocessor is. This one defaults to
    :class:`PointClsDataPreprocessor` (stacks (N, C) clouds into (B, N, C))
    and has no batch augmentations (mixup / cutmix have no meaning for
    points). With :class:`PiMAEPointTransformer` (frozen), mmpretrain's
    ``ClsBatchNormNeck`` and ``LinearClsHead`` it is the linear probe of
    PiMAE's point encoder (``configs/point_probe/``).

    Args:
        backbone (dict): Backbone config; its forward takes (B, N, C)
            points and returns a tuple of features.
        neck (dict, optional): Neck config. Defaults to None.
        head (dict, optional): Head config. Defaults to None.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``dict(type='PointClsDataPreprocessor')``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if not isinstance(data_preprocessor, nn.Module):
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault('type', 'PointClsDataPreprocessor')
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
