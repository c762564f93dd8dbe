# Copyright (c) OpenMMLab. All rights reserved.
"""Which parts a :class:`PiMAE` has, checked against its modalities."""
from typing import Any, Optional, Sequence, Tuple

from torch import nn

from ..utils.config_utils import check_sizes_agree
from ..utils.pimae_structures import check_branch_configs

#: Sizes of the parts that must agree: (config key, the key it must equal);
#: each key is also the attribute path of the built value (pairs with a
#: side in an absent head or modality branch are not checked).
SIZES_THAT_AGREE = (
    ('neck.in_channels', 'backbone.embed_dims'),
    ('neck.grid_size', 'backbone.img_tokenizer.grid_size'),
    ('neck.patch_size', 'backbone.img_tokenizer.patch_size'),
    ('neck.img_channels', 'backbone.img_tokenizer.in_channels'),
    ('img_head.patch_size', 'backbone.img_tokenizer.patch_size'),
    ('pts_head.in_channels', 'neck.embed_dims'),
    ('pts_head.group_size', 'backbone.pts_tokenizer.group_size'),
    ('cross_head.in_channels', 'neck.embed_dims'),
    ('cross_head.feat_channels', 'neck.embed_dims'),
    ('cross_head.group_size', 'backbone.pts_tokenizer.group_size'),
)


def check_pimae_parts(backbone: nn.Module, neck: nn.Module,
                      pts_head: Optional[dict], img_head: Optional[dict],
                      cross_head: Optional[dict]) -> None:
    """Check that the neck and the heads of a PiMAE fit its backbone.

    The backbone's ``modalities`` decide: the neck must have the same ones,
    ``pts_head`` is needed exactly with points, ``img_head`` exactly with
    images, and ``cross_head`` (optional: None trains without the
    cross-modal loss) needs both.

    Args:
        backbone (nn.Module): The built :class:`PiMAEEncoder`.
        neck (nn.Module): The built :class:`PiMAEDecoder`.
        pts_head (dict, optional): The point head's config.
        img_head (dict, optional): The image head's config.
        cross_head (dict, optional): The cross-modal head's config.
    """
    modalities = backbone.modalities
    if neck.modalities != modalities:
        raise ValueError(f'PiMAE: neck.modalities={neck.modalities!r} must '
                         f'equal backbone.modalities={modalities!r}')
    check_branch_configs(
        'PiMAE (backbone.modalities)',
        modalities,
        dict(points=dict(pts_head=pts_head), images=dict(img_head=img_head)))
    if cross_head is not None and len(modalities) < 2:
        raise ValueError(
            f'PiMAE: cross_head needs both modalities, but backbone.'
            f'modalities={modalities!r}; set cross_head=None')


def _lookup(model: nn.Module, path: str) -> Any:
    """The attribute ``path`` of ``model``; None past an absent part."""
    value = model
    for name in path.split('.'):
        if value is None:
            return None
        value = getattr(value, name)
    return value


def check_pimae_sizes(model: nn.Module,
                      pairs: Sequence[Tuple[str, str]] = SIZES_THAT_AGREE
                      ) -> None:
    """Check that the sizes of ``pairs`` agree in a built PiMAE.

    Pairs with a side in an absent part (a head or a modality branch set to
    None) are left out.

    Args:
        model (nn.Module): The built model.
        pairs (Sequence[tuple[str, str]]): ``(key, source)`` attribute
            paths whose values must agree. Defaults to
            :data:`SIZES_THAT_AGREE`.
    """
    found = [(key, _lookup(model, key), source, _lookup(model, source))
             for key, source in pairs]
    check_sizes_agree(
        'PiMAE', [item for item in found if None not in (item[1], item[3])])
