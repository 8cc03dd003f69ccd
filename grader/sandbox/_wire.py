"""What a sandboxed call may send back to the trusted kernel, and how it is read.

The child encodes its result as a tree of tagged nodes holding only plain data
(numbers, strings, tensors), sent as JSON plus raw tensor bytes: the parent never
unpickles anything, and rebuilds the few richer types the exercises return
(FactoredMatrix, matplotlib figures, generators) with its own code.
"""
from __future__ import annotations

import json
import sys
import types

import torch

from . import _figures

PLAIN = (type(None), bool, int, float, str, bytes)
# The dtypes a result may name, by name: an allow-list, so that a forged result cannot name any
# other attribute of torch (a function, a module, a lazily imported submodule) for the
# grader to fetch. (vars: getattr would run torch's module __getattr__, which imports.)
DTYPES = {str(v).removeprefix("torch."): v for v in vars(torch).values() if isinstance(v, torch.dtype)}
MAX_DEPTH = 50


class Undecodable(TypeError):
    """A value of a kind the grader cannot carry out of the sandbox."""


def dumps(tree) -> bytes:
    """A JSON header for the structure, then each tensor's raw bytes: no pickle at all."""
    tensors, specs = [], []

    def plain(node):
        if isinstance(node, torch.Tensor):
            flat = node.detach().cpu().clone().reshape(-1)
            tensors.append(flat)
            specs.append([str(flat.dtype).removeprefix("torch."), list(node.shape),
                          flat.numel() * flat.element_size()])
            return {"tensor": len(tensors) - 1}
        if isinstance(node, bytes):
            return {"bytes": node.hex()}
        if isinstance(node, tuple):
            return {"tuple": [plain(n) for n in node]}
        if isinstance(node, list):
            return [plain(n) for n in node]
        if isinstance(node, dict):
            return {"dict": [[plain(k), plain(v)] for k, v in node.items()]}
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise Undecodable(f"cannot send a {type(node).__name__}")

    blob = json.dumps({"tree": plain(tree), "tensors": specs}).encode()
    return b"".join([len(blob).to_bytes(8, "little"), blob]
                    + [t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
                       for t in tensors])


def loads(data: bytes):
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    offset, tensors = 8 + size, []
    for dtype, shape, nbytes in header["tensors"]:
        dtype = DTYPES.get(dtype) if isinstance(dtype, str) else None
        if dtype is None or nbytes < 0 or offset + nbytes > len(data):
            raise Undecodable("malformed tensor")
        flat = torch.frombuffer(bytearray(data[offset:offset + nbytes]), dtype=torch.uint8) if nbytes else \
            torch.empty(0, dtype=torch.uint8)
        tensors.append(flat.view(dtype).reshape(shape) if nbytes else torch.empty(shape, dtype=dtype))
        offset += nbytes

    def build(node):
        if isinstance(node, list):
            return [build(n) for n in node]
        if isinstance(node, dict):
            (kind, value), = node.items()
            if kind == "tensor":
                return tensors[value]
            if kind == "bytes":
                return bytes.fromhex(value)
            if kind == "tuple":
                return tuple(build(n) for n in value)
            if kind == "dict":
                return {build(k): build(v) for k, v in value}
            raise Undecodable(f"unknown node {kind!r}")
        return node

    return build(header["tree"])


def encode(value, args: dict | None = None, depth: int = 0):
    """``args``: the call's arguments by position or name; returning one comes back as itself."""
    if depth > MAX_DEPTH:
        raise Undecodable("a value nested too deeply")
    for key, arg in (args or {}).items():
        if value is arg and not isinstance(value, PLAIN):
            return ("arg", key)
    sub = lambda v: encode(v, args, depth + 1)  # noqa: E731
    if isinstance(value, PLAIN):
        return ("v", value)
    if isinstance(value, complex):
        return ("complex", value.real, value.imag)
    if isinstance(value, torch.Tensor):
        return ("t", value.detach().clone(), value.requires_grad)
    if isinstance(value, torch.Size):
        return ("size", list(value))
    if isinstance(value, (torch.dtype, torch.device)):
        return (type(value).__name__, str(value))
    if isinstance(value, torch.Generator):
        return ("generator", value.get_state(), str(value.device))
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if isinstance(value, (list, tuple)) and all(type(v) in PLAIN for v in value):
        return ("vlist" if isinstance(value, list) else "vtuple", list(value))  # fast: RNG states
    if isinstance(value, (list, tuple)):
        return ("list" if isinstance(value, list) else "tuple", [sub(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(sub(k), sub(v)) for k, v in value.items()])
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray) and value.dtype != object:
        return ("ndarray", torch.from_numpy(value.copy()))
    if numpy is not None and isinstance(value, numpy.generic):
        return ("npscalar", value.dtype.str, value.item())
    kind = type(value).__name__
    if kind == "FactoredMatrix":
        return ("factored", value.A.detach().clone(), value.B.detach().clone())
    if kind == "Figure":
        return ("figure", _figures.summarise(value))
    if kind == "Axes" or kind == "AxesSubplot":
        return ("axes", _figures.summarise(value.figure), value.figure.axes.index(value))
    if callable(value):
        return ("callable",)
    raise Undecodable(f"the grader cannot take a {kind} out of your code: return tensors, numbers, "
                      "strings, lists, tuples, dicts, FactoredMatrix or matplotlib figures")


def decode(node, args: dict | None = None):
    tag = node[0]
    sub = lambda n: decode(n, args)  # noqa: E731
    if tag == "v":
        return node[1]
    if tag == "arg":
        return args[node[1]]
    if tag == "complex":
        return complex(node[1], node[2])
    if tag == "t":
        return node[1].requires_grad_(node[2]) if node[1].is_floating_point() else node[1]
    if tag == "size":
        return torch.Size(node[1])
    if tag == "dtype":
        if not isinstance(node[1], str) or node[1].removeprefix("torch.") not in DTYPES:
            raise Undecodable(f"unknown dtype {node[1]!r}")
        return DTYPES[node[1].removeprefix("torch.")]
    if tag == "device":
        return torch.device(node[1])
    if tag == "generator":
        generator = torch.Generator(device=node[2])
        generator.set_state(node[1])
        return generator
    if tag == "module":
        if node[1] in sys.modules:  # never import on the trusted side what student code names
            return sys.modules[node[1]]
        raise Undecodable(f"module {node[1]} is not loaded by the notebook")
    if tag in ("vlist", "vtuple"):
        return node[1] if tag == "vlist" else tuple(node[1])
    if tag in ("list", "tuple"):
        items = [sub(n) for n in node[1]]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        return {sub(k): sub(v) for k, v in node[1]}
    if tag == "ndarray":
        return node[1].numpy()
    if tag == "npscalar":
        import numpy
        return numpy.dtype(node[1]).type(node[2])
    if tag == "factored":
        from transformer_lens.FactoredMatrix import FactoredMatrix
        return FactoredMatrix(node[1], node[2])
    if tag in ("figure", "axes"):
        figure = _figures.rebuild(node[1])
        return figure if tag == "figure" else figure.axes[node[2]]
    raise Undecodable(f"unknown result tag {tag!r}")
