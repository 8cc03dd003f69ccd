"""Induction Circuits: the toolkit shared by the curriculum's notebooks.

Submodules are imported on first use (``induction_circuits.model`` pulls in
TransformerLens, which takes seconds), so ``import induction_circuits`` is cheap.
"""
from importlib import import_module

__version__ = "0.1.0"

_SUBMODULES = ("data", "model", "plotting", "scores", "setup", "training", "views")


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
