"""Variants of the pre-training pipeline for the data benchmarks and the
device-side FPS configs."""
import copy
from typing import List, Sequence

from ...ops import quickfps_available

#: Names accepted by :func:`build_pipeline`.
PIPELINE_VARIANTS = ('worker-fps', 'device-fps', 'full-decode',
                     'upstream-transforms')
IMAGE_LOADER = 'LoadImageFromFileWithDepth2Img'
POINT_LOADER = 'LoadCheckedPointsFromFile'


def _index_of(pipeline: Sequence[dict], type_name: str) -> int:
    """Position of the (single) transform of ``type_name`` in ``pipeline``."""
    found = [i for i, t in enumerate(pipeline) if t.get('type') == type_name]
    if len(found) != 1:
        raise ValueError(
            f'the pipeline must contain exactly one {type_name}, found '
            f'{len(found)} in {[t.get("type") for t in pipeline]}')
    return found[0]


def build_pipeline(variant: str, pipeline: Sequence[dict]) -> List[dict]:
    """Derive a variant of a pre-training pipeline config.

    ``pipeline`` is a config list such as ``train_pipeline`` of
    ``configs/_base_/datasets/sunrgbd_pretrain.py`` (random sampling to 20000
    points by ``LoggedPointSample``, then ``FurthestPointSample``). The
    variants:

    - ``'worker-fps'``: ``pipeline`` itself (FPS in the data workers).
    - ``'device-fps'``: without ``FurthestPointSample``; the workers deliver
      the 20000 sampled points and ``PiMAEDataPreprocessor(fps_num_points=
      ...)`` runs the FPS on the model's device (see
      ``configs/pimae/pimae_8xb16-accum2-400e_sunrgbd_device-fps.py``).
    - ``'full-decode'``: the image decoded at full size, as by mmcv's
      ``LoadImageFromFile`` (the loader's ``min_shape`` dropped), instead of
      at the reduced JPEG scale the resize allows.
    - ``'upstream-transforms'``: the pipeline as it ran before its data
      path was tuned, on the upstream transforms it was built from, the
      baseline of the data benchmark: mmdet3d's ``LoadPointsFromFile``
      instead of ``LoadCheckedPointsFromFile`` (no file checks; its column
      selection leaves the cloud column-major), mmcv's
      ``LoadImageFromFile`` (full decode), mmdet3d's ``PointSample``
      instead of ``LoggedPointSample`` (``np.random.choice`` over a Python
      ``range`` and ``BasePoints`` advanced indexing), and FPS on
      torch_quickfps where it is installed (the fastest backend before
      the k-d tree). From the same random state it gives the same sample
      for clouds of at least ``num_points`` points and without exact FPS
      ties.

    Args:
        variant (str): One of :data:`PIPELINE_VARIANTS`.
        pipeline (Sequence[dict]): The pipeline config; not modified.

    Returns:
        list[dict]: A new pipeline config.
    """
    if variant not in PIPELINE_VARIANTS:
        raise ValueError(f'unknown pipeline variant {variant!r}, expected '
                         f'one of {PIPELINE_VARIANTS}')
    result = [dict(copy.deepcopy(t)) for t in pipeline]
    if variant == 'device-fps':
        del result[_index_of(result, 'FurthestPointSample')]
    elif variant == 'full-decode':
        index = _index_of(result, IMAGE_LOADER)
        result[index].pop('min_shape', None)
    elif variant == 'upstream-transforms':
        index = _index_of(result, POINT_LOADER)
        result[index] = dict(result[index], type='LoadPointsFromFile')
        result[index].pop('color_range', None)
        index = _index_of(result, 'LoggedPointSample')
        result[index] = dict(result[index], type='PointSample')
        index = _index_of(result, IMAGE_LOADER)
        result[index] = dict(result[index], type='LoadImageFromFile')
        result[index].pop('min_shape', None)
        if quickfps_available():
            index = _index_of(result, 'FurthestPointSample')
            result[index] = dict(result[index], backend='quickfps')
    else:
        _index_of(result, 'FurthestPointSample')
    return result
