"""The solution notebooks run top to bottom on a CPU, offline, and show what they promise."""
import math
import re

import pytest
import torch
from nbclient import NotebookClient

from induction_circuits.data import periodic_tokens
from induction_circuits.model import OWN_CHECKPOINT_NAME, load_checkpoint
from induction_circuits.scores import circuit_scores
from induction_circuits.training import next_token_losses
from nbtools import SOLUTIONS, read

pytestmark = pytest.mark.slow


def execute(name, tmp_path, monkeypatch):
    monkeypatch.setenv("INDUCTION_CIRCUITS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # Behaviour, not speed: one thread keeps the run steady if another process is busy.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    notebook = read(SOLUTIONS / f"{name}.ipynb")
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return notebook


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stdout")


def loss_report(notebook, marker):
    """{period: loss} printed by the first cell whose source contains ``marker``."""
    cell = next(c for c in notebook.cells if c.cell_type == "code" and marker in c.source)
    found = re.findall(r"(\d+)\+\d+: loss after the repeat ([\d.]+)", stdout(cell))
    return {int(period): float(loss) for period, loss in found}


def test_notebook_1_finds_the_answer_only_after_layer_1(tmp_path, monkeypatch):
    notebook = execute("01_logit_lens", tmp_path, monkeypatch)
    text = "".join(stdout(c) for c in notebook.cells if c.cell_type == "code")
    assert text.count(": True") == 3, "the stream decomposes into its parts, and matches TransformerLens's"
    accuracy = [float(x) for x in re.findall(r"top-1 accuracy on the repeat: ([\d.]+)", text)]
    assert len(accuracy) == 3 and accuracy[0] < 0.1 and accuracy[1] < 0.1 and accuracy[2] > 0.9
    assert "skipping this extra" in text, "offline, the GPT-2 section says so and moves on"


def test_notebook_2_reads_the_circuit_from_the_weights(tmp_path, monkeypatch):
    notebook = execute("02_qk_ov_circuits", tmp_path, monkeypatch)
    text = "".join(stdout(c) for c in notebook.cells if c.cell_type == "code")
    ov_layer_1 = [float(x) for x in re.search(r"layer 1 OV top-1 diagonal accuracy per head: \[(.*)\]", text).group(1).split(",")]
    assert min(ov_layer_1) > 0.6 and max(ov_layer_1) > 0.95, "the layer-1 heads copy"
    composed = [float(x) for x in re.findall(r"previous token at the key, top-1 diagonal accuracy ([\d.]+)", text)]
    assert composed == [1.0] * 4, "every induction head matches its token against L0H1's output"
    baseline = float(re.search(r"random baseline: ([\d.]+)", text).group(1))
    assert 0.1 < baseline < 0.15
    assert "skipping this extra" in text


def test_notebook_3_trains_the_shortcut_then_the_genuine_circuit(tmp_path, monkeypatch):
    notebook = execute("03_train_induction_model", tmp_path, monkeypatch)

    shortcut = loss_report(notebook, "loss_after_repeat(shortcut_model, period):")
    assert shortcut[25] < 0.1, "the 25+25-only model solves 25+25"
    assert shortcut[15] > math.log(64) and shortcut[20] > math.log(64), \
        "and fails on other periods, worse than guessing"

    genuine = loss_report(notebook, "loss_after_repeat(model, period):")
    assert all(loss < 0.3 for loss in genuine.values()), genuine

    model = load_checkpoint(tmp_path / "home" / OWN_CHECKPOINT_NAME)
    tokens = periodic_tokens(128, 20, 40, generator=torch.Generator().manual_seed(9))
    scores = circuit_scores(model, tokens)
    assert scores["previous"][0].max() > 0.8, "a layer-0 previous-token head"
    assert scores["induction"][1].max() > 0.7, "a layer-1 induction head, on a period of 20"
    with torch.no_grad():
        assert next_token_losses(model(tokens), tokens)[:, 20:].mean() < 0.3
