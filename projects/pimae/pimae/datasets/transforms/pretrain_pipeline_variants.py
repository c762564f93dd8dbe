"""Variants of the pre-training pipeline for the data benchmarks and the
device-side FPS configs."""
import copy
from typing import List, Sequence

#: Names accepted by :func:`build_pipeline`.
PIPELINE_VARIANTS = ('worker-fps', 'device-fps', 'mmdet3d-sampling')


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
    - ``'mmdet3d-sampling'``: ``LoggedPointSample`` replaced by mmdet3d's
      ``PointSample`` with the same arguments, i.e. the sampling code the
      pipeline ran before ``LoggedPointSample`` drew the permutation itself
      (``np.random.choice`` over a Python ``range`` and numpy-array
      indexing; the same points from the same random state for clouds of at
      least ``num_points``): a baseline for the data benchmark.

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
    elif variant == 'mmdet3d-sampling':
        index = _index_of(result, 'LoggedPointSample')
        result[index] = dict(result[index], type='PointSample')
    else:
        _index_of(result, 'FurthestPointSample')
    return result
