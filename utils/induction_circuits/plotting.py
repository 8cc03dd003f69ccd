"""Plots a learner would rather look at than read: training curves and head scores."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from .training import TrainingLog


def head_names(n_layers: int, n_heads: int) -> list[str]:
    return [f"L{layer}H{head}" for layer in range(n_layers) for head in range(n_heads)]


def plot_training(log: TrainingLog, title: str = "Training", chance: float = math.log(64)):
    """Loss curves (left) and each head's previous-token and induction scores (right).

    Sharing the step axis is the point: the drop in loss after the repeat and
    the rise of the circuit's scores happen together (the phase change).
    """
    fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(12, 4), sharex=True)
    ax_loss.plot(log.steps, log.first_half, label="25+25, before the repeat")
    ax_loss.plot(log.steps, log.second_half, label="25+25, after the repeat")
    ax_loss.plot(log.steps, log.other_period, label="20+20, after the repeat", linestyle="--")
    ax_loss.axhline(chance, color="grey", linewidth=0.8, linestyle=":", label="ln 64 (chance)")
    ax_loss.set(xlabel="step", ylabel="loss (nats)", title=f"{title}: loss")
    ax_loss.legend(fontsize=8)

    previous, induction = log.score_history("previous"), log.score_history("induction")
    n_layers, n_heads = previous.shape[1:]
    colors = plt.get_cmap("tab10")
    for layer in range(n_layers):
        for head in range(n_heads):
            color = colors(layer * n_heads + head)
            name = f"L{layer}H{head}"
            ax_score.plot(log.steps, previous[:, layer, head], color=color, label=f"{name} prev")
            ax_score.plot(log.steps, induction[:, layer, head], color=color, linestyle="--",
                          label=f"{name} ind")
    ax_score.set(xlabel="step", ylabel="score", ylim=(0, 1.02),
                 title=f"{title}: previous-token (solid) and induction (dashed)")
    ax_score.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def plot_head_scores(scores: dict[str, torch.Tensor], title: str = "Head scores"):
    """Grouped bar chart: one group per head, one bar per score."""
    names = list(scores)
    n_layers, n_heads = scores[names[0]].shape
    labels = head_names(n_layers, n_heads)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for i, name in enumerate(names):
        xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, scores[name].flatten().tolist(), width=width, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.axvline(n_heads - 0.5, color="grey", linewidth=0.8)
    ax.set(ylim=(0, 1.02), ylabel="score", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
