# Copyright (c) OpenMMLab. All rights reserved.
"""One way to name a sample in error and log messages."""
from typing import Mapping, Optional


def describe_sample(meta: Mapping, index: Optional[int] = None) -> str:
    """Name a sample by its index and files, for error and log messages.

    Used alike by the datasets and transforms (on data infos and pipeline
    results) and by the data preprocessor and models (on a data sample's
    ``metainfo``, with the sample's index in the batch).

    Args:
        meta (Mapping): The sample's data info, pipeline results or
            ``metainfo``; reads ``sample_idx``, ``lidar_points.lidar_path``
            (or ``lidar_path``) and ``img_path`` when present.
        index (int, optional): Index of the sample in its dataset or batch,
            shown instead of ``sample_idx``; ``sample_idx`` is then shown
            in the brackets when the sample has no file names.

    Returns:
        str: E.g. ``"sample 3 (points: data/points/000004.bin, image:
        data/.../000004.jpg)"`` or ``"sample 1 (sample_idx=7)"``.
    """
    sample_idx = meta.get('sample_idx')
    lidar = meta.get('lidar_points')
    lidar_path = lidar.get('lidar_path') if isinstance(lidar, dict) else None
    lidar_path = lidar_path or meta.get('lidar_path')
    details = []
    if lidar_path:
        details.append(f'points: {lidar_path}')
    if meta.get('img_path'):
        details.append(f'image: {meta["img_path"]}')
    if not details and index is not None and sample_idx is not None:
        details.append(f'sample_idx={sample_idx}')
    number = index if index is not None else sample_idx
    name = f'sample {number}' if number is not None else 'sample'
    return f'{name} ({", ".join(details)})' if details else name
