"""The fallback where mmcv's CUDA kernels are absent (CPU-only mmcv wheel on
a CUDA torch), simulated on CPU.

A GPU is faked by the device predicates (``_is_cuda`` of the ops' backend
switch and of the mmcv CPU backend's dispatchers), mmcv's CUDA status by
``mmcv_cuda_ops_status``. The oracle of the results is the pure torch path
(project ops) or the CPU kernels called directly (mmcv backend); the
messages are read from MMEngine's current logger.
"""
import importlib
import logging
import sys
import types

import pytest
import torch
from mmengine.logging import MMLogger

import projects.pimae.pimae  # noqa: F401  (registers the mmcv CPU backend)
from projects.pimae.pimae import ops
from projects.pimae.pimae.ops import _mmcv_backend
from projects.pimae.pimae.ops.mmcv_cpu_backend import kernels, register

mmcv_ops = pytest.importorskip('mmcv.ops')
vote_head = importlib.import_module('mmdet3d.models.dense_heads.vote_head')
point_sa_module = importlib.import_module(
    'mmdet3d.models.layers.pointnet_modules.point_sa_module')
base_box3d = importlib.import_module('mmdet3d.structures.bbox_3d.base_box3d')
fps_module = importlib.import_module('mmcv.ops.furthest_point_sample')

REASON = 'mmcv.ops was compiled without CUDA (simulated)'


class Records(logging.Handler):
    """Collect the WARNING records of a logger."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log(monkeypatch):
    """Messages logged at WARNING through MMEngine's current logger, with
    the once-per-process memory emptied for the test."""
    monkeypatch.setattr(_mmcv_backend, '_WARNED', set())
    logger = MMLogger.get_current_instance()
    handler = Records()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def fake_mmcv_status(monkeypatch, available):
    monkeypatch.setattr(
        _mmcv_backend, 'mmcv_cuda_ops_status', lambda:
        (available, 'compiled with CUDA 12.1' if available else REASON))


@pytest.fixture
def cpu_counts_as_cuda(monkeypatch):
    """Every tensor counts as a CUDA tensor, for both device checks."""
    monkeypatch.setattr(_mmcv_backend, '_is_cuda', lambda tensor: True)
    monkeypatch.setattr(register, '_is_cpu', lambda value: False)
    monkeypatch.setattr(register, '_is_cuda',
                        lambda value: isinstance(value, torch.Tensor))


# --------------------------------------------------------------------------
# The project's ops (use_mmcv)
# --------------------------------------------------------------------------


def test_project_ops_fall_back_to_torch_and_say_so_once(
        monkeypatch, cpu_counts_as_cuda, warnings_log):
    fake_mmcv_status(monkeypatch, False)
    g = torch.Generator().manual_seed(0)
    points = torch.rand((2, 200, 3), generator=g)
    centres = points[:, :16].contiguous()
    expected_fps = ops.furthest_point_sample(points, 16, backend='torch')
    expected_knn = ops.knn(4, points, centres, backend='torch')
    for _ in range(3):
        assert torch.equal(ops.furthest_point_sample(points, 16), expected_fps)
        for got, want in zip(ops.knn(4, points, centres), expected_knn):
            assert torch.equal(got, want)
    assert len(warnings_log) == 2
    fps_message, knn_message = warnings_log
    assert fps_message.startswith('furthest_point_sample: ')
    assert knn_message.startswith('knn: ')
    for message in warnings_log:
        assert REASON in message and 'pure torch path' in message
    # backend='mmcv' still refuses instead of falling back
    with pytest.raises(RuntimeError, match="backend='mmcv'"):
        ops.furthest_point_sample(points, 16, backend='mmcv')


def test_use_mmcv_decisions(monkeypatch, warnings_log):
    points = torch.rand((1, 10, 3))
    # a real CPU tensor: pure torch, nothing to report
    fake_mmcv_status(monkeypatch, True)
    assert not _mmcv_backend.use_mmcv('knn', points, 'auto')
    # a (faked) CUDA tensor with mmcv's CUDA kernels: mmcv, silently
    monkeypatch.setattr(_mmcv_backend, '_is_cuda', lambda tensor: True)
    assert _mmcv_backend.use_mmcv('knn', points, 'auto')
    assert not _mmcv_backend.use_mmcv('knn', points, 'torch')
    assert warnings_log == []
    # without them: torch, reported once
    fake_mmcv_status(monkeypatch, False)
    assert not _mmcv_backend.use_mmcv('knn', points, 'auto')
    assert not _mmcv_backend.use_mmcv('knn', points, 'auto')
    assert len(warnings_log) == 1


@pytest.mark.parametrize('version, available, reason', [
    ('12.1', True, 'compiled with CUDA 12.1'),
    ('not available', False, 'compiled without CUDA'),
    (ImportError('libcudart.so.12: cannot open shared object file'), False,
     'mmcv.ops does not load (ImportError: libcudart.so.12'),
])
def test_mmcv_cuda_status_reasons(monkeypatch, version, available, reason):
    """The probe reads mmcv's compiling CUDA version once a GPU is seen."""

    def get_compiling_cuda_version():
        if isinstance(version, Exception):
            raise version
        return version

    fake_ops = types.ModuleType('mmcv.ops')
    fake_ops.get_compiling_cuda_version = get_compiling_cuda_version
    monkeypatch.setitem(sys.modules, 'mmcv.ops', fake_ops)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    _mmcv_backend.mmcv_cuda_ops_status.cache_clear()
    try:
        status = _mmcv_backend.mmcv_cuda_ops_status()
        assert _mmcv_backend.mmcv_cuda_ops_available() is available
    finally:
        _mmcv_backend.mmcv_cuda_ops_status.cache_clear()
    assert status[0] is available and reason in status[1]
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert _mmcv_backend.mmcv_cuda_ops_status() == (
        False, 'no CUDA device is visible')
    _mmcv_backend.mmcv_cuda_ops_status.cache_clear()


# --------------------------------------------------------------------------
# The mmcv CPU backend's dispatchers
# --------------------------------------------------------------------------


def test_mmcv_ops_on_cuda_without_kernels_run_the_cpu_kernels(
        monkeypatch, cpu_counts_as_cuda, warnings_log):
    fake_mmcv_status(monkeypatch, False)
    g = torch.Generator().manual_seed(1)
    xyz = torch.rand((1, 300, 3), generator=g) * 2
    boxes = torch.tensor([[[1., 1., 0.5, 1., 1., 1., 0.3]]])
    features = torch.rand((1, 4, 300), generator=g, dtype=torch.float64)
    for _ in range(2):
        idx = vote_head.furthest_point_sample(xyz, 32)
        assert torch.equal(idx, kernels.furthest_point_sample(xyz, 32))
        inside = base_box3d.points_in_boxes_all(xyz, boxes)
        assert torch.equal(inside, kernels.points_in_boxes_all(xyz, boxes))
        leaf = features.clone().requires_grad_()
        gathered = point_sa_module.gather_points(leaf, idx)
        assert torch.equal(gathered,
                           kernels.gather_points_forward(features, idx))
        grad = torch.rand(gathered.shape, generator=g, dtype=torch.float64)
        gathered.backward(grad)
        assert torch.equal(
            leaf.grad, kernels.gather_points_backward(grad, idx, 300))
    # one message per op, however often it runs
    ops_named = sorted(m.split(':')[0] for m in warnings_log)
    assert ops_named == [
        'mmcv.ops.furthest_point_sample', 'mmcv.ops.gather_points',
        'mmcv.ops.points_in_boxes_all'
    ]
    assert all(REASON in m and 'host memory' in m for m in warnings_log)


class RecordingExt:
    """Stands in for mmcv's compiled ``ext_module`` and records calls."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


def test_mmcv_ops_on_cuda_with_kernels_stay_with_mmcv(
        monkeypatch, cpu_counts_as_cuda, warnings_log):
    fake_mmcv_status(monkeypatch, True)
    ext = RecordingExt()
    monkeypatch.setattr(fps_module, 'ext_module', ext)
    # mmcv's wrapper allocates with torch.cuda.*Tensor before the kernel
    monkeypatch.setattr(torch.cuda, 'IntTensor',
                        lambda *size: torch.zeros(size, dtype=torch.int32))
    monkeypatch.setattr(torch.cuda, 'FloatTensor',
                        lambda *size: torch.zeros(size))
    vote_head.furthest_point_sample(torch.rand((1, 20, 3)), 4)
    assert ext.calls == ['furthest_point_sampling_forward']
    assert warnings_log == []
