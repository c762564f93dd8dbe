# Copyright (c) OpenMMLab. All rights reserved.
"""A CPU stand-in for mmcv's CUDA point ops, to test the glue around them.

mmcv 2.1's ``furthest_point_sample`` and ``knn`` run only on CUDA. The fakes
below reproduce their calling convention and output layout (int32 indices;
``knn`` returns (B, k, M), ascending by distance with an arbitrary order among
ties), so the conversion, transposition and re-sorting in the ops are tested
on every machine.
"""
import importlib
import sys
import types

import pytest
import torch


def _check_kernel_input(*tensors):
    for tensor in tensors:
        assert tensor.dtype == torch.float32, 'mmcv kernels take float32'
        assert tensor.is_contiguous(), 'mmcv kernels need contiguous input'


def _fake_furthest_point_sample(points_xyz, num_points):
    _check_kernel_input(points_xyz)
    xyz = points_xyz.double()
    batch = torch.arange(xyz.shape[0])
    min_sq = torch.full(xyz.shape[:2], float('inf'), dtype=xyz.dtype)
    chosen = [torch.zeros(xyz.shape[0], dtype=torch.long)]
    for _ in range(num_points - 1):
        sq = (xyz - xyz[batch, chosen[-1]][:, None]).square().sum(-1)
        min_sq = torch.minimum(min_sq, sq)
        chosen.append(min_sq.argmax(dim=1))
    return torch.stack(chosen, dim=1).int()


def _fake_knn(k, xyz, center_xyz=None, transposed=False):
    assert not transposed
    _check_kernel_input(xyz, center_xyz)
    sq = (center_xyz[:, :, None].double() - xyz[:, None].double())
    sq = sq.square().sum(-1)
    # Keep a k-set, then order it by (distance ascending, index descending):
    # a valid heap-sort output that differs from the required tie order.
    idx = sq.sort(dim=-1, stable=True).indices[..., :k].flip(-1)
    sq_k = sq.gather(-1, idx)
    order = sq_k.sort(dim=-1, stable=True).indices
    return idx.gather(-1, order).int().transpose(1, 2).contiguous()


@pytest.fixture
def fake_mmcv_ops(monkeypatch):
    """Make the ops take their mmcv branch, served by the CPU fakes.

    Returns:
        list[str]: Names of the fake kernels called, in call order.
    """
    calls = []

    def record(name, fn):

        def wrapper(*args):
            calls.append(name)
            return fn(*args)

        return wrapper

    ops_module = types.ModuleType('mmcv.ops')
    ops_module.furthest_point_sample = record('furthest_point_sample',
                                              _fake_furthest_point_sample)
    ops_module.knn = record('knn', _fake_knn)
    package = types.ModuleType('mmcv')
    package.__path__ = []
    package.ops = ops_module
    monkeypatch.setitem(sys.modules, 'mmcv', package)
    monkeypatch.setitem(sys.modules, 'mmcv.ops', ops_module)
    for name in ('furthest_point_sample', 'knn'):
        module = importlib.import_module(f'projects.pimae.pimae.ops.{name}')
        monkeypatch.setattr(module, 'use_mmcv',
                            lambda op, tensor, backend: backend != 'torch')
    return calls
