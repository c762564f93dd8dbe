"""The error raised for an unusable sample, and how samples are named."""
from typing import Optional


class BadSampleError(ValueError):
    """A sample that cannot be used: missing or malformed file, calibration.

    The message always names the sample (dataset index and files); the
    original exception, if any, is chained as ``__cause__``.

    Args:
        sample (str): Description of the sample, see :func:`describe_sample`.
        problem (str): What is wrong with it.
    """

    def __init__(self, sample: str, problem: str) -> None:
        self.sample = sample
        self.problem = problem
        super().__init__(f'{sample}: {problem}')


def describe_sample(results: dict, index: Optional[int] = None) -> str:
    """Name a sample by its index and files, for error and log messages.

    Args:
        results (dict): The sample's data info or pipeline results; reads
            ``sample_idx``, ``lidar_points.lidar_path`` (or ``lidar_path``)
            and ``img_path`` when present.
        index (int, optional): Dataset index, overriding ``sample_idx``.

    Returns:
        str: E.g. ``"sample 3 (points: data/points/000004.bin, image:
        data/.../000004.jpg)"``.
    """
    idx = index if index is not None else results.get('sample_idx')
    files = []
    lidar = results.get('lidar_points')
    lidar_path = lidar.get('lidar_path') if isinstance(lidar, dict) else None
    lidar_path = lidar_path or results.get('lidar_path')
    if lidar_path:
        files.append(f'points: {lidar_path}')
    if results.get('img_path'):
        files.append(f'image: {results["img_path"]}')
    name = f'sample {idx}' if idx is not None else 'sample'
    return f'{name} ({", ".join(files)})' if files else name
