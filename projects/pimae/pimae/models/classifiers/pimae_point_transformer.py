# Copyright (c) OpenMMLab. All rights reserved.
"""PiMAE's point branch as a (frozen) feature backbone for classifiers."""
from typing import Optional, Tuple

import torch
from mmdet3d.registry import MODELS as MMDET3D_MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from ...utils.checkpoint import (CheckpointError, compare_state_dicts,
                                 get_state_dict, load_checkpoint_file,
                                 revise_keys)
from ..utils.config_utils import check_sizes_agree

#: Token pooling of :class:`PiMAEPointTransformer` -> width factor.
POOLING = {'max': 1, 'mean': 1, 'max_mean': 2}


@MODELS.register_module()
class PiMAEPointTransformer(BaseModule):
    """PiMAE's point tokenizer, point-specific and shared encoders, without
    masking and without the image branch, pooled into one feature per cloud.

    The flow is that of :class:`PiMAEEncoder` with ``mask=False`` and no
    image tokens::

        points (B, N, C) -> FPS/KNN groups -> mini-PointNet + pos MLP(centre)
            + modality_pts_embed -> pts_encoder -> [cls, pts] ->
            shared_encoder -> point tokens (B, G, D) -> pool -> (B, D | 2D)

    The sub-modules have the names (and so the state-dict keys) of
    ``PiMAEEncoder`` (``pts_tokenizer.*``, ``pts_encoder.*``,
    ``shared_encoder.*``, ``modality_pts_embed``, ``cls_token``), so inside
    a classifier whose backbone this is, every key is the PiMAE checkpoint's
    key (``backbone.pts_tokenizer.first_conv.0.weight`` ...).
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads them with a
    strict check: every tensor of this module must be in the checkpoint
    under ``prefix`` with its shape, else a ``CheckpointError`` lists what
    is missing; the checkpoint's other keys (image branch, decoder, heads)
    are ignored and counted in the log. Without it the weights are PiMAE's
    random initialisation (the baseline of a probe).

    With ``frozen=True`` (linear / k-NN probing) no parameter requires a
    gradient, the forward runs without autograd and the module stays in
    eval mode in ``train()`` (BatchNorm running statistics, no dropout).

    Pooling (``pool``) is over the G point tokens of the shared encoder's
    output (the cls token is not pooled): ``'max'``, ``'mean'``, or
    ``'max_mean'``, their concatenation ``[max, mean]`` (2D channels), the
    usual frozen-feature readout of Point-BERT / Point-MAE style encoders.

    Args:
        pts_tokenizer (dict): Config of :class:`PointGroupTokenizer`
            (mmdet3d registry). Its ``num_groups`` / ``group_size`` hold no
            weights and may differ from pre-training.
        pts_encoder (dict): Config of the point-specific
            :class:`DETRStyleEncoder`.
        shared_encoder (dict): Config of the shared :class:`DETRStyleEncoder`.
        embed_dims (int): Token width; must equal that of the tokenizer and
            the encoder layers. Defaults to 256.
        with_cls_token (bool): Put PiMAE's cls token in front of the point
            tokens in the shared encoder, as in pre-training (where it
            preceded the image and point tokens). Defaults to True.
        pool (str): 'max', 'mean' or 'max_mean'. Defaults to 'max_mean'.
        frozen (bool): Freeze every weight. Defaults to True.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH, prefix='backbone.')`` (``prefix`` defaults to
            'backbone.', the PiMAE checkpoint's), or None for random
            weights. Defaults to None.
    """

    def __init__(self,
                 pts_tokenizer: dict = dict(type='PointGroupTokenizer'),
                 pts_encoder: dict = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 shared_encoder: dict = dict(
                     type='DETRStyleEncoder', num_layers=3),
                 embed_dims: int = 256,
                 with_cls_token: bool = True,
                 pool: str = 'max_mean',
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pool not in POOLING:
            raise ValueError(
                f'pool must be one of {sorted(POOLING)}, got {pool!r}')
        if init_cfg is not None and (not isinstance(init_cfg, dict)
                                     or init_cfg.get('type') != 'Pretrained'
                                     or not init_cfg.get('checkpoint')):
            raise ValueError(
                f'{type(self).__name__}: init_cfg must be None (random '
                "weights) or dict(type='Pretrained', checkpoint=PATH[, "
                f"prefix='backbone.']), got {init_cfg}")
        self.embed_dims = embed_dims
        self.with_cls_token = with_cls_token
        self.pool = pool
        self.frozen = frozen
        # PiMAE's parts live in mmdet3d's registry; this classifier in
        # mmpretrain's, whose scope the configs set
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            self.pts_tokenizer = MMDET3D_MODELS.build(pts_tokenizer)
            self.pts_encoder = MMDET3D_MODELS.build(pts_encoder)
            self.shared_encoder = MMDET3D_MODELS.build(shared_encoder)
        self.modality_pts_embed = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        widths = [('pts_tokenizer.embed_dims', self.pts_tokenizer.embed_dims)]
        for name in ('pts_encoder', 'shared_encoder'):
            for layer in getattr(self, name).layers[:1]:
                widths.append(
                    (f'{name}.layer_cfg.embed_dims', layer.embed_dims))
        check_sizes_agree(type(self).__name__,
                          [(name, width, 'embed_dims', embed_dims)
                           for name, width in widths])
        if frozen:
            self.requires_grad_(False)
            self.eval()

    @property
    def out_channels(self) -> int:
        """int: Width of the pooled feature."""
        return POOLING[self.pool] * self.embed_dims

    def init_weights(self) -> None:
        """Load the PiMAE checkpoint of ``init_cfg``, or initialise as PiMAE
        (truncated-normal linears and convs, zero cls / modality tokens)."""
        if self.init_cfg is not None:
            self._load_pretrained(self.init_cfg['checkpoint'],
                                  self.init_cfg.get('prefix', 'backbone.'))
            self._is_init = True
            return
        super().init_weights()
        nn.init.zeros_(self.modality_pts_embed)
        if self.with_cls_token:
            nn.init.zeros_(self.cls_token)

    def _load_pretrained(self, path: str, prefix: str) -> None:
        """Load every tensor of this module from ``path`` (strict)."""
        source = revise_keys(get_state_dict(load_checkpoint_file(path), path))
        state = {
            key[len(prefix):]: value
            for key, value in source.items() if key.startswith(prefix)
        }
        report = compare_state_dicts(self.state_dict(), state)
        if report.missing or report.shape_mismatch:
            raise CheckpointError(
                f'{report.format(path)}\n{path} lacks tensors of '
                f'{type(self).__name__} under the prefix {prefix!r} (or has '
                'other shapes): is it a PiMAE checkpoint of the same sizes? '
                'Official PiMAE checkpoints: convert them first with '
                'tools/model_converters/pimae_official_to_mmdet3d.py')
        self.load_state_dict({k: state[k] for k in report.matched})
        print_log(
            f'{type(self).__name__}: loaded all {len(report.matched)} '
            f'tensors from {path} (prefix {prefix!r}); '
            f'{len(source) - len(report.matched)} other tensors of the '
            'checkpoint (image branch, decoder, heads) are not used',
            logger='current')

    def train(self, mode: bool = True) -> 'PiMAEPointTransformer':
        """Set the training mode; a frozen module stays in eval mode."""
        return super().train(mode and not self.frozen)

    def forward_tokens(self, points: Tensor) -> Tensor:
        """Encode the point clouds into point tokens.

        Args:
            points (Tensor): (B, N, C) points, xyz first, C >= the
                tokenizer's ``in_channels``.

        Returns:
            Tensor: The shared encoder's point tokens, (B, G, embed_dims).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.frozen):
            tokenizer = self.pts_tokenizer
            neighborhood, center = tokenizer.group(points)
            tokens = (
                tokenizer.embed_groups(neighborhood) +
                tokenizer.embed_pos(center) + self.modality_pts_embed)
            tokens = self.pts_encoder(tokens)
            if self.with_cls_token:
                cls = self.cls_token.expand(tokens.size(0), -1, -1)
                return self.shared_encoder(torch.cat([cls, tokens], 1))[:, 1:]
            return self.shared_encoder(tokens)

    def forward(self, points: Tensor) -> Tuple[Tensor]:
        """Encode and pool.

        Args:
            points (Tensor): (B, N, C) points, xyz first.

        Returns:
            tuple[Tensor]: One pooled feature (B, ``out_channels``), as
            mmpretrain's necks and heads expect.
        """
        tokens = self.forward_tokens(points)
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.frozen):
            if self.pool == 'max':
                feat = tokens.max(dim=1)[0]
            elif self.pool == 'mean':
                feat = tokens.mean(dim=1)
            else:
                feat = torch.cat([tokens.max(dim=1)[0], tokens.mean(dim=1)],
                                 dim=-1)
        return (feat, )
