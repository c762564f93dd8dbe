# Copyright (c) OpenMMLab. All rights reserved.
"""Hook the CPU kernels into mmcv's point ops, where every caller sees them.

mmdet3d binds the ops at import time: ``from mmcv.ops import
furthest_point_sample`` in ``vote_head.py``, ``gather_points`` /
``QueryAndGroup`` in the PointNet++ layers, ``points_in_boxes_all`` in
``base_box3d.py``. Replacing ``mmcv.ops.furthest_point_sample`` afterwards
would not reach those copies, and replacing the compiled ``ext_module``
functions is not enough either: the Python wrappers allocate their outputs
with ``torch.cuda.IntTensor`` or call ``torch.cuda.current_device()`` before
they reach the extension. So the hooks sit on the objects that every binding
shares:

* the ops that are ``torch.autograd.Function`` subclasses (FPS, ball query,
  gather, grouping, three_nn, three_interpolate) are bound as
  ``SomeFunction.apply``, which looks ``forward`` / ``backward`` up on the
  class at every call: those two staticmethods are replaced by dispatchers;
* ``points_in_boxes_all`` / ``points_in_boxes_part`` are plain functions
  copied by name into mmdet3d's modules: their code object is replaced in
  place by a trampoline that calls a dispatcher, so the one function object
  that all bindings hold changes behaviour.

Every dispatcher sends CPU tensors to :mod:`.kernels` and anything else
(CUDA, or another device mmcv supports) to mmcv's original code, unchanged,
with one exception: CUDA tensors while mmcv has no CUDA kernels (a CPU-only
mmcv wheel on a CUDA build of torch, see ``mmcv_cuda_ops_status`` in
``ops/_mmcv_backend.py``) would reach an extension that cannot run them, so
they go to the same :mod:`.kernels` through a round trip to host memory
(inputs copied to the CPU, outputs back to the input's device), and the
first such call of each op logs a warning that says so.
"""
import functools
import importlib
import types
import warnings
from typing import Callable, List, NamedTuple, Optional, Tuple

from torch import Tensor

from .. import _mmcv_backend
from . import kernels

#: Attribute of a patched callable that holds mmcv's original.
ORIGINAL_ATTR = '_pimae_cpu_original'

#: Prefix of the dispatchers stored in the globals of mmcv's modules.
DISPATCH_PREFIX = '_pimae_cpu_dispatch_'


def _is_cpu(value: object) -> bool:
    """Whether ``value`` is a tensor on the CPU."""
    return isinstance(value, Tensor) and value.device.type == 'cpu'


def _is_cuda(value: object) -> bool:
    """Whether ``value`` is a tensor on a CUDA device."""
    return isinstance(value, Tensor) and value.device.type == 'cuda'


def _cuda_fallback(op: str, value: object) -> bool:
    """Whether a call whose deciding argument is ``value`` must run the CPU
    kernels although ``value`` is not on the CPU: it is a CUDA tensor and
    mmcv has no CUDA kernels. Logs that once per op and process.

    Args:
        op (str): Name of the mmcv op, used in the message.
        value (object): The argument whose device decides.

    Returns:
        bool: True for the CPU kernels through a host round trip.
    """
    if not _is_cuda(value) or _mmcv_backend.mmcv_cuda_ops_available():
        return False
    _mmcv_backend.warn_fallback_once(
        f'mmcv_cpu_backend.{op}',
        f'mmcv.ops.{op}: the input is on {value.device} but mmcv\'s CUDA '
        f'kernels are not available '
        f'({_mmcv_backend.mmcv_cuda_ops_status()[1]}); running the PiMAE '
        'CPU kernels on a copy in host memory (same results, slower). This '
        'is logged once per process.')
    return True


def _to_device(value: object, device) -> object:
    """``value`` with its tensors (also inside tuples / lists) on
    ``device``; anything else unchanged."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(item, device) for item in value)
    return value


def _via_host(impl: Callable, device) -> Callable:
    """``impl`` run on host copies of the tensor arguments, its tensor
    outputs moved to ``device``."""

    def run(*args, **kwargs):
        args = _to_device(args, 'cpu')
        kwargs = {key: _to_device(v, 'cpu') for key, v in kwargs.items()}
        return _to_device(impl(*args, **kwargs), device)

    return run


def _stacked_unsupported(op: str) -> NotImplementedError:
    return NotImplementedError(
        f'{op}: the stacked form (with *_batch_cnt tensors, used by PV-RCNN '
        'style stacked set abstraction) has no CPU version in the PiMAE mmcv '
        'CPU backend; use the batched (B, N, 3) form or a CUDA device')


# --------------------------------------------------------------------------
# CPU forward / backward of the autograd Functions. They keep mmcv's asserts
# and store in ``ctx`` exactly what mmcv's forward stores, so that either
# backward can read it.
# --------------------------------------------------------------------------


def _fps_forward(ctx, points_xyz: Tensor, num_points: int) -> Tensor:
    output = kernels.furthest_point_sample(points_xyz, num_points)
    ctx.mark_non_differentiable(output)
    return output


def _fps_with_dist_forward(ctx, points_dist: Tensor,
                           num_points: int) -> Tensor:
    output = kernels.furthest_point_sample_with_dist(points_dist, num_points)
    ctx.mark_non_differentiable(output)
    return output


def _ball_query_forward(
        ctx,
        min_radius: float,
        max_radius: float,
        sample_num: int,
        xyz: Tensor,
        center_xyz: Tensor,
        xyz_batch_cnt: Optional[Tensor] = None,
        center_xyz_batch_cnt: Optional[Tensor] = None) -> Tensor:
    assert center_xyz.is_contiguous()
    assert xyz.is_contiguous()
    assert min_radius < max_radius
    if xyz_batch_cnt is not None and center_xyz_batch_cnt is not None:
        raise _stacked_unsupported('ball_query')
    idx = kernels.ball_query(min_radius, max_radius, sample_num, xyz,
                             center_xyz)
    ctx.mark_non_differentiable(idx)
    return idx


def _gather_points_forward(ctx, features: Tensor, indices: Tensor) -> Tensor:
    assert features.is_contiguous()
    assert indices.is_contiguous()
    output = kernels.gather_points_forward(features, indices)
    ctx.for_backwards = (indices, features.shape[1], features.shape[2])
    return output


def _gather_points_backward(ctx, grad_out: Tensor) -> Tuple[Tensor, None]:
    indices, _, num_points = ctx.for_backwards
    return kernels.gather_points_backward(grad_out, indices, num_points), None


def _grouping_forward(ctx,
                      features: Tensor,
                      indices: Tensor,
                      features_batch_cnt: Optional[Tensor] = None,
                      indices_batch_cnt: Optional[Tensor] = None) -> Tensor:
    features = features.contiguous()
    indices = indices.contiguous()
    if features_batch_cnt is not None and indices_batch_cnt is not None:
        raise _stacked_unsupported('grouping_operation')
    output = kernels.grouping_forward(features, indices)
    ctx.for_backwards = (indices, features.shape[2])
    return output


def _grouping_backward(ctx, grad_out: Tensor) -> Tuple[Tensor, None]:
    indices, num_points = ctx.for_backwards
    return kernels.grouping_backward(grad_out, indices, num_points), None


def _three_nn_forward(ctx, target: Tensor,
                      source: Tensor) -> Tuple[Tensor, Tensor]:
    dist, idx = kernels.three_nn(target.contiguous(), source.contiguous())
    ctx.mark_non_differentiable(idx)
    return dist, idx


def _three_interpolate_forward(ctx, features: Tensor, indices: Tensor,
                               weight: Tensor) -> Tensor:
    assert features.is_contiguous()
    assert indices.is_contiguous()
    assert weight.is_contiguous()
    output = kernels.three_interpolate_forward(features, indices, weight)
    ctx.three_interpolate_for_backward = (indices, weight, features.shape[2])
    return output


def _three_interpolate_backward(ctx,
                                grad_out: Tensor) -> Tuple[Tensor, None, None]:
    indices, weight, num_source = ctx.three_interpolate_for_backward
    grad = kernels.three_interpolate_backward(grad_out, indices, weight,
                                              num_source)
    return grad, None, None


# --------------------------------------------------------------------------
# Trampolines for the plain functions. Their code runs with the globals of
# mmcv's module, where the dispatcher is stored under the name they call.
# --------------------------------------------------------------------------


def _points_in_boxes_all_trampoline(points, boxes):
    return _pimae_cpu_dispatch_points_in_boxes_all(points, boxes)  # noqa


def _points_in_boxes_part_trampoline(points, boxes):
    return _pimae_cpu_dispatch_points_in_boxes_part(points, boxes)  # noqa


class _FunctionHook(NamedTuple):
    """A replaced ``forward`` or ``backward`` of an autograd Function."""
    op: str
    module: str
    cls: str
    method: str
    cpu_impl: Callable
    #: Position (after ``ctx``) of the argument whose device decides.
    device_arg: int


class _PlainHook(NamedTuple):
    """A plain function whose code is replaced by a trampoline."""
    op: str
    module: str
    name: str
    cpu_impl: Callable
    trampoline: Callable


_FUNCTION_HOOKS = (
    _FunctionHook('furthest_point_sample', 'mmcv.ops.furthest_point_sample',
                  'FurthestPointSampling', 'forward', _fps_forward, 0),
    _FunctionHook('furthest_point_sample_with_dist',
                  'mmcv.ops.furthest_point_sample',
                  'FurthestPointSamplingWithDist', 'forward',
                  _fps_with_dist_forward, 0),
    _FunctionHook('ball_query', 'mmcv.ops.ball_query', 'BallQuery', 'forward',
                  _ball_query_forward, 3),
    _FunctionHook('gather_points', 'mmcv.ops.gather_points', 'GatherPoints',
                  'forward', _gather_points_forward, 0),
    _FunctionHook('gather_points', 'mmcv.ops.gather_points', 'GatherPoints',
                  'backward', _gather_points_backward, 0),
    _FunctionHook('grouping_operation', 'mmcv.ops.group_points',
                  'GroupingOperation', 'forward', _grouping_forward, 0),
    _FunctionHook('grouping_operation', 'mmcv.ops.group_points',
                  'GroupingOperation', 'backward', _grouping_backward, 0),
    _FunctionHook('three_nn', 'mmcv.ops.three_nn', 'ThreeNN', 'forward',
                  _three_nn_forward, 0),
    _FunctionHook('three_interpolate', 'mmcv.ops.three_interpolate',
                  'ThreeInterpolate', 'forward', _three_interpolate_forward,
                  0),
    _FunctionHook('three_interpolate', 'mmcv.ops.three_interpolate',
                  'ThreeInterpolate', 'backward', _three_interpolate_backward,
                  0),
)

_PLAIN_HOOKS = (
    _PlainHook('points_in_boxes_all', 'mmcv.ops.points_in_boxes',
               'points_in_boxes_all', kernels.points_in_boxes_all,
               _points_in_boxes_all_trampoline),
    _PlainHook('points_in_boxes_part', 'mmcv.ops.points_in_boxes',
               'points_in_boxes_part', kernels.points_in_boxes_part,
               _points_in_boxes_part_trampoline),
)


def _import(module_name: str) -> types.ModuleType:
    return importlib.import_module(module_name)


def _hooked_object(hook) -> Tuple[object, str]:
    """The object that a hook patches and the attribute that holds it.

    Args:
        hook (_FunctionHook | _PlainHook): The hook.

    Returns:
        tuple[object, str]: The autograd Function class and ``'forward'`` /
        ``'backward'``, or mmcv's module and the function name.
    """
    module = _import(hook.module)
    if isinstance(hook, _FunctionHook):
        return getattr(module, hook.cls), hook.method
    return module, hook.name


def _original_of(hook) -> Optional[Callable]:
    """mmcv's original callable when ``hook`` is installed, else None (also
    when this mmcv lacks the op)."""
    try:
        owner, name = _hooked_object(hook)
        return getattr(getattr(owner, name), ORIGINAL_ATTR, None)
    except (ImportError, AttributeError):
        return None


def _function_dispatcher(original: Callable, hook: _FunctionHook) -> Callable:
    """Build the staticmethod body that picks the CPU kernel or mmcv's."""
    cpu_impl, device_arg = hook.cpu_impl, hook.device_arg

    @functools.wraps(original)
    def dispatch(ctx, *args, **kwargs):
        if len(args) > device_arg:
            value = args[device_arg]
            if _is_cpu(value):
                return cpu_impl(ctx, *args, **kwargs)
            if _cuda_fallback(hook.op, value):
                return _via_host(cpu_impl, value.device)(ctx, *args, **kwargs)
        return original(ctx, *args, **kwargs)

    setattr(dispatch, ORIGINAL_ATTR, original)
    return dispatch


def _install_function_hook(hook: _FunctionHook) -> bool:
    cls, method = _hooked_object(hook)
    current = getattr(cls, method)
    if getattr(current, ORIGINAL_ATTR, None) is not None:
        return False
    setattr(cls, method, staticmethod(_function_dispatcher(current, hook)))
    return True


def _install_plain_hook(hook: _PlainHook) -> bool:
    module, name = _hooked_object(hook)
    func = getattr(module, name)
    if getattr(func, ORIGINAL_ATTR, None) is not None:
        return False
    code = func.__code__
    expected = hook.trampoline.__code__.co_varnames[:2]
    if func.__closure__ or code.co_varnames[:code.co_argcount] != expected:
        warnings.warn(f'mmcv CPU backend: {hook.module}.{hook.name} does not '
                      f'have the signature {expected} of mmcv 2.1; it keeps '
                      'its CUDA-only behaviour')
        return False
    original = types.FunctionType(code, func.__globals__, func.__name__,
                                  func.__defaults__, func.__closure__)
    original.__kwdefaults__ = func.__kwdefaults__
    original.__doc__ = func.__doc__
    cpu_impl, op = hook.cpu_impl, hook.op

    @functools.wraps(original)
    def dispatch(points, boxes):
        if _is_cpu(points):
            return cpu_impl(points, boxes)
        if _cuda_fallback(op, points):
            return _via_host(cpu_impl, points.device)(points, boxes)
        return original(points, boxes)

    func.__globals__[DISPATCH_PREFIX + hook.name] = dispatch
    renamed = {'co_name': code.co_name}
    if hasattr(code, 'co_qualname'):
        renamed['co_qualname'] = code.co_qualname
    func.__code__ = hook.trampoline.__code__.replace(**renamed)
    setattr(func, ORIGINAL_ATTR, original)
    return True


def register_mmcv_cpu_ops() -> List[str]:
    """Run mmcv's CUDA-only point ops on CPU tensors (idempotent).

    After this call, ``furthest_point_sample``,
    ``furthest_point_sample_with_dist``, ``ball_query`` (hence
    ``QueryAndGroup``), ``gather_points``, ``grouping_operation``,
    ``three_nn``, ``three_interpolate``, ``points_in_boxes_all`` and
    ``points_in_boxes_part`` of ``mmcv.ops`` accept CPU tensors, through every
    name they are bound to (including the names mmdet3d's modules imported
    before this call). CPU tensors go to PyTorch / NumPy kernels with the
    semantics of mmcv's CUDA kernels; CUDA tensors go to mmcv's kernels as
    before, or, where mmcv has no CUDA kernels, to the same CPU kernels
    through host memory, with a warning logged once per op. Importing
    ``projects.pimae.pimae`` calls it; users of plain mmdet3d call it once,
    e.g. at the top of their config's ``custom_imports`` module or script.

    Returns:
        list[str]: Names of the ops that this call hooked; empty when they
        were hooked already.
    """
    try:
        _import('mmcv.ops')
    except ImportError as error:
        warnings.warn('mmcv CPU backend: mmcv.ops is not importable '
                      f'({error}); nothing to hook')
        return []
    hooked = []
    for hook in _FUNCTION_HOOKS + _PLAIN_HOOKS:
        try:
            if isinstance(hook, _FunctionHook):
                done = _install_function_hook(hook)
            else:
                done = _install_plain_hook(hook)
        except (ImportError, AttributeError) as error:
            warnings.warn(f'mmcv CPU backend: {hook.op} is not hooked, this '
                          f'mmcv differs from 2.1 ({error!r})')
            continue
        if done and hook.op not in hooked:
            hooked.append(hook.op)
    return hooked


def unregister_mmcv_cpu_ops() -> List[str]:
    """Undo :func:`register_mmcv_cpu_ops`: mmcv's original code again.

    Returns:
        list[str]: Names of the ops restored; empty when none was hooked.
    """
    restored = []
    for hook in _FUNCTION_HOOKS + _PLAIN_HOOKS:
        original = _original_of(hook)
        if original is None:
            continue
        owner, name = _hooked_object(hook)
        if isinstance(hook, _FunctionHook):
            setattr(owner, name, staticmethod(original))
        else:
            func = getattr(owner, name)
            func.__code__ = original.__code__
            delattr(func, ORIGINAL_ATTR)
            func.__globals__.pop(DISPATCH_PREFIX + name, None)
        if hook.op not in restored:
            restored.append(hook.op)
    return restored


def mmcv_cpu_ops_registered() -> bool:
    """Whether every op of the backend is currently hooked.

    Returns:
        bool: True after :func:`register_mmcv_cpu_ops` (and before
        :func:`unregister_mmcv_cpu_ops`).
    """
    return all(
        _original_of(hook) is not None
        for hook in _FUNCTION_HOOKS + _PLAIN_HOOKS)
