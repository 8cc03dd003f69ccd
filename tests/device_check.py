"""Run in a notebook's kernel (its source is the first cell the installed-toolkit test adds):
finds every tensor a notebook cell or the toolkit makes without ``device=`` that then meets
a model's tensors, which on a GPU fails (notebook 2's mask hint did, on Colab's T4).

On a CPU-only machine everything is on the CPU, so nothing fails: instead each tensor is
tagged. A tensor made by a constructor (``torch.ones``, ``torch.arange``, ...) without
``device=``, called from a notebook cell or the toolkit, is tagged "default"; a model's
parameters, and whatever is computed from them, are "model"; other results inherit their
inputs' tag; ``.to``, ``.cpu`` and ``.cuda`` give an untagged tensor. An operation that gets
a "default" tensor with more than one element and a "model" tensor is reported, with the
line that made the first: on CUDA the two would be on different devices. (A 0-dim tensor,
and an index into another tensor, may stay on the CPU: CUDA accepts those.)
"""
import linecache
import sys

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

_CONSTRUCTORS = {torch.ones, torch.zeros, torch.arange, torch.tensor, torch.randn, torch.full, torch.eye,
                 torch.empty, torch.rand, torch.randint, torch.randperm, torch.linspace, torch.as_tensor}
_MOVES = {torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda}
_INDEXING = {torch.Tensor.__getitem__, torch.Tensor.__setitem__}


def _line(frame):
    name = frame.f_code.co_filename
    return f"{name}:{frame.f_lineno}: {linecache.getline(name, frame.f_lineno).strip()}"


def _caller():
    """Where a constructor was called from, if from a notebook cell or the toolkit: the line
    of the notebook cell it was called from (through the toolkit, perhaps), or the toolkit's."""
    frame = sys._getframe(2)
    while frame and ("/torch/" in frame.f_code.co_filename or "device_check" in frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    first = frame
    if "induction_circuits" not in first.f_code.co_filename and not _in_cell(first):
        return None
    while frame and not _in_cell(frame):
        frame = frame.f_back
    return _line(frame or first)


def _in_cell(frame):
    name = frame.f_code.co_filename
    return "ipykernel_" in name or "<ipython-input" in name


class DeviceCheck(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.found = {}  # where the default tensor was made -> the operation it met a model tensor in

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in _CONSTRUCTORS:
            if kwargs.get("device") is None:
                where = _caller()
                if where and isinstance(out, torch.Tensor):
                    out._device_tag = ("default", where)
            return out
        if func in _MOVES:  # placed explicitly (on a CPU run, .to("cpu") returns the tensor itself)
            if isinstance(out, torch.Tensor) and hasattr(out, "_device_tag"):
                del out._device_tag
            return out
        checked = [args[0], *args[2:]] if func in _INDEXING else [args, kwargs]
        tensors = [t for t in tree_flatten(checked)[0] if isinstance(t, torch.Tensor)]
        model = any(isinstance(t, torch.nn.Parameter) or getattr(t, "_device_tag", None) == ("model",)
                    for t in tensors)
        defaults = [t._device_tag[1] for t in tensors
                    if getattr(t, "_device_tag", ("",))[0] == "default" and t.dim() > 0]
        if model and defaults:
            for where in defaults:
                self.found.setdefault(where, getattr(func, "__name__", str(func)))
        tag = ("model",) if model else (("default", defaults[0]) if defaults else None)
        if tag:
            for result in tree_flatten(out)[0]:
                if isinstance(result, torch.Tensor) and not isinstance(result, torch.nn.Parameter):
                    try:
                        result._device_tag = tag
                    except (AttributeError, RuntimeError):
                        pass
        return out


device_check = DeviceCheck()
device_check.__enter__()
