"""Furthest point sampling of a sample's cloud inside the data worker."""
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from ...ops import furthest_point_sample_numpy
from ._take_rows import take_rows
from .logged_point_sample import LoggedPointSample


@TRANSFORMS.register_module()
class FurthestPointSample(BaseTransform):
    """Keep ``num_points`` points chosen by furthest point sampling.

    Runs the fast CPU FPS of ``projects.pimae.pimae.ops`` on the xyz columns
    (start index 0; the preceding random sampling makes the start random),
    so the model receives a fixed-size, evenly spread cloud (PiMAE: 20000 ->
    2048). A cloud with fewer than ``num_points`` points is first repaired
    by :class:`LoggedPointSample` (all points kept, random repeats added,
    logged); an empty cloud raises ``BadSampleError``.

    Required Keys:

    - points (:obj:`BasePoints`)

    Modified Keys:

    - points (:obj:`BasePoints`): (num_points, C), in FPS order.

    Args:
        num_points (int): Number of points to keep. Defaults to 2048.
        backend (str): ``furthest_point_sample_numpy`` backend ('auto',
            'kdtree', 'quickfps' or 'torch'). Defaults to 'auto'.
    """

    def __init__(self, num_points: int = 2048, backend: str = 'auto') -> None:
        self._pad = LoggedPointSample(num_points=num_points)
        self.num_points = num_points
        self.backend = backend

    def transform(self, results: dict) -> dict:
        """Subsample ``results['points']`` by FPS.

        Args:
            results (dict): Result dict with ``points``.

        Returns:
            dict: ``results`` with ``num_points`` points.
        """
        if len(results['points']) < self.num_points:
            # keeps every point, logs; raises BadSampleError when empty
            results = self._pad(results)
        points = results['points']
        choice = furthest_point_sample_numpy(
            points.tensor[:, :3].numpy(),
            self.num_points,
            backend=self.backend)
        results['points'] = points.new_point(take_rows(points.tensor, choice))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_points={self.num_points}, '
                f'backend={self.backend!r})')
