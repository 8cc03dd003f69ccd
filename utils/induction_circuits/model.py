"""The toy induction model: boot it, save it, load it.

A 2-layer, 4-head, attention-only transformer with no LayerNorm, built by
TransformerLens 4's native source so it has every hook and weight view
(``W_Q``, ``W_OV``, ``run_with_cache``...) that GPT-2 small has, with no hub.

Checkpoints hold a JSON-like config and a tensor state dict, saved with
``torch.save`` and read back with ``weights_only=True``: loading a file never
runs code from it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

TOY_CONFIG: dict[str, Any] = dict(
    n_layers=2,
    n_heads=4,
    d_model=64,
    d_head=16,
    d_vocab=64,
    n_ctx=50,
    attn_only=True,
    normalization_type=None,
    positional_embedding_type="standard",
)

CHECKPOINT_FORMAT = 1
_DATA = Path(__file__).parent / "data"
SHIPPED_CHECKPOINTS = {
    "induction": _DATA / "induction_model.pt",
    "shortcut": _DATA / "shortcut_model.pt",
}
OWN_CHECKPOINT_NAME = "my_induction_model.pt"


def make_model(seed: int = 0, device: torch.device | str | None = None, **overrides: Any):
    """A freshly initialised toy model (a ``TransformerBridge``) on ``device``."""
    # Imported here: transformer_lens takes seconds to import, and the data,
    # plotting and checkpoint-path helpers should not pay for it.
    import transformer_lens.model_bridge.sources.native  # noqa: F401  registers boot_native
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    config = TransformerBridgeConfig(**{**TOY_CONFIG, **overrides, "seed": seed})
    model = TransformerBridge.boot_native(config)
    return model.to(device, print_details=False) if device is not None else model


def model_config(model) -> dict[str, Any]:
    """The fields of ``TOY_CONFIG`` as this model has them (plain Python values)."""
    return {key: getattr(model.cfg, key) for key in TOY_CONFIG}


def save_checkpoint(model, path: str | Path, **meta: Any) -> Path:
    """Save config, weights and JSON-like ``meta`` (e.g. the recipe) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.original_model.state_dict().items()}
    payload = {"format": CHECKPOINT_FORMAT, "config": model_config(model),
               "state_dict": state, "meta": meta}
    torch.save(payload, path)
    return path


def load_checkpoint(path: str | Path, device: torch.device | str | None = None):
    """Load a model saved by ``save_checkpoint``; its ``meta`` is on ``model.checkpoint_meta``."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an induction_circuits checkpoint")
    model = make_model(device=device, **payload["config"])
    model.original_model.load_state_dict(payload["state_dict"])
    model.eval()
    model.checkpoint_meta = payload["meta"]
    return model


def own_checkpoint_path() -> Path:
    """Where notebook 3 saves the learner's model (``$INDUCTION_CIRCUITS_HOME`` overrides)."""
    home = os.environ.get("INDUCTION_CIRCUITS_HOME")
    root = Path(home) if home else Path.home() / ".cache" / "induction_circuits"
    return root / OWN_CHECKPOINT_NAME


# A saved model carries the induction circuit when, on a small fixed batch of 20+20 repeats
# (a period the positional shortcut cannot copy), some layer-0 head scores at least this as a
# previous-token head and some later head as an induction head. A trained model scores about
# 0.96 and 0.8 to 0.9; an untrained one, or one whose training stopped after a few steps,
# below 0.1.
CIRCUIT_MIN_SCORE = 0.5


def circuit_strength(model) -> tuple[float, float]:
    """``(previous, induction)``: the best layer-0 previous-token score and the best induction
    score of the later layers, on 8 fixed 20+20 sequences (a few milliseconds on a CPU)."""
    from .data import periodic_tokens
    from .scores import circuit_scores

    device = next(model.parameters()).device
    tokens = periodic_tokens(8, 20, 40, generator=torch.Generator().manual_seed(0), device=device)
    scores = circuit_scores(model, tokens)
    return scores["previous"][0].max().item(), scores["induction"][1:].max().item()


def load_trained_model(device: torch.device | str | None = None, prefer_own: bool = True):
    """The learner's model from notebook 3 if it exists and carries the induction circuit,
    else the shipped one; prints one line that says which (and why, when it passes the
    learner's model over)."""
    own = own_checkpoint_path()
    if prefer_own and own.exists():
        model = load_checkpoint(own, device)
        previous, induction = circuit_strength(model)
        if previous >= CIRCUIT_MIN_SCORE and induction >= CIRCUIT_MIN_SCORE:
            print(f"Loaded your model from notebook 3 ({own}).")
            return model
        print(f"Warning: your model from notebook 3 ({own}) has not learned the induction circuit "
              f"(best previous-token score {previous:.2f}, best induction score {induction:.2f}; "
              f"was its training cut short?), so the shipped trained model is used instead.")
        return load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)
    print("Loaded the shipped trained model"
          + (" (train your own in notebook 3 to use it here)." if prefer_own else "."))
    return load_checkpoint(SHIPPED_CHECKPOINTS["induction"], device)
