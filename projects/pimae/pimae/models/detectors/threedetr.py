# Copyright (c) OpenMMLab. All rights reserved.
"""3DETR (Misra et al., ICCV 2021) as an mmdet3d detector."""
import copy
import re
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet3d.models.detectors import Base3DDetector
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from ..backbones.threedetr_backbone import ThreeDETRBackbone  # noqa: F401
from ..dense_heads.threedetr_head import ThreeDETRHead  # noqa: F401
from ..initializers.pimae_pretrained_init import \
    PiMAEPretrainedInit  # noqa: F401

SampleList = List[Det3DDataSample]


@MODELS.register_module()
class ThreeDETR(Base3DDetector):
    """3DETR: an end-to-end transformer detector for point clouds.

    ``backbone`` (:class:`ThreeDETRBackbone`: PointNet++ set abstraction and
    a transformer encoder of PiMAE's layer type) encodes the points;
    ``bbox_head`` (:class:`ThreeDETRHead`) decodes a set of FPS-sampled
    queries into boxes. Points of a batch are stacked, so every sample
    needs the same number of points (``PointSample`` in the pipeline);
    boxes are normalised by each sample's point-cloud range, as in 3DETR.

    To fine-tune from PiMAE, set
    ``init_cfg=dict(type='PiMAEPretrained', checkpoint=...)``: like in any
    other host, it is applied after the whole model is initialised, logs
    which tensors were transferred and checks that they landed (see
    :class:`PiMAEPretrainedInit`). :meth:`get_layer_depth` gives mmpretrain's
    ``LearningRateDecayOptimWrapperConstructor`` the depth of each
    parameter.

    Args:
        backbone (dict): Backbone config.
        bbox_head (dict): Head config; ``in_channels`` defaults to the
            backbone's output channels.
        train_cfg (dict, optional): Training config of the head.
        test_cfg (dict, optional): Test config of the head.
        data_preprocessor (dict, optional): Data preprocessor config,
            normally ``dict(type='Det3DDataPreprocessor')``.
        init_cfg (dict or list[dict], optional): Initialisation config,
            e.g. ``dict(type='PiMAEPretrained', checkpoint=...)``.
    """

    def __init__(self,
                 backbone: dict,
                 bbox_head: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        bbox_head = copy.deepcopy(bbox_head)
        out_channels = self.backbone.out_channels
        if bbox_head.setdefault('in_channels', out_channels) != out_channels:
            raise ValueError(
                f'bbox_head.in_channels={bbox_head["in_channels"]} but the '
                f'backbone outputs {out_channels} channels')
        bbox_head.update(train_cfg=train_cfg, test_cfg=test_cfg)
        self.bbox_head = MODELS.build(bbox_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise lr decay.

        Depth 0 is the pre-encoder, ``i + 1`` the encoder layer ``i`` and
        ``L + 1`` everything after the encoder (the head), with L encoder
        layers, so mmpretrain's constructor gives the head the base lr and
        scales encoder layer ``i`` by ``rate ** (L - i)`` and the
        pre-encoder by ``rate ** (L + 1)``.

        Args:
            param_name (str): Parameter name, e.g.
                ``backbone.encoder.layers.3.linear1.weight``.
            prefix (str): Prefix stripped from ``param_name`` first.
                Defaults to ''.

        Returns:
            tuple[int, int]: Layer id and the number of ids (L + 2).
        """
        num_layers = self.backbone.num_encoder_layers
        max_layer_id = num_layers + 2
        if prefix and param_name.startswith(prefix):
            param_name = param_name[len(prefix):]
        if param_name.startswith('backbone.pre_encoder.'):
            return 0, max_layer_id
        match = re.match(r'backbone\.encoder\.layers\.(\d+)\.', param_name)
        if match:
            return int(match.group(1)) + 1, max_layer_id
        return num_layers + 1, max_layer_id

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def _stack_points(self, batch_inputs_dict: dict) -> Tensor:
        """Stack the batch's point clouds.

        Args:
            batch_inputs_dict (dict): ``points``: list of (N, C) tensors or
                a (B, N, C) tensor.

        Returns:
            Tensor: Points, shape (B, N, C).
        """
        points = batch_inputs_dict.get('points')
        if points is None:
            raise ValueError('ThreeDETR needs `points` in the inputs; pack '
                             "them with Pack3DDetInputs(keys=['points', ...])")
        if isinstance(points, Tensor):
            return points
        shapes = [tuple(p.shape) for p in points]
        if len(set(shapes)) > 1:
            raise ValueError(
                'ThreeDETR stacks the point clouds of a batch, which need '
                f'the same number of points and channels, got shapes '
                f'{shapes}; add PointSample(num_points=...) to the pipeline')
        return torch.stack(list(points))

    def extract_feat(self, batch_inputs_dict: dict) -> Dict[str, Tensor]:
        """Encode the points.

        Args:
            batch_inputs_dict (dict): ``points``: list of (N, C) tensors.

        Returns:
            dict[str, Tensor]: The backbone outputs (``xyz`` (B, M, 3),
            ``features`` (B, M, C), ``indices`` (B, M)) and
            ``point_cloud_range``: per-sample minimum and maximum of the
            input coordinates, each (B, 3), and ``points``: the input
            coordinates (B, N, 3) (for the head's empty-box removal).
        """
        points = self._stack_points(batch_inputs_dict)
        xyz = points[..., :3]
        feats = self.backbone(points)
        feats['point_cloud_range'] = (xyz.amin(dim=1), xyz.amax(dim=1))
        feats['points'] = xyz
        return feats

    def loss(self, batch_inputs_dict: dict,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of a batch.

        Args:
            batch_inputs_dict (dict): ``points``: list of (N, C) tensors.
            batch_data_samples (list[Det3DDataSample]): Samples with
                ``gt_instances_3d``.

        Returns:
            dict[str, Tensor]: Losses of every decoder layer.
        """
        feats = self.extract_feat(batch_inputs_dict)
        return self.bbox_head.loss(feats, batch_data_samples)

    def predict(self, batch_inputs_dict: dict,
                batch_data_samples: SampleList) -> SampleList:
        """Detect boxes.

        Args:
            batch_inputs_dict (dict): ``points``: list of (N, C) tensors.
            batch_data_samples (list[Det3DDataSample]): Samples.

        Returns:
            list[Det3DDataSample]: The samples with ``pred_instances_3d``
            (``bboxes_3d``, ``scores_3d``, ``labels_3d``).
        """
        feats = self.extract_feat(batch_inputs_dict)
        results = self.bbox_head.predict(feats, batch_data_samples)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self,
                 batch_inputs_dict: dict,
                 batch_data_samples: Optional[SampleList] = None
                 ) -> List[Dict[str, Tensor]]:
        """Raw predictions of every decoder layer.

        Args:
            batch_inputs_dict (dict): ``points``: list of (N, C) tensors.
            batch_data_samples (list[Det3DDataSample], optional): Unused.

        Returns:
            list[dict[str, Tensor]]: See :meth:`ThreeDETRHead.forward`.
        """
        return self.bbox_head(self.extract_feat(batch_inputs_dict))
