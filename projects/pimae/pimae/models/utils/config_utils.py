# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers to keep sub-module configs consistent with their parent."""
import copy
from typing import Any


def _normalise(value: Any) -> Any:
    """Compare lists and tuples by their items."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def with_default(cfg: dict, key: str, value: Any, owner: str) -> dict:
    """Copy ``cfg`` and fill ``cfg[key]`` with ``value``.

    A value already in ``cfg`` must equal ``value``: the parent's setting is
    the single source of truth, and a contradicting sub-config would only
    fail later with a shape error deep inside a layer.

    Args:
        cfg (dict): Sub-module config.
        key (str): Argument name, e.g. 'embed_dims'.
        value (Any): The parent's value.
        owner (str): Name of the sub-config, for the error message.

    Returns:
        dict: A new config with ``key`` set.
    """
    cfg = copy.deepcopy(dict(cfg))
    if key in cfg and _normalise(cfg[key]) != _normalise(value):
        raise ValueError(f'{owner}.{key}={cfg[key]!r} contradicts the '
                         f'{key}={value!r} of its parent')
    cfg[key] = value
    return cfg
