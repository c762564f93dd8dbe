"""take_rows: the data workers' row gather equals index_select."""
import numpy as np
import pytest
import torch

from projects.pimae.pimae.datasets.transforms._take_rows import take_rows


@pytest.mark.parametrize('layout', ['row-major', 'column-major', 'grad'])
def test_equal_to_index_select(layout):
    tensor = torch.randn(500, 6)
    if layout == 'column-major':
        tensor = tensor.t().contiguous().t()
    if layout == 'grad':
        tensor.requires_grad_(True)
    indices = np.random.default_rng(0).permutation(500)[:123]
    out = take_rows(tensor, indices)
    expected = tensor.index_select(0, torch.from_numpy(indices))
    assert out.shape == (123, 6) and out.dtype == tensor.dtype
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert out.requires_grad == (layout == 'grad')
    if layout == 'row-major':
        out[0, 0] = 1e6  # a copy, not a view of the input
        assert tensor.max() < 1e6
