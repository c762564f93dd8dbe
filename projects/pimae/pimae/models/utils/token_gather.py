# Copyright (c) OpenMMLab. All rights reserved.
"""Per-sample token selection."""
import torch
from torch import Tensor


def batched_gather(x: Tensor, ids: Tensor) -> Tensor:
    """Pick ``x[b, ids[b]]`` for every sample ``b``.

    Args:
        x (Tensor): (B, N, ...) tensor with any trailing dimensions.
        ids (Tensor): (B, K) int64 indices into dimension 1.

    Returns:
        Tensor: (B, K, ...).
    """
    batch_index = torch.arange(x.size(0), device=x.device).unsqueeze(1)
    return x[batch_index, ids]
