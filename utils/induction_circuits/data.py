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
Alphabet = Union[None, int, Sequence[int]]


def _per_row(value, batch_size: int, limit: int, name: str, generator) -> torch.Tensor:
    """``[batch, 1]`` values: one int for every row, an inclusive (low, high) range drawn
    per row, or a tensor of one value per row; each must lie in [1, limit]."""
    if isinstance(value, torch.Tensor):
        rows = value.reshape(batch_size, 1).cpu()
        low, high = rows.min().item(), rows.max().item()
    else:
        low, high = (value, value) if isinstance(value, int) else value
        rows = torch.randint(low, high + 1, (batch_size, 1), generator=generator)
    if not 1 <= low <= high <= limit:
        raise ValueError(f"{name} must lie in [1, {limit}], got {value!r}")
    return rows


def periodic_tokens(
    batch_size: int,
    periods: Periods,
    seq_len: int = 50,
    d_vocab: int = D_VOCAB,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    alphabet: Alphabet = None,
) -> torch.Tensor:
    """Return ``[batch_size, seq_len]`` int64 tokens, each row a repeated random block.

    ``periods`` is one period for every row (an int), an inclusive ``(low, high)``
    range to draw each row's period from, or a tensor of ``batch_size`` periods.
    ``alphabet`` limits each row's block to that many distinct tokens (an int or a
    range drawn per row; a random subset of the vocabulary); ``None`` uses all.
    Sampling happens on the CPU with ``generator``, so a seed gives the same
    tokens on every device.
    """
    period = _per_row(periods, batch_size, seq_len, "periods", generator)
    if alphabet is None:
        block = torch.randint(0, d_vocab, (batch_size, seq_len), generator=generator)
    else:
        size = _per_row(alphabet, batch_size, d_vocab, "alphabet", generator)
        subsets = torch.rand(batch_size, d_vocab, generator=generator).argsort(dim=1)
        picks = (torch.rand(batch_size, seq_len, generator=generator) * size).long()
        block = subsets.gather(1, picks)
    tiled = block.gather(1, torch.arange(seq_len).unsqueeze(0) % period)
    return tiled.to(device) if device is not None else tiled


def token_labels(tokens: torch.Tensor | Sequence[int]) -> list[str]:
    """Readable labels for a 1-D sequence of token ids (for plots and circuitsvis)."""
    ids = tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)
    return [TOKEN_LABELS[i] for i in ids]
