"""The error raised for an unusable sample.

Samples are named by :func:`~projects.pimae.pimae.utils.describe_sample`
(re-exported here for the datasets' callers).
"""
from ..utils.sample_naming import describe_sample

__all__ = ['BadSampleError', 'describe_sample']


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
