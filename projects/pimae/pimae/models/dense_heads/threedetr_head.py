# Copyright (c) OpenMMLab. All rights reserved.
"""The 3DETR head: queries, transformer decoder, box MLPs and set losses."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.dist import all_reduce
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmdet3d.models.dense_heads import Base3DDenseHead
from mmdet3d.models.layers import aligned_3d_nms
from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import Det3DDataSample, DepthInstance3DBoxes
from ...ops import furthest_point_sample, gather_points
from ...utils.sample_naming import describe_sample
from ..layers.fourier_point_embedding import \
    FourierPointEmbedding  # noqa: F401
from ..layers.pointnet_set_abstraction import fps_coords_skipping_origin
from ..layers.threedetr_decoder import ThreeDETRDecoder  # noqa: F401
from ..losses.giou_3d_loss import GIoU3DLoss  # noqa: F401
from ..task_modules import (HungarianAssigner3D,  # noqa: F401
                            HungarianMatcher3D, ThreeDETRBBoxCoder,
                            box3d_bev_corners)

#: A unit box used to pad the ground truth of a sample; padded entries are
#: always masked out, and a positive size keeps NaN out of masked sums.
_PAD_BOX = (0., 0., 0., 1., 1., 1., 0.)


def count_points_in_boxes(points: Tensor,
                          boxes: Tensor,
                          chunk_size: int = 64) -> Tensor:
    """Number of points inside each yaw-rotated box (boundaries included).

    Pure torch, on any device; the boxes are processed ``chunk_size`` at a
    time to bound the (boxes x points) intermediate.

    Args:
        points (Tensor): Point coordinates, shape (N, 3).
        boxes (Tensor): Boxes ``(x, y, z, dx, dy, dz, yaw)`` with gravity
            centres and mmdet3d's counter-clockwise yaw, shape (Q, 7).
        chunk_size (int): Boxes per chunk. Defaults to 64.

    Returns:
        Tensor: Counts, int64, shape (Q, ).
    """
    counts = []
    for start in range(0, len(boxes), chunk_size):
        box = boxes[start:start + chunk_size].unsqueeze(1)  # (q, 1, 7)
        rel = points.unsqueeze(0) - box[..., :3]  # (q, N, 3)
        cos, sin = box[..., 6].cos(), box[..., 6].sin()
        local_x = rel[..., 0] * cos + rel[..., 1] * sin
        local_y = rel[..., 1] * cos - rel[..., 0] * sin
        inside = (local_x.abs() <= box[..., 3] / 2) & (
            local_y.abs() <= box[..., 4] / 2) & (
                rel[..., 2].abs() <= box[..., 5] / 2)
        counts.append(inside.sum(dim=1))
    if not counts:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    return torch.cat(counts)


def _conv_mlp(in_channels: int, hidden_channels: int, out_channels: int,
              dropout: float) -> nn.Sequential:
    """3DETR's box MLP: 2 x (1x1 Conv1d, BN, ReLU, Dropout) + 1x1 Conv1d.

    Args:
        in_channels (int): Input channels.
        hidden_channels (int): Hidden channels.
        out_channels (int): Output channels.
        dropout (float): Dropout after each hidden layer.

    Returns:
        nn.Sequential: Maps (N, in_channels, Q) to (N, out_channels, Q).
    """
    layers = []
    for channels in (in_channels, hidden_channels):
        layers += [
            ConvModule(
                channels,
                hidden_channels,
                1,
                conv_cfg=dict(type='Conv1d'),
                norm_cfg=dict(type='BN1d'),
                act_cfg=dict(type='ReLU')),
            nn.Dropout(dropout)
        ]
    layers.append(nn.Conv1d(hidden_channels, out_channels, 1))
    return nn.Sequential(*layers)


@MODELS.register_module()
class ThreeDETRHead(Base3DDenseHead):
    """3DETR's detection head.

    From the encoder tokens: a 3-layer projection (Conv1d, BN, ReLU) to
    ``embed_dims``; ``num_queries`` query points sampled by FPS from the
    token coordinates, whose Fourier position embeddings go through a
    2-layer MLP to give the query embeddings; a :class:`ThreeDETRDecoder`
    (zero initial queries, query embeddings added in every attention,
    Fourier embeddings of the token coordinates added to the cross-attention
    keys); and five MLPs (hidden 2 x ``embed_dims``, BN, ReLU, dropout
    ``mlp_dropout``) predicting, for every decoder layer, the class logits
    (``num_classes`` + no-object), the centre offset, the normalised size
    and the yaw bin logits and residuals (see :class:`ThreeDETRBBoxCoder`).

    An mmdet3d dense head: :meth:`loss` is :meth:`forward` then
    :meth:`loss_by_feat`, :meth:`predict` is :meth:`forward` then
    :meth:`predict_by_feat`. Training matches every decoder layer's
    predictions to the ground truth with ``train_cfg.assigner`` (an
    mmdet-style :class:`HungarianAssigner3D`; 3DETR's costs with
    :class:`HungarianMatcher3D`) and sums the losses of all layers (keys
    ``loss_*`` for the last layer and ``d{i}.loss_*`` for the others):

    - ``loss_cls``: cross-entropy over all queries, unmatched ones labelled
      no-object, classes weighted 1 and no-object ``no_object_weight``,
      averaged by the sum of the weights (PyTorch's weighted mean);
    - ``loss_center`` (L1 of normalised centres), ``loss_size`` (L1 of
      normalised sizes), ``loss_angle_cls`` (cross-entropy of the yaw bin),
      ``loss_angle_reg`` (Huber of the normalised residual of the true bin)
      and ``loss_giou`` (1 - GIoU, only built with a positive weight): sums
      over matched queries divided by the number of ground-truth boxes,
      averaged over all processes and clamped to >= 1.

    Every process runs the same collectives (one ``all_reduce`` of the box
    count per step) and every parameter stays in the autograd graph even
    when a process has no ground truth at all, so distributed training
    neither hangs nor needs ``find_unused_parameters``.

    Args:
        num_classes (int): Number of object classes K.
        in_channels (int): Channels of the encoder tokens. Defaults to 256.
        embed_dims (int): Decoder width. Defaults to 256.
        num_queries (int): Number of queries (128 for SUN RGB-D, 256 for
            ScanNet). Defaults to 128.
        decoder (dict): Decoder config. Defaults to 8 layers of 256-d,
            4 heads, FFN 256, dropout 0.1.
        pos_embed (dict): Position embedding config (``embed_dims`` filled
            in). Defaults to the Fourier embedding.
        mlp_dropout (float): Dropout of the box MLPs. Defaults to 0.3.
        bbox_coder (dict): Box coder config. Defaults to 12 yaw bins.
        no_object_weight (float): Class weight of no-object in
            ``loss_cls``. Defaults to 0.1.
        loss_cls (dict): Classification loss; its ``class_weight`` is
            filled in from ``no_object_weight`` unless given.
        loss_center (dict): Centre loss. Defaults to L1, weight 5.
        loss_size (dict): Size loss. Defaults to L1, weight 1.
        loss_angle_cls (dict): Yaw bin loss. Defaults to CE, weight 0.1.
        loss_angle_reg (dict): Yaw residual loss. Defaults to Huber
            (smooth L1, beta 1), weight 0.5.
        loss_giou (dict): GIoU loss; not computed when its weight is 0.
            Defaults to weight 0 (SUN RGB-D).
        train_cfg (dict, optional): ``assigner``: assigner config.
            Defaults to ``HungarianMatcher3D`` with 3DETR's SUN RGB-D
            costs.
        test_cfg (dict, optional): ``nms_thr`` (axis-aligned 3D NMS among
            same-class boxes, default 0.25), ``score_thr`` (minimum
            objectness, default 0.05), ``per_class_proposal`` (output
            each kept query once per class with score class probability x
            objectness, default True), ``remove_empty_box`` (drop boxes
            holding fewer than ``empty_box_min_points`` input points, default
            5, before the NMS, keeping the most confident box when all are
            empty; default False; needs ``points`` in the features) as
            3DETR's evaluation.
        compat_fps_skip_origin (bool): Sample the queries like the original
            pointnet2 FPS kernel, which never picks a point within about
            3 cm of the origin (see :func:`fps_coords_skipping_origin`).
            Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 embed_dims: int = 256,
                 num_queries: int = 128,
                 decoder: dict = dict(
                     type='ThreeDETRDecoder',
                     num_layers=8,
                     layer_cfg=dict(
                         embed_dims=256,
                         num_heads=4,
                         feedforward_channels=256,
                         dropout=0.1)),
                 pos_embed: dict = dict(
                     type='FourierPointEmbedding', gauss_scale=1.0),
                 mlp_dropout: float = 0.3,
                 bbox_coder: dict = dict(
                     type='ThreeDETRBBoxCoder', num_angle_bins=12),
                 no_object_weight: float = 0.1,
                 loss_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=1.0),
                 loss_center: dict = dict(
                     type='mmdet.L1Loss', loss_weight=5.0),
                 loss_size: dict = dict(type='mmdet.L1Loss', loss_weight=1.0),
                 loss_angle_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=0.1),
                 loss_angle_reg: dict = dict(
                     type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=0.5),
                 loss_giou: dict = dict(type='GIoU3DLoss', loss_weight=0.0),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 compat_fps_skip_origin: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got '
                             f'{num_classes!r}')
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.embed_dims = embed_dims
        self.train_cfg = train_cfg or dict()
        self.test_cfg = test_cfg or dict()
        self.compat_fps_skip_origin = compat_fps_skip_origin
        self.bbox_coder: ThreeDETRBBoxCoder = TASK_UTILS.build(bbox_coder)
        self.assigner: HungarianAssigner3D = TASK_UTILS.build(
            self.train_cfg.get('assigner', dict(type='HungarianMatcher3D')))

        self.encoder_proj = nn.Sequential(*[
            ConvModule(
                channels,
                embed_dims,
                1,
                conv_cfg=dict(type='Conv1d'),
                norm_cfg=dict(type='BN1d'),
                act_cfg=dict(type='ReLU'))
            for channels in (in_channels, embed_dims, embed_dims)
        ])
        self.pos_embed = MODELS.build(dict(pos_embed, embed_dims=embed_dims))
        self.query_proj = nn.Sequential(*[
            ConvModule(
                embed_dims,
                embed_dims,
                1,
                conv_cfg=dict(type='Conv1d'),
                norm_cfg=None,
                act_cfg=dict(type='ReLU')) for _ in range(2)
        ])
        self.decoder = MODELS.build(decoder)
        if self.decoder.embed_dims != embed_dims:
            raise ValueError(
                f'the decoder layers have embed_dims='
                f'{self.decoder.embed_dims} but the head has embed_dims='
                f'{embed_dims}')
        num_bins = self.bbox_coder.num_angle_bins
        self.cls_head = _conv_mlp(embed_dims, embed_dims, num_classes + 1,
                                  mlp_dropout)
        self.center_head = _conv_mlp(embed_dims, embed_dims, 3, mlp_dropout)
        self.size_head = _conv_mlp(embed_dims, embed_dims, 3, mlp_dropout)
        self.angle_cls_head = _conv_mlp(embed_dims, embed_dims, num_bins,
                                        mlp_dropout)
        self.angle_res_head = _conv_mlp(embed_dims, embed_dims, num_bins,
                                        mlp_dropout)

        if 'class_weight' not in loss_cls:
            loss_cls = dict(
                loss_cls,
                class_weight=[1.0] * num_classes + [float(no_object_weight)])
        if len(loss_cls['class_weight']) != num_classes + 1:
            raise ValueError(
                f'loss_cls.class_weight has {len(loss_cls["class_weight"])} '
                f'entries, expected num_classes + 1 = {num_classes + 1}')
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_center = MODELS.build(loss_center)
        self.loss_size = MODELS.build(loss_size)
        self.loss_angle_cls = MODELS.build(loss_angle_cls)
        self.loss_angle_reg = MODELS.build(loss_angle_reg)
        self.loss_giou = MODELS.build(loss_giou) \
            if loss_giou.get('loss_weight', 1.0) > 0 else None

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self, feats: Dict[str, Tensor]) -> List[Dict[str, Tensor]]:
        """Predict boxes with every decoder layer.

        Args:
            feats (dict[str, Tensor]): ``xyz`` (B, M, 3) and ``features``
                (B, M, in_channels) of the encoder tokens, and
                ``point_cloud_range``: per-sample minimum and maximum point
                coordinates, each (B, 3).

        Returns:
            list[dict[str, Tensor]]: One dict per decoder layer (last one
            last) with ``cls_logits`` (B, Q, K + 1), ``angle_logits`` and
            ``angle_residual_normalized`` (B, Q, bins), the decoded
            ``center``, ``center_normalized``, ``size``,
            ``size_normalized`` (B, Q, 3), ``yaw`` (B, Q), ``bboxes``
            (B, Q, 7) and ``query_xyz`` (B, Q, 3).
        """
        xyz, tokens = feats['xyz'], feats['features']
        low, high = feats['point_cloud_range']
        if xyz.shape[1] < self.num_queries:
            raise ValueError(
                f'{type(self).__name__}: {self.num_queries} queries are '
                f'sampled from {xyz.shape[1]} encoder tokens; use at most '
                'as many queries as pre-encoder points')
        memory = self.encoder_proj(tokens.transpose(1, 2)).transpose(1, 2)
        query_idx = furthest_point_sample(
            fps_coords_skipping_origin(xyz)
            if self.compat_fps_skip_origin else xyz, self.num_queries)
        query_xyz = gather_points(xyz, query_idx)
        query_pos = self.query_proj(
            self.pos_embed(query_xyz, (low, high)).transpose(1, 2))
        query_pos = query_pos.transpose(1, 2)
        memory_pos = self.pos_embed(xyz, (low, high))
        hidden = self.decoder(
            torch.zeros_like(query_pos), memory, query_pos, memory_pos)
        return self._predict_boxes(hidden, query_xyz, low, high)

    def _predict_boxes(self, hidden: Tensor, query_xyz: Tensor, low: Tensor,
                       high: Tensor) -> List[Dict[str, Tensor]]:
        """Run the box MLPs on all layers at once and decode the boxes.

        Args:
            hidden (Tensor): Decoder outputs, shape (L, B, Q, C).
            query_xyz (Tensor): Query coordinates, shape (B, Q, 3).
            low (Tensor): Minimum scene coordinates, shape (B, 3).
            high (Tensor): Maximum scene coordinates, shape (B, 3).

        Returns:
            list[dict[str, Tensor]]: See :meth:`forward`.
        """
        num_layers, batch_size, num_queries, channels = hidden.shape
        flat = hidden.reshape(num_layers * batch_size, num_queries,
                              channels).transpose(1, 2)

        def run(head: nn.Module) -> Tensor:
            out = head(flat).transpose(1, 2)
            return out.reshape(num_layers, batch_size, num_queries, -1)

        cls_logits = run(self.cls_head)
        center_logits = run(self.center_head)
        size_logits = run(self.size_head)
        angle_logits = run(self.angle_cls_head)
        angle_res = run(self.angle_res_head)
        layers = []
        for i in range(num_layers):
            boxes = self.bbox_coder.decode(center_logits[i], size_logits[i],
                                           angle_logits[i], angle_res[i],
                                           query_xyz, low, high)
            boxes.update(
                cls_logits=cls_logits[i],
                angle_logits=angle_logits[i],
                angle_residual_normalized=angle_res[i],
                query_xyz=query_xyz)
            layers.append(boxes)
        return layers

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, feats: Dict[str, Tensor],
             batch_data_samples: Sequence[Det3DDataSample],
             **kwargs) -> Dict[str, Tensor]:
        """Losses of all decoder layers: :meth:`forward`, then
        :meth:`loss_by_feat`.

        Overrides the base class's ``loss``, which calls
        ``loss_by_feat(*self(x), ...)``: 3DETR's targets are normalised by
        the scene range, which is an input (``feats['point_cloud_range']``),
        not a head output.

        Args:
            feats (dict[str, Tensor]): See :meth:`forward`.
            batch_data_samples (Sequence[Det3DDataSample]): Samples with
                ``gt_instances_3d``.

        Returns:
            dict[str, Tensor]: See :meth:`loss_by_feat`.
        """
        all_layer_preds = self(feats)
        return self.loss_by_feat(all_layer_preds, feats['point_cloud_range'],
                                 *self._unpack_gt(batch_data_samples))

    def loss_and_predict(self,
                         feats: Dict[str, Tensor],
                         batch_data_samples: Sequence[Det3DDataSample],
                         proposal_cfg: Optional[dict] = None,
                         **kwargs) -> Tuple[dict, List[InstanceData]]:
        """Losses and detections from one forward pass.

        Args:
            feats (dict[str, Tensor]): See :meth:`forward` and
                :meth:`predict`.
            batch_data_samples (Sequence[Det3DDataSample]): Samples with
                ``gt_instances_3d``.
            proposal_cfg (dict, optional): Test config used instead of
                ``test_cfg``. Defaults to None.

        Returns:
            tuple[dict, list[InstanceData]]: :meth:`loss_by_feat` and
            :meth:`predict_by_feat` of the last layer.
        """
        all_layer_preds = self(feats)
        gts, metas, ignored = self._unpack_gt(batch_data_samples)
        losses = self.loss_by_feat(all_layer_preds,
                                   feats['point_cloud_range'], gts, metas,
                                   ignored)
        predictions = self.predict_by_feat(
            all_layer_preds[-1], metas, feats.get('points'), cfg=proposal_cfg)
        return losses, predictions

    @staticmethod
    def _unpack_gt(
        batch_data_samples: Sequence[Det3DDataSample]
    ) -> Tuple[List[InstanceData], List[dict], List[Optional[InstanceData]]]:
        """Ground truth, metainfo and ignored instances of every sample."""
        return ([sample.gt_instances_3d for sample in batch_data_samples],
                [sample.metainfo for sample in batch_data_samples],
                [sample.get('ignored_instances') for sample in
                 batch_data_samples])

    def loss_by_feat(
        self,
        all_layer_preds: List[Dict[str, Tensor]],
        point_cloud_range: Tuple[Tensor, Tensor],
        batch_gt_instances_3d: Sequence[InstanceData],
        batch_input_metas: Sequence[dict],
        batch_gt_instances_ignore: Optional[Sequence[Optional[
            InstanceData]]] = None
    ) -> Dict[str, Tensor]:
        """Losses of every decoder layer from the head outputs.

        Args:
            all_layer_preds (list[dict[str, Tensor]]): :meth:`forward`.
            point_cloud_range (tuple[Tensor, Tensor]): Per-sample minimum
                and maximum point coordinates, each (B, 3).
            batch_gt_instances_3d (Sequence[InstanceData]): Per sample
                ``bboxes_3d`` (mmdet3d boxes, G_b) and ``labels_3d`` (G_b, ).
            batch_input_metas (Sequence[dict]): Per-sample metainfo (names
                the sample in errors).
            batch_gt_instances_ignore (Sequence, optional): Must be None or
                all None: 3DETR ignores no box.

        Returns:
            dict[str, Tensor]: ``loss_*`` of the last layer and
            ``d{i}.loss_*`` of layer i < L - 1 (weights applied).
        """
        if batch_gt_instances_ignore is not None and any(
                ignored is not None for ignored in batch_gt_instances_ignore):
            raise ValueError(
                f'{type(self).__name__} does not support ignored instances '
                '(ignored_instances in the data samples)')
        low, high = point_cloud_range
        targets = self._get_targets(batch_gt_instances_3d, batch_input_metas,
                                    low, high)
        # Same collective on every process, whatever its ground truth.
        num_boxes = targets['counts'].sum().to(low.dtype)
        all_reduce(num_boxes, op='mean')
        num_boxes = max(float(num_boxes), 1.)
        losses = {}
        for i, preds in enumerate(all_layer_preds):
            prefix = '' if i == len(all_layer_preds) - 1 else f'd{i}.'
            layer_losses = self._loss_by_feat_single(preds, targets,
                                                     batch_input_metas,
                                                     num_boxes)
            for key, value in layer_losses.items():
                losses[prefix + key] = value
        return losses

    def _get_targets(self, batch_gt_instances_3d: Sequence[InstanceData],
                     batch_input_metas: Sequence[dict], low: Tensor,
                     high: Tensor) -> Dict[str, Tensor]:
        """Pad the ground truth of the batch to a common count.

        Args:
            batch_gt_instances_3d (Sequence[InstanceData]): Per sample
                ``bboxes_3d`` and ``labels_3d``.
            batch_input_metas (Sequence[dict]): Per-sample metainfo.
            low (Tensor): Minimum scene coordinates, shape (B, 3).
            high (Tensor): Maximum scene coordinates, shape (B, 3).

        Returns:
            dict[str, Tensor]: ``bboxes`` (B, G, 7) in gravity-centre
            format, ``labels`` (B, G), ``center_normalized`` and
            ``size_normalized`` (B, G, 3), ``angle_bin`` (B, G),
            ``angle_residual`` (B, G) and ``counts`` (B,) of real boxes;
            G = max(1, largest count), padded with a unit box.
        """
        device = low.device
        boxes, labels = [], []
        for index, (gt, meta) in enumerate(
                zip(batch_gt_instances_3d, batch_input_metas)):
            sample_labels = gt.labels_3d.to(device).long()
            if sample_labels.numel() and (
                    int(sample_labels.min()) < 0
                    or int(sample_labels.max()) >= self.num_classes):
                bad = sample_labels[(sample_labels < 0) | (
                    sample_labels >= self.num_classes)][0]
                raise ValueError(
                    f'{type(self).__name__} has num_classes='
                    f'{self.num_classes} but the ground truth of '
                    f'{describe_sample(meta, index)} has label {int(bad)}: '
                    'the dataset has more classes than the config; set '
                    'bbox_head.num_classes to the number of classes of the '
                    "dataset's metainfo")
            bboxes_3d = gt.bboxes_3d
            if len(bboxes_3d):
                box = torch.cat([
                    bboxes_3d.gravity_center, bboxes_3d.dims,
                    bboxes_3d.yaw.unsqueeze(-1)
                ], dim=-1).to(device=device, dtype=low.dtype)
            else:
                box = low.new_zeros((0, 7))
            if len(box) != len(sample_labels):
                raise ValueError(
                    f'{describe_sample(meta, index)} has {len(box)} boxes '
                    f'but {len(sample_labels)} labels')
            boxes.append(box)
            labels.append(sample_labels)
        counts = torch.tensor([len(b) for b in boxes], device=device)
        num_slots = max(1, int(counts.max()) if len(counts) else 1)
        pad = low.new_tensor(_PAD_BOX)
        padded_boxes = torch.stack([
            torch.cat([b, pad.expand(num_slots - len(b), 7)]) for b in boxes
        ])
        padded_labels = torch.stack([
            torch.cat([lab, lab.new_zeros(num_slots - len(lab))])
            for lab in labels
        ])
        angle_bin, angle_residual = self.bbox_coder.encode_angle(
            padded_boxes[..., 6])
        return dict(
            bboxes=padded_boxes,
            labels=padded_labels,
            center_normalized=self.bbox_coder.normalize_centers(
                padded_boxes[..., :3], low, high),
            size_normalized=self.bbox_coder.normalize_sizes(
                padded_boxes[..., 3:6], low, high),
            angle_bin=angle_bin,
            angle_residual=angle_residual,
            counts=counts)

    def _assign(self, preds: Dict[str, Tensor], targets: Dict[str, Tensor],
                batch_input_metas: Sequence[dict]) -> Tuple[Tensor, Tensor]:
        """Match one layer's queries to the ground truth with the assigner.

        Args:
            preds (dict[str, Tensor]): One layer of :meth:`forward`.
            targets (dict[str, Tensor]): Output of :meth:`_get_targets`.
            batch_input_metas (Sequence[dict]): Per-sample metainfo.

        Returns:
            tuple[Tensor, Tensor]: Ground-truth index of every query
            (B, Q), int64 (0 where unmatched), and the matched mask (B, Q),
            float.
        """
        gt_inds = []
        for b, meta in enumerate(batch_input_metas):
            count = int(targets['counts'][b])
            pred_instances = InstanceData(
                scores=preds['cls_logits'][b].detach(),
                centers_normalized=preds['center_normalized'][b].detach(),
                bboxes=preds['bboxes'][b].detach())
            gt_instances = InstanceData(
                labels=targets['labels'][b, :count],
                centers_normalized=targets['center_normalized'][b, :count],
                bboxes=targets['bboxes'][b, :count])
            gt_inds.append(
                self.assigner.assign(pred_instances, gt_instances,
                                     meta).gt_inds)
        gt_inds = torch.stack(gt_inds).to(preds['cls_logits'].device)
        matched = gt_inds > 0
        return (gt_inds - 1).clamp(min=0), matched.to(
            preds['cls_logits'].dtype)

    def _loss_by_feat_single(self, preds: Dict[str, Tensor],
                             targets: Dict[str, Tensor],
                             batch_input_metas: Sequence[dict],
                             num_boxes: float) -> Dict[str, Tensor]:
        """Losses of one decoder layer.

        Args:
            preds (dict[str, Tensor]): One layer of :meth:`forward`.
            targets (dict[str, Tensor]): Output of :meth:`_get_targets`.
            batch_input_metas (Sequence[dict]): Per-sample metainfo.
            num_boxes (float): Box-loss divisor (>= 1).

        Returns:
            dict[str, Tensor]: Scalar losses (weights applied).
        """
        gt_index, matched = self._assign(preds, targets, batch_input_metas)

        def per_query(name: str) -> Tensor:
            value = targets[name]
            index = gt_index.view(*gt_index.shape,
                                  *([1] * (value.dim() - 2)))
            return value.gather(1, index.expand(-1, -1, *value.shape[2:]))

        num_bins = self.bbox_coder.num_angle_bins
        cls_target = torch.where(matched > 0, per_query('labels'),
                                 torch.full_like(gt_index, self.num_classes))
        cls_logits = preds['cls_logits'].flatten(0, 1)
        class_weight = cls_logits.new_tensor(self.loss_cls.class_weight)
        losses = dict(
            loss_cls=self.loss_cls(
                cls_logits,
                cls_target.flatten(),
                avg_factor=class_weight[cls_target].sum()))
        mask = matched.flatten()
        box_mask = mask.unsqueeze(-1).expand(-1, 3)
        losses['loss_center'] = self.loss_center(
            preds['center_normalized'].flatten(0, 1),
            per_query('center_normalized').flatten(0, 1),
            weight=box_mask,
            avg_factor=num_boxes)
        losses['loss_size'] = self.loss_size(
            preds['size_normalized'].flatten(0, 1),
            per_query('size_normalized').flatten(0, 1),
            weight=box_mask,
            avg_factor=num_boxes)
        angle_bin = per_query('angle_bin').flatten()
        losses['loss_angle_cls'] = self.loss_angle_cls(
            preds['angle_logits'].flatten(0, 1),
            angle_bin,
            weight=mask,
            avg_factor=num_boxes)
        residual = preds['angle_residual_normalized'].flatten(0, 1).gather(
            1, angle_bin.unsqueeze(1)).squeeze(1)
        residual_target = per_query('angle_residual').flatten() / (
            torch.pi / num_bins)
        losses['loss_angle_reg'] = self.loss_angle_reg(
            residual, residual_target, weight=mask, avg_factor=num_boxes)
        if self.loss_giou is not None:
            losses['loss_giou'] = self.loss_giou(
                preds['bboxes'].flatten(0, 1),
                per_query('bboxes').flatten(0, 1),
                weight=mask,
                avg_factor=num_boxes)
        return losses

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict(self,
                feats: Dict[str, Tensor],
                batch_data_samples: Sequence[Det3DDataSample],
                rescale: bool = False) -> List[InstanceData]:
        """Detect boxes with the last decoder layer: :meth:`forward`, then
        :meth:`predict_by_feat`.

        Overrides the base class's ``predict``, which calls
        ``predict_by_feat(*self(x), ...)``: 3DETR's empty-box removal needs
        the input points (``feats['points']``), not a head output, and only
        the last decoder layer is post-processed.

        Args:
            feats (dict[str, Tensor]): See :meth:`forward`; with
                ``test_cfg.remove_empty_box`` also ``points`` (B, N, 3), the
                input point coordinates.
            batch_data_samples (Sequence[Det3DDataSample]): Samples (their
                ``box_type_3d`` metainfo is used when present).
            rescale (bool): Unused (point clouds are not resized).
                Defaults to False.

        Returns:
            list[InstanceData]: See :meth:`predict_by_feat`.
        """
        preds = self(feats)[-1]
        metas = [sample.metainfo for sample in batch_data_samples]
        return self.predict_by_feat(preds, metas, feats.get('points'))

    def predict_by_feat(self,
                        preds: Dict[str, Tensor],
                        batch_input_metas: Sequence[dict],
                        points: Optional[Tensor] = None,
                        cfg: Optional[dict] = None,
                        **kwargs) -> List[InstanceData]:
        """Post-process one layer's predictions (3DETR's evaluation).

        Per sample: optional empty-box removal, axis-aligned 3D NMS among
        boxes of the same arg-max class on the objectness, objectness
        threshold, and per-class proposals (see ``test_cfg`` in the class
        docstring).

        Args:
            preds (dict[str, Tensor]): One layer of :meth:`forward`; reads
                ``cls_logits`` (B, Q, K + 1) and ``bboxes`` (B, Q, 7).
            batch_input_metas (Sequence[dict]): Per-sample metainfo.
            points (Tensor, optional): Input point coordinates (B, N, 3),
                needed by ``test_cfg.remove_empty_box``. Defaults to None.
            cfg (dict, optional): Test config used instead of ``test_cfg``.
                Defaults to None.

        Returns:
            list[InstanceData]: Per sample ``bboxes_3d``
            (``DepthInstance3DBoxes`` or the sample's ``box_type_3d``, with
            bottom-centre origin as mmdet3d stores boxes), ``scores_3d``
            (N,) and ``labels_3d`` (N,).
        """
        cfg = self.test_cfg if cfg is None else cfg
        if cfg.get('remove_empty_box', False) and points is None:
            raise ValueError(
                f'{type(self).__name__}: test_cfg.remove_empty_box counts '
                'the input points in each predicted box and needs them as '
                "feats['points'] (B, N, 3)")
        prob = F.softmax(preds['cls_logits'], dim=-1)
        cls_prob = prob[..., :self.num_classes]
        objectness = 1 - prob[..., -1]
        return [
            self._predict_by_feat_single(
                preds['bboxes'][b], cls_prob[b], objectness[b], meta, cfg,
                None if points is None else points[b, :, :3])
            for b, meta in enumerate(batch_input_metas)
        ]

    def _nonempty_candidates(self, bboxes: Tensor, objectness: Tensor,
                             points: Tensor, min_points: int) -> Tensor:
        """Queries whose box holds at least ``min_points`` points.

        As 3DETR's evaluation: when every box is empty, the most confident
        one is kept.

        Args:
            bboxes (Tensor): Boxes (gravity centre, size, yaw), (Q, 7).
            objectness (Tensor): Objectness, (Q,).
            points (Tensor): Input point coordinates, (N, 3).
            min_points (int): Fewest points of a kept box.

        Returns:
            Tensor: Indices of the candidate queries, int64, ascending.
        """
        nonempty = count_points_in_boxes(
            points.to(bboxes.dtype), bboxes) >= min_points
        if not bool(nonempty.any()):
            nonempty[objectness.argmax()] = True
        return nonempty.nonzero(as_tuple=True)[0]

    def _predict_by_feat_single(self,
                                bboxes: Tensor,
                                cls_prob: Tensor,
                                objectness: Tensor,
                                meta: dict,
                                cfg: dict,
                                points: Optional[Tensor] = None
                                ) -> InstanceData:
        """NMS and score thresholding of one sample (3DETR's evaluation).

        Args:
            bboxes (Tensor): Boxes (gravity centre, size, yaw), (Q, 7).
            cls_prob (Tensor): Class probabilities, (Q, K).
            objectness (Tensor): Objectness, (Q,).
            meta (dict): The sample's metainfo.
            cfg (dict): Test config.
            points (Tensor, optional): Input point coordinates (N, 3) for
                ``remove_empty_box``. Defaults to None.

        Returns:
            InstanceData: ``bboxes_3d``, ``scores_3d``, ``labels_3d``.
        """
        nms_thr = cfg.get('nms_thr', 0.25)
        score_thr = cfg.get('score_thr', 0.05)
        per_class = cfg.get('per_class_proposal', True)
        # axis-aligned bounds (x1, y1, z1, x2, y2, z2) for 3DETR's NMS
        corners = box3d_bev_corners(bboxes)
        bounds = torch.cat([
            corners.amin(dim=1), bboxes[:, 2:3] - bboxes[:, 5:6] / 2,
            corners.amax(dim=1), bboxes[:, 2:3] + bboxes[:, 5:6] / 2
        ], dim=1)
        labels = cls_prob.argmax(dim=-1)
        if cfg.get('remove_empty_box', False):
            if points is None:
                raise ValueError(
                    'test_cfg.remove_empty_box needs the input points')
            candidates = self._nonempty_candidates(
                bboxes, objectness, points,
                cfg.get('empty_box_min_points', 5))
            keep = candidates[aligned_3d_nms(bounds[candidates],
                                             objectness[candidates],
                                             labels[candidates], nms_thr)]
        else:
            keep = aligned_3d_nms(bounds, objectness, labels, nms_thr)
        keep = keep[objectness[keep] > score_thr]
        if per_class:
            count = len(keep)
            kept_boxes = bboxes[keep].repeat(self.num_classes, 1)
            scores = (cls_prob[keep] *
                      objectness[keep].unsqueeze(1)).t().reshape(-1)
            labels = torch.arange(
                self.num_classes,
                device=bboxes.device).repeat_interleave(count)
        else:
            kept_boxes, scores, labels = bboxes[keep], objectness[keep], \
                labels[keep]
        box_type = meta.get('box_type_3d', DepthInstance3DBoxes)
        results = InstanceData()
        results.bboxes_3d = box_type(
            kept_boxes,
            box_dim=7,
            with_yaw=self.bbox_coder.with_rot,
            origin=(0.5, 0.5, 0.5))
        results.scores_3d = scores
        results.labels_3d = labels
        return results
