"""The fast paths of a PiMAE training step, checked on the CPU.

* No host-device synchronisation inside ``model.loss`` and the backward
  pass: on a CPU nothing really synchronises, so the Python entry points
  that read a tensor's values on the host (``item``, ``tolist``, ``cpu``,
  ``numpy``, ``bool`` / ``int`` / ``float`` / ``index`` conversions,
  ``nonzero``, ``masked_select``, ``unique`` and boolean-mask indexing,
  whose output shape depends on the data) are made to raise, except at the
  call sites listed in :data:`ALLOWED_SYNCS` with their reasons.
* bfloat16 autocast (``--amp``): the forward runs in bfloat16, the losses
  are float32 and close to the float32 losses.
"""
import contextlib
import os.path as osp
import traceback

import pytest
import torch

from ._helpers import build_model, make_batch

PACKAGE = osp.join('projects', 'pimae', 'pimae')

#: Host reads allowed in a training step: (file under the package, function)
#: of the innermost project frame of the read, and why it may stay.
ALLOWED_SYNCS = {
    (osp.join('ops', '_validation.py'), 'check_cloud'):
    'the NaN / Inf check of the FPS and KNN inputs (check_finite=True in '
    'ops/furthest_point_sample.py and ops/knn.py): bool() on CPU tensors '
    'only; CUDA tensors are checked on the device (torch._assert_async)',
    (osp.join('ops', 'knn.py'), '_candidates_torch'):
    'the tie check of the pure-torch KNN, the CPU path; on a GPU the '
    'mmcv kernel (_candidates_mmcv) runs instead',
}


class HostSyncError(AssertionError):
    """A tensor's values were read on the host."""


def _project_frame():
    """(file under the package, function, line) of the innermost frame of
    the project's code in the current stack, or None."""
    for frame in reversed(traceback.extract_stack()):
        path = osp.normpath(frame.filename)
        if PACKAGE in path:
            rel = path.split(PACKAGE + osp.sep, 1)[1]
            return rel, frame.name, frame.lineno
    return None


def _is_bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index, )
    return any(
        isinstance(item, torch.Tensor) and item.dtype == torch.bool
        for item in items)


@contextlib.contextmanager
def forbid_host_sync(allowed=ALLOWED_SYNCS, seen=None):
    """Raise :class:`HostSyncError` when a non-empty tensor is read on the
    host outside ``allowed``; record the allowed reads in ``seen``."""
    seen = [] if seen is None else seen
    patches = []

    def check(name, tensor):
        if not isinstance(tensor, torch.Tensor) or tensor.numel() == 0:
            return
        where = _project_frame()
        if where is not None and where[:2] in allowed:
            seen.append((name, ) + where)
            return
        raise HostSyncError(
            f'{name} reads a tensor {tuple(tensor.shape)} on the host at '
            f'{where or "a frame outside the project"}:\n' +
            ''.join(traceback.format_stack(limit=8)))

    def method(name):
        original = getattr(torch.Tensor, name)

        def guarded(self, *args, **kwargs):
            check(f'Tensor.{name}', self)
            return original(self, *args, **kwargs)

        patches.append((torch.Tensor, name, original))
        setattr(torch.Tensor, name, guarded)

    def function(name):
        original = getattr(torch, name)

        def guarded(input, *args, **kwargs):
            check(f'torch.{name}', input)
            return original(input, *args, **kwargs)

        patches.append((torch, name, original))
        setattr(torch, name, guarded)

    for name in ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__int__',
                 '__float__', '__index__', 'nonzero', 'masked_select',
                 'unique'):
        method(name)
    for name in ('nonzero', 'masked_select', 'unique'):
        function(name)
    getitem = torch.Tensor.__getitem__

    def guarded_getitem(self, index):
        if _is_bool_index(index):
            check('boolean-mask indexing', self)
        return getitem(self, index)

    patches.append((torch.Tensor, '__getitem__', getitem))
    torch.Tensor.__getitem__ = guarded_getitem
    try:
        yield seen
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)


def test_guard_catches_host_reads():
    """The guard itself: each kind of read raises, empty tensors do not."""
    x = torch.arange(4.)
    reads = [
        lambda: x.sum().item(), lambda: bool(x.any()), lambda: float(x[0]),
        lambda: x.tolist(), lambda: x.cpu(), lambda: torch.nonzero(x),
        lambda: x[x > 1], lambda: int(x[1]), lambda: range(10)[x.long()[1]]
    ]
    with forbid_host_sync():
        for read in reads:
            with pytest.raises(HostSyncError):
                read()
        assert torch.empty(0).tolist() == []
    # restored afterwards
    assert x.sum().item() == 6. and x[x > 1].tolist() == [2., 3.]


def test_training_step_does_not_read_tensors_on_the_host():
    torch.manual_seed(0)
    model = build_model(
        backbone=dict(masker=dict(image_mask_type='complement')))
    inputs, samples = make_batch()
    with forbid_host_sync() as seen:
        losses = model.loss(inputs, samples)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        total.backward()
    # the reads that remain are the listed ones only (and the guard saw
    # the model run: the finite checks of FPS and KNN are among them)
    assert {(rel, func) for _, rel, func, _ in seen} <= set(ALLOWED_SYNCS)
    assert any(rel.endswith('_validation.py') for _, rel, _, _ in seen)
    assert torch.isfinite(total)


def test_masker_split_reads_nothing_on_the_host():
    """``split_by_mask`` used to read the mask count with ``int()``."""
    from projects.pimae.pimae.models.utils import CrossModalMasker
    masker = CrossModalMasker()
    center = torch.randn(3, 20, 3)
    with forbid_host_sync(allowed={}):
        masks = masker(center, (4, 6), 16)
    assert masks['pts_ids_mask'].shape == (3, 12)
    assert masks['pts_ids_keep'].shape == (3, 8)
    assert masks['pts_mask'].gather(1, masks['pts_ids_mask']).all()
    assert not masks['pts_mask'].gather(1, masks['pts_ids_keep']).any()


#: relative tolerance of a bfloat16-autocast loss against the float32 loss
#: of the same model and batch (bfloat16 has 8 mantissa bits: 2 ** -8 =
#: 0.4 % per rounding; the losses average many terms)
BF16_RTOL = 2e-2


def test_bf16_autocast_step_has_float32_losses_near_fp32():
    torch.manual_seed(0)
    model = build_model()
    inputs, samples = make_batch()
    dtypes = {}

    def record(name):

        def hook(module, args, out):
            dtypes[name] = out.dtype

        return hook

    model.neck.img_decoder_pred.register_forward_hook(record('img_pred'))
    model.backbone.pts_encoder.layers[0].linear1.register_forward_hook(
        record('pts_ffn'))
    torch.manual_seed(1)
    reference = model.loss(inputs, samples)
    dtypes.clear()
    torch.manual_seed(1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    # the network ran in bfloat16 ...
    assert dtypes == dict(img_pred=torch.bfloat16, pts_ffn=torch.bfloat16)
    # ... the losses are float32 and close to those of float32
    for key, value in losses.items():
        assert value.dtype == torch.float32, key
        torch.testing.assert_close(
            value, reference[key], rtol=BF16_RTOL, atol=1e-6, msg=key)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    for name, param in model.named_parameters():
        assert param.dtype == torch.float32, name
        assert param.grad is not None and param.grad.dtype == torch.float32
        assert torch.isfinite(param.grad).all(), name
