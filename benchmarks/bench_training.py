"""How fast does the toy model get the genuine induction circuit?

For each seed, trains with the toolkit (``induction_circuits.training.train``)
until the finish line of ``has_genuine_circuit`` (25+25 loss after the repeat
below 0.1 and a layer-0 previous-token head above 0.8), checked every 25 steps,
and reports steps and seconds. In the same run it trains a plain-PyTorch
implementation of the same model from the same initial weights on the same
batches with the same recipe and checks, so the two differ only in the
machinery: the ratio of their times per step is the toolkit's overhead.

    python benchmarks/bench_training.py [--seeds 0 1 2]

Timings are medians over seeds and only mean anything as ratios within one run.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from induction_circuits.data import periodic_tokens
from induction_circuits.model import make_model
from induction_circuits.scores import scores_from_patterns
from induction_circuits.training import (INDUCTION_RECIPE, evaluation_batches, has_genuine_circuit,
                                         train)


class PlainAttentionOnly(nn.Module):
    """The toy architecture in plain PyTorch: embeddings, causal attention layers, unembedding."""

    def __init__(self, n_layers=2, n_heads=4, d_model=64, d_head=16, d_vocab=64, n_ctx=50):
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_head
        self.embed = nn.Embedding(d_vocab, d_model)
        self.pos = nn.Embedding(n_ctx, d_model)
        self.qkv = nn.ModuleList(nn.Linear(d_model, 3 * n_heads * d_head) for _ in range(n_layers))
        self.out = nn.ModuleList(nn.Linear(n_heads * d_head, d_model) for _ in range(n_layers))
        self.unembed = nn.Linear(d_model, d_vocab, bias=False)
        self.register_buffer("mask", torch.ones(n_ctx, n_ctx, dtype=torch.bool).tril(), persistent=False)

    @classmethod
    def copy_of(cls, bridge) -> "PlainAttentionOnly":
        """Same weights as a toolkit model, so both runs start from one point."""
        plain = cls()
        inner = bridge.original_model
        with torch.no_grad():
            plain.embed.weight.copy_(inner.tok_embed.weight)
            plain.pos.weight.copy_(inner.pos.weight)
            for layer, block in enumerate(inner.layers):
                attn = block.attn
                plain.qkv[layer].weight.copy_(torch.cat([attn.q.weight, attn.k.weight, attn.v.weight]))
                plain.qkv[layer].bias.copy_(torch.cat([attn.q.bias, attn.k.bias, attn.v.bias]))
                plain.out[layer].weight.copy_(attn.o.weight)
                plain.out[layer].bias.copy_(attn.o.bias)
            plain.unembed.weight.copy_(inner.head.weight)
        return plain

    def forward(self, tokens, return_patterns=False):
        batch, seq = tokens.shape
        x = self.embed(tokens) + self.pos(torch.arange(seq, device=tokens.device))
        patterns = []
        for qkv, out in zip(self.qkv, self.out):
            q, k, v = qkv(x).view(batch, seq, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
            pattern = scores.masked_fill(~self.mask[:seq, :seq], float("-inf")).softmax(-1)
            patterns.append(pattern)
            x = x + out((pattern @ v).transpose(1, 2).reshape(batch, seq, -1))
        logits = self.unembed(x)
        return (logits, patterns) if return_patterns else logits


def plain_run(model: PlainAttentionOnly, recipe, seed: int, eval_every: int = 25):
    """The same loop as the toolkit's, written out; returns (steps, seconds)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr,
                                  weight_decay=recipe.weight_decay, fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: recipe.lr_factor(i + 1))
    generator = torch.Generator().manual_seed(seed)
    batches = evaluation_batches("cpu")
    test, other = batches["25+25"], batches["20+20"]
    start = time.perf_counter()
    for step in range(1, recipe.steps + 1):
        data = recipe.data_at(step)
        tokens = periodic_tokens(recipe.batch_size, data.periods, recipe.seq_len,
                                 generator=generator, alphabet=data.alphabet)
        logits = model(tokens)
        loss = F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % eval_every == 0:
            # The same measurements the toolkit logs, so only the machinery differs.
            with torch.no_grad():
                logits, patterns = model(test, return_patterns=True)
                losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), test[:, 1:], reduction="none")
                second = losses[:, 25:].mean().item()
                other_logits = model(other)
                F.cross_entropy(other_logits[:, :-1].transpose(1, 2), other[:, 1:])
                scores = scores_from_patterns(torch.stack(patterns), test)
            if second < 0.1 and scores["previous"][0].max().item() > 0.8:
                return step, time.perf_counter() - start
    return None, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    recipe = INDUCTION_RECIPE
    print(f"recipe: {recipe}\ntorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print(f"{'seed':>4} {'toolkit steps':>14} {'s':>6} {'plain steps':>12} {'s':>6}")
    rows = []
    for seed in args.seeds:
        model = make_model(seed=seed)
        plain = PlainAttentionOnly.copy_of(model)
        start = time.perf_counter()
        log = train(model, recipe, seed=seed, progress=False, stop_when=has_genuine_circuit)
        toolkit = (log.steps[-1] if has_genuine_circuit(log) else None, time.perf_counter() - start)
        baseline = plain_run(plain, recipe, seed)
        rows.append((toolkit, baseline))
        print(f"{seed:>4} {str(toolkit[0]):>14} {toolkit[1]:>6.1f} {str(baseline[0]):>12} {baseline[1]:>6.1f}")

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    t_steps, t_secs = median([r[0][0] for r in rows]), median([r[0][1] for r in rows])
    p_steps, p_secs = median([r[1][0] for r in rows]), median([r[1][1] for r in rows])
    per_step = [r[0][1] / r[0][0] / (r[1][1] / r[1][0]) for r in rows if r[0][0] and r[1][0]]
    print(f"\nmedian toolkit: {t_steps} steps, {t_secs:.1f} s ({1000 * t_secs / t_steps:.1f} ms/step)")
    print(f"median plain:   {p_steps} steps, {p_secs:.1f} s ({1000 * p_secs / p_steps:.1f} ms/step)")
    print(f"toolkit / plain time per step: {median(per_step):.2f}x "
          f"(target <= 1.3x; finish line: median < 1000 steps and < 15 s)")


if __name__ == "__main__":
    main()
