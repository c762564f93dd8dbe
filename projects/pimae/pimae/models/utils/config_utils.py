# Copyright (c) OpenMMLab. All rights reserved.
"""Check that the sizes of sub-modules built from a config agree."""
from typing import Any, Sequence, Tuple


def _normalise(value: Any) -> Any:
    """Compare lists and tuples by their items."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def check_sizes_agree(owner: str, pairs: Sequence[Tuple[str, Any, str,
                                                        Any]]) -> None:
    """Raise a ValueError naming every size that disagrees with its source.

    Sizes are never passed from a module to its sub-modules behind the
    config's back (the dumped config is what is built); a config that
    states two sizes which must be equal differently fails here, at build
    time, instead of with a shape error deep inside a layer.

    Args:
        owner (str): The module that checks, for the message.
        pairs (Sequence[tuple]): ``(name, value, source_name,
            source_value)``: the config key of a built size, its value, and
            the key and value it must equal.
    """
    wrong = [
        f'{name}={value!r} must equal {source}={source_value!r}'
        for name, value, source, source_value in pairs
        if _normalise(value) != _normalise(source_value)
    ]
    if wrong:
        raise ValueError(f'{owner}: sizes of the config disagree: ' +
                         '; '.join(wrong) +
                         ' (set each of them explicitly in the config)')
