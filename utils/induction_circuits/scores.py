"""Token-matching attention scores, used to watch the circuit form while training.

These follow TransformerLens's ``head_detector`` definitions (a head's target
keys are fixed by the tokens, not by a known period): previous-token heads
attend to ``q - 1``; duplicate-token heads to earlier copies of the current
token; induction heads to the position just after an earlier copy. Unlike
``head_detector``, a score here averages only over queries that have a target,
so a perfect head scores 1 whatever the period, and it works on a batch.
Notebook 4 has the learner write the period-based versions of these scores.
"""
from __future__ import annotations

import torch

SCORE_NAMES = ("previous", "duplicate", "induction")


def target_masks(tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean ``[batch, q, k]`` masks of the keys each kind of head should attend to."""
    seq_len = tokens.shape[-1]
    earlier = torch.ones(seq_len, seq_len, dtype=torch.bool, device=tokens.device).tril(-1)
    duplicate = (tokens[:, :, None] == tokens[:, None, :]) & earlier
    induction = torch.zeros_like(duplicate)
    induction[:, :, 1:] = duplicate[:, :, :-1]
    previous = torch.ones_like(earlier).tril(-1).triu(-1).expand_as(duplicate)
    return {"previous": previous, "duplicate": duplicate, "induction": induction}


def run_with_patterns(model, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and every head's pattern, ``[n_layers, batch, n_heads, q, k]``, from one pass."""
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens, names_filter=lambda n: n.endswith("hook_pattern"))
    return logits, torch.stack([cache["pattern", layer] for layer in range(model.cfg.n_layers)])


def attention_patterns(model, tokens: torch.Tensor) -> torch.Tensor:
    """Every head's pattern, ``[n_layers, batch, n_heads, q, k]``."""
    return run_with_patterns(model, tokens)[1]


def scores_from_patterns(patterns: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{name: [n_layers, n_heads]}``: mean attention on the targets, over queries that have one."""
    result = {}
    for name, mask in target_masks(tokens).items():
        mask = mask[None, :, None].to(patterns.dtype)  # broadcast over layers and heads
        on_target = (patterns * mask).sum(-1)  # [layers, batch, heads, q]
        has_target = mask.amax(-1).expand_as(on_target)
        result[name] = (on_target.sum((1, 3)) / has_target.sum((1, 3)).clamp(min=1)).cpu()
    return result


def circuit_scores(model, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """Previous-token, duplicate-token and induction score of every head on ``tokens``."""
    return scores_from_patterns(attention_patterns(model, tokens), tokens)
