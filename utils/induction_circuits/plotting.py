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


def draw_induction_circuit():
    """A schematic of the two-head induction circuit on the sequence ``... A B ... A``.

    Below the tokens: layer 0's previous-token head copies A into B's position. Above:
    layer 1's induction head, at the second A, matches its query ("I hold A") against
    that key ("my previous token is A"), which is K-composition, and copies B.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    tokens = ["x", "A", "B", "y", "z", "A", "?"]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for i, token in enumerate(tokens):
        highlight = {1: "#fde0c5", 2: "#c6dbef", 5: "#fde0c5"}.get(i, "white")
        ax.add_patch(FancyBboxPatch((i - 0.35, -0.3), 0.7, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=highlight, edgecolor="black"))
        ax.text(i, 0, token, ha="center", va="center", fontsize=14)
        ax.text(i + 0.3, 0.42, f"pos {i}", ha="center", va="center", fontsize=8, color="grey")

    def arrow(start, end, bend, color, label, label_y):
        # Arrows run right to left: a positive bend arcs above the boxes, a negative below.
        y = 0.35 if bend > 0 else -0.35
        ax.add_patch(FancyArrowPatch((start, y), (end, y),
                                     connectionstyle=f"arc3,rad={bend}", arrowstyle="-|>",
                                     mutation_scale=15, color=color, linewidth=2))
        ax.text((start + end) / 2, label_y, label, ha="center", va="center", fontsize=9, color=color)

    arrow(2, 1, -0.6, "tab:blue", "layer 0, previous-token head: B's position reads A\n"
          "and writes \"my previous token is A\" into its stream", -1.2)
    arrow(5, 2, 0.45, "tab:red", "layer 1, induction head at the second A: its query \"I hold A\"\n"
          "matches the key \"my previous token is A\" (K-composition); its OV copies B", 1.45)
    ax.text(6, 0.55, "predict B", ha="center", fontsize=9, color="tab:red")
    ax.set(xlim=(-0.7, 6.7), ylim=(-1.6, 1.9))
    ax.axis("off")
    fig.tight_layout()
    return fig
