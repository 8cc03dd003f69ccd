import math

import matplotlib

matplotlib.use("Agg")

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from induction_circuits.plotting import draw_induction_circuit, plot_head_scores, plot_training  # noqa: E402
from induction_circuits.model import make_model  # noqa: E402
from induction_circuits.training import Recipe, train  # noqa: E402


def test_circuit_diagram_has_the_tokens_and_both_heads():
    fig = draw_induction_circuit()
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    texts = [t.get_text() for t in ax.texts]
    assert len(boxes) == 7 and len(arrows) == 2
    assert texts.count("A") == 2 and "B" in texts and any("K-composition" in t for t in texts)


def test_training_plot_and_score_bars_show_every_head():
    log = train(make_model(seed=0), Recipe(steps=10, batch_size=4), eval_every=5, progress=False)
    fig = plot_training(log)
    loss_ax, score_ax = fig.axes
    assert len(loss_ax.lines) == 4  # two halves of 25+25, 20+20, and the ln 64 line
    assert math.isclose(loss_ax.lines[-1].get_ydata()[0], math.log(64))
    assert len(score_ax.lines) == 2 * 8  # previous-token and induction score of 8 heads
    bars = plot_head_scores({"previous": log.scores["previous"][-1]}).axes[0]
    assert len(bars.patches) == 8
    assert [t.get_text() for t in bars.get_xticklabels()][:2] == ["L0H0", "L0H1"]
