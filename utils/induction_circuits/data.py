"""Random token sequences that repeat: the task every notebook studies.

A sequence is a random block of ``period`` tokens tiled to fill ``seq_len``
positions. With ``period=25, seq_len=50`` that is the classic 25+25 task; with
a period drawn per row from a range it is the varied-period data that makes
the model learn a genuine induction circuit (notebook 3 explains why).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch

D_VOCAB = 64

# 16 consonants x 4 vowels = 64 pronounceable two-letter labels ("ba", "be", ...),
# short enough for heatmap ticks and distinct enough to spot a repeat by eye.
_CONSONANTS = "bdfghjklmnprstvz"
_VOWELS = "aeio"
TOKEN_LABELS = [c + v for c in _CONSONANTS for v in _VOWELS]

Periods = Union[int, Sequence[int], torch.Tensor]


def periodic_tokens(
    batch_size: int,
    periods: Periods,
    seq_len: int = 50,
    d_vocab: int = D_VOCAB,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return ``[batch_size, seq_len]`` int64 tokens, each row a repeated random block.

    ``periods`` is one period for every row (an int), an inclusive ``(low, high)``
    range to draw each row's period from, or a tensor of ``batch_size`` periods.
    Sampling happens on the CPU with ``generator``, so a seed gives the same
    tokens on every device.
    """
    if isinstance(periods, int):
        low = high = periods
        period = torch.full((batch_size, 1), periods)
    elif isinstance(periods, torch.Tensor):
        period = periods.reshape(batch_size, 1).cpu()
        low, high = period.min().item(), period.max().item()
    else:
        low, high = periods
        period = torch.randint(low, high + 1, (batch_size, 1), generator=generator)
    if not 1 <= low <= high <= seq_len:
        raise ValueError(f"periods must lie in [1, {seq_len}], got {periods!r}")
    block = torch.randint(0, d_vocab, (batch_size, seq_len), generator=generator)
    tiled = block.gather(1, torch.arange(seq_len).unsqueeze(0) % period)
    return tiled.to(device) if device is not None else tiled


def token_labels(tokens: torch.Tensor | Sequence[int]) -> list[str]:
    """Readable labels for a 1-D sequence of token ids (for plots and circuitsvis)."""
    ids = tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)
    return [TOKEN_LABELS[i] for i in ids]
