"""Row gathers of point tensors inside the data pipeline."""
import numpy as np
import torch
from torch import Tensor


def take_rows(tensor: Tensor, indices: np.ndarray) -> Tensor:
    """Return ``tensor[indices]`` as a new tensor.

    ``BasePoints.__getitem__``'s advanced indexing is about 10x slower than
    ``index_select``, and for a row-major CPU tensor numpy's ``take`` is
    about 2x faster again on one thread (20000 of 50000 rows of 6 floats:
    0.09 vs 0.19 ms), so a data worker gathers with numpy.

    Args:
        tensor (Tensor): (N, C) points.
        indices (np.ndarray): (M, ) integer row indices.

    Returns:
        Tensor: (M, C), on ``tensor``'s device.
    """
    if tensor.device.type == 'cpu' and tensor.is_contiguous() \
            and not tensor.requires_grad:
        return torch.from_numpy(tensor.numpy().take(indices, axis=0))
    return tensor.index_select(
        0, torch.as_tensor(indices, device=tensor.device))
