"""A tiny model, dataset and metric of the tests' own, registered into mmdet3d's registries.

They exercise the tools (train / resume / distributed) without the cost of the
PiMAE model: a linear regression with a BatchNorm, so that optimizer state,
scheduler state and buffers all matter for resume equivalence.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from mmdet3d.registry import DATASETS, METRICS, MODELS


@DATASETS.register_module()
class ToyRegressionDataset(Dataset):
    """``num_samples`` fixed random (x, y) pairs with ``y = x @ w + noise``."""

    def __init__(self, num_samples: int = 32, dim: int = 4, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(num_samples, dim, generator=generator)
        weight = torch.randn(dim, 1, generator=generator)
        self.y = self.x @ weight + 0.01 * torch.randn(
            num_samples, 1, generator=generator)
        self.metainfo = dict(name='toy')

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=self.x[index], data_samples=self.y[index])


@MODELS.register_module()
class ToyRegressor(BaseModel):
    """BatchNorm + Linear regressor returning an MSE loss."""

    def __init__(self, dim: int = 4, data_preprocessor: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.norm = nn.BatchNorm1d(dim)
        self.linear = nn.Linear(dim, 1)

    def forward(self,
                inputs: List[torch.Tensor],
                data_samples: Optional[List[torch.Tensor]] = None,
                mode: str = 'tensor') -> Union[Dict, torch.Tensor]:
        pred = self.linear(self.norm(torch.stack(inputs)))
        if mode == 'loss':
            target = torch.stack(data_samples)
            return dict(loss_mse=nn.functional.mse_loss(pred, target))
        if mode == 'predict':
            return [
                dict(pred=p, target=t) for p, t in zip(pred, data_samples)
            ]
        return pred


@METRICS.register_module()
class ToyMSEMetric(BaseMetric):
    """Mean squared error of :class:`ToyRegressor`'s predictions."""

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append(
                float((sample['pred'] - sample['target']).pow(2).sum()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mse=sum(results) / max(1, len(results)))
