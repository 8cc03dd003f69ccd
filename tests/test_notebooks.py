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


CURRICULUM = ["01_logit_lens", "02_qk_ov_circuits", "03_train_induction_model",
              "04_head_scores", "05_attention_heatmaps", "06_ablation"]


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory):
    """Every solution notebook, run in order as a learner would: notebook 3 trains and saves
    the model that notebooks 4 to 6 then load from the same home folder."""
    work = tmp_path_factory.mktemp("learner")
    env = {"INDUCTION_CIRCUITS_HOME": str(work / "home"), "MPLBACKEND": "Agg",
           # Behaviour, not speed: one thread keeps the run steady if another process is busy.
           "OMP_NUM_THREADS": "1"}
    executed = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("NBGRADER_EXECUTION", raising=False)
        for name in CURRICULUM:
            notebook = read(SOLUTIONS / f"{name}.ipynb")
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
            executed[name] = notebook
    return work, executed


def text_of(notebook) -> str:
    return "".join(stdout(c) for c in notebook.cells if c.cell_type == "code")


def test_the_curriculum_is_every_source_notebook():
    assert CURRICULUM == sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stdout")


def loss_report(notebook, marker):
    """{period: loss} printed by the first cell whose source contains ``marker``."""
    cell = next(c for c in notebook.cells if c.cell_type == "code" and marker in c.source)
    found = re.findall(r"(\d+)\+\d+: loss after the repeat ([\d.]+)", stdout(cell))
    return {int(period): float(loss) for period, loss in found}


def test_notebook_1_finds_the_answer_only_after_layer_1(curriculum):
    text = text_of(curriculum[1]["01_logit_lens"])
    assert text.count(": True") == 3, "the stream decomposes into its parts, and matches TransformerLens's"
    accuracy = [float(x) for x in re.findall(r"top-1 accuracy on the repeat: ([\d.]+)", text)]
    assert len(accuracy) == 3 and accuracy[0] < 0.1 and accuracy[1] < 0.1 and accuracy[2] > 0.9
    assert "skipping this extra" in text, "offline, the GPT-2 section says so and moves on"


def test_notebook_2_reads_the_circuit_from_the_weights(curriculum):
    text = text_of(curriculum[1]["02_qk_ov_circuits"])
    ov_layer_1 = [float(x) for x in re.search(r"layer 1 OV top-1 diagonal accuracy per head: \[(.*)\]", text).group(1).split(",")]
    assert min(ov_layer_1) > 0.6 and max(ov_layer_1) > 0.95, "the layer-1 heads copy"
    composed = [float(x) for x in re.findall(r"previous token at the key, top-1 diagonal accuracy ([\d.]+)", text)]
    assert composed == [1.0] * 4, "every induction head matches its token against L0H1's output"
    baseline = float(re.search(r"random baseline: ([\d.]+)", text).group(1))
    assert 0.1 < baseline < 0.15
    assert "skipping this extra" in text


def test_notebook_3_trains_the_shortcut_then_the_genuine_circuit(curriculum):
    work, executed = curriculum
    notebook = executed["03_train_induction_model"]

    shortcut = loss_report(notebook, "loss_after_repeat(shortcut_model, period):")
    assert shortcut[25] < 0.1, "the 25+25-only model solves 25+25"
    assert shortcut[15] > math.log(64) and shortcut[20] > math.log(64), \
        "and fails on other periods, worse than guessing"

    genuine = loss_report(notebook, "loss_after_repeat(model, period):")
    assert all(loss < 0.3 for loss in genuine.values()), genuine

    model = load_checkpoint(work / "home" / OWN_CHECKPOINT_NAME)
    tokens = periodic_tokens(128, 20, 40, generator=torch.Generator().manual_seed(9))
    scores = circuit_scores(model, tokens)
    assert scores["previous"][0].max() > 0.8, "a layer-0 previous-token head"
    assert scores["induction"][1].max() > 0.7, "a layer-1 induction head, on a period of 20"
    with torch.no_grad():
        assert next_token_losses(model(tokens), tokens)[:, 20:].mean() < 0.3


def test_notebooks_4_to_6_use_the_model_trained_in_notebook_3(curriculum):
    for name in CURRICULUM[3:]:
        assert "Loaded your model from notebook 3" in text_of(curriculum[1][name]), name


def test_notebook_4_scores_find_the_circuit_and_expose_the_shortcut(curriculum):
    text = text_of(curriculum[1]["04_head_scores"])
    best = {model: [float(x) for x in re.findall(r"25\+25 ([\d.]+), 20\+20 ([\d.]+), 10 random, then 20\+20 ([\d.]+)", line)[0]]
            for model, line in re.findall(r"(your model|shortcut model): best induction score (.*)", text)}
    assert min(best["your model"]) > 0.7, "real induction heads score on every condition"
    shortcut_25, shortcut_20, shortcut_shifted = best["shortcut model"]
    assert shortcut_25 > 0.9 and shortcut_20 < 0.1 and shortcut_shifted < 0.1, \
        "the shortcut out-scores induction on 25+25 and collapses elsewhere"
    comparison = text[text.index("prev (ours)"):]
    rows = {m.group(1): [float(x) for x in m.group(2).split()]
            for m in re.finditer(r"^(L\dH\d)\s+([\d.\s]+?)$", comparison, re.MULTILINE)}
    layer_1 = [rows[f"L1H{h}"] for h in range(4)]
    assert all(ours > 0.7 and 0.4 < theirs < 0.55 for _, _, ours, theirs in layer_1), \
        "head_detector's induction score is about half of ours"
    assert "skipping this extra" in text


def test_notebook_5_classifies_heads_by_their_offset(curriculum):
    text = text_of(curriculum[1]["05_attention_heatmaps"])
    yours, shortcut = text.split("the 25+25-only model")
    offsets = lambda block: {head: (int(a), int(b)) for head, a, b in
                             re.findall(r"(L\dH\d): 25\+25 offset\s+(-?\d+).*?20\+20 offset\s+(-?\d+)", block)}
    yours, shortcut = offsets(yours), offsets(shortcut)
    assert (-1, -1) in [yours[f"L0H{h}"] for h in range(4)], "a previous-token head on both inputs"
    assert all(yours[f"L1H{h}"] == (-24, -19) for h in range(4)), "induction stripes follow the period"
    assert all(shortcut[f"L0H{h}"] == (-24, -24) for h in range(4)), "the shortcut's stripe stays 24 back"


def test_notebook_6_ablation_shows_the_circuit_is_causal(curriculum):
    text = text_of(curriculum[1]["06_ablation"])
    clean, layer_1_removed = (float(x) for x in re.search(
        r"clean:\s+before [\d.]+, after ([\d.]+)\s+all four layer-1 heads removed: before [\d.]+, after ([\d.]+)", text).groups())
    assert clean < 0.3 and layer_1_removed > 3.8, "removing the induction heads returns the loss to chance"
    blind = [float(x) for x in re.search(r"L0H1 removed : layer-1 induction scores \[(.*)\]", text).group(1).split(",")]
    assert max(blind) < 0.2, "without the previous-token head the induction heads lose their target"
    verified = dict(re.findall(r"(\w+ model, \d+\+\d+): verified induction heads (\[.*\])", text))
    assert verified["your model, 20+20"] == str([f"L1H{h}" for h in range(4)])
    assert verified["shortcut model, 20+20"] == "[]" and verified["shortcut model, 25+25"] != "[]", \
        "the verifier is fooled by the shortcut on 25+25 only"
    shortcut = re.search(r"shortcut model : loss after the repeat: clean ([\d.]+) \| all layer-0 heads removed ([\d.]+) "
                         r"\| all layer-1 heads removed ([\d.]+)", text)
    clean, layer_0, layer_1 = (float(x) for x in shortcut.groups())
    assert clean < 0.1 and layer_0 > 3 and layer_1 < 1, "the shortcut lives in layer 0"
