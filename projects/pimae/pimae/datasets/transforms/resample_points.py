"""Bring a point array to a fixed number of points (object crops)."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ...ops import furthest_point_sample_numpy
from ..bad_sample_error import BadSampleError, describe_sample


@TRANSFORMS.register_module()
class ResamplePoints(BaseTransform):
    """Resample ``results['points']`` (an (M, C) array) to ``num_points``.

    - ``method='fps'``: furthest point sampling on xyz from the first point,
      deterministic (the evaluation pipelines).
    - ``method='random'``: a uniform draw without replacement (training
      pipelines). With ``seed=None`` it uses NumPy's global generator, which
      MMEngine seeds per worker; with a ``seed`` the draw depends only on
      ``(seed, sample_idx)``, so it repeats across runs and workers.

    A crop with fewer than ``num_points`` points keeps all of them, followed
    by repeats: the first ``num_points - M`` points again (cycling) for
    ``'fps'``, random ones for ``'random'`` (a repeat may then occur twice
    in a tokenizer's KNN group). The dataset's ``min_points`` keeps such
    sparse crops out.

    Required keys: ``points`` ((M, C) array, xyz first).

    Modified keys: ``points`` ((num_points, C), same dtype).

    Args:
        num_points (int): Points to keep. Defaults to 1024.
        method (str): 'fps' or 'random'. Defaults to 'fps'.
        seed (int, optional): Seed of ``'random'`` (see above). Defaults to
            None.
    """

    def __init__(self,
                 num_points: int = 1024,
                 method: str = 'fps',
                 seed: Optional[int] = None) -> None:
        if num_points < 1:
            raise ValueError(f'num_points must be >= 1, got {num_points}')
        if method not in ('fps', 'random'):
            raise ValueError(
                f"method must be 'fps' or 'random', got {method!r}")
        self.num_points = int(num_points)
        self.method = method
        self.seed = seed

    def _rng(self, results: dict):
        if self.seed is None:
            return np.random
        return np.random.default_rng(
            [self.seed, int(results.get('sample_idx') or 0)])

    def transform(self, results: dict) -> dict:
        """Resample ``results['points']``.

        Args:
            results (dict): Result dict with ``points``.

        Returns:
            dict: ``results`` with ``num_points`` points.
        """
        points = results['points']
        if not isinstance(points, np.ndarray) or points.ndim != 2 or \
                points.shape[1] < 3 or len(points) == 0:
            raise BadSampleError(
                describe_sample(results),
                'ResamplePoints needs a non-empty (M, C >= 3) array of '
                f'points, got {type(points).__name__} of shape '
                f'{getattr(points, "shape", None)}')
        num = len(points)
        if num >= self.num_points:
            if self.method == 'fps':
                choice = furthest_point_sample_numpy(
                    np.ascontiguousarray(points[:, :3]), self.num_points)
            else:
                choice = self._rng(results).choice(
                    num, self.num_points, replace=False)
        else:
            extra = self.num_points - num
            if self.method == 'fps':
                repeats = np.arange(extra) % num
            else:
                repeats = self._rng(results).choice(num, extra, replace=True)
            choice = np.concatenate([np.arange(num), repeats])
        results['points'] = points[choice]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_points={self.num_points}, '
                f"method='{self.method}', seed={self.seed})")
