"""The release matches its sources, and nbgrader grades it fairly."""
import csv
import hashlib
import json

import nbformat
import pytest

from grader import kernels
from grader.course import Course, assignments
from nbtools import (RELEASE, SOLUTIONS, auto_graded_points, metadata, read, solution_sources,
                     student_submission)

pytestmark = pytest.mark.slow

# An exercise answered wrongly, for each assignment: (grade_id of the exercise,
# wrong code, grade_id of its test cell).
WRONG_ANSWERS = {
    "01_logit_lens": ("lens_accuracy", """
def lens_accuracy(lens_logits, tokens, half_len):
    # counts the unpredictable first token of the repeat too
    predictions = lens_logits[:, :, half_len - 1:-1].argmax(-1)
    return (predictions == tokens[:, half_len:]).float().mean((1, 2))
""", "test_lens_accuracy"),
    "02_qk_ov_circuits": ("composition_score", """
def composition_score(W_A, W_B):
    # forgets to normalise
    return torch.linalg.norm(W_A @ W_B).item()
""", "test_composition_score"),
    "03_train_induction_model": ("per_token_loss", """
def per_token_loss(logits, tokens):
    # forgets the shift: compares each position's logits with its own token
    return F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
""", "test_per_token_loss"),
    "04_head_scores": ("induction_score", """
def induction_score(pattern, half_len):
    # looks at the earlier copy itself, not at the token after it
    return torch.diagonal(pattern, offset=-half_len, dim1=-2, dim2=-1)[..., -half_len:].mean(-1)
""", "test_induction_score"),
    "05_attention_heatmaps": ("dominant_offset", """
def dominant_offset(pattern):
    # forgets that offsets count backwards
    seq = pattern.shape[-1]
    mass = torch.stack([torch.diagonal(pattern, offset=-d, dim1=-2, dim2=-1).sum() for d in range(seq)])
    return int(mass.argmax())
""", "test_dominant_offset"),
    "06_ablation": ("mean_ablate_head", """
def mean_ablate_head(z, hook, head):
    # averages over positions instead of over the batch
    z[:, :, head] = z[:, :, head].mean(1, keepdim=True)
    return z
""", "test_mean_ablate_head"),
}


def _normalised(nb):
    return json.loads(json.dumps(nb, sort_keys=True))


def test_every_assignment_has_a_release_and_a_wrong_answer_fixture():
    assert assignments(), "no source notebooks found in solutions/"
    assert sorted(p.stem for p in RELEASE.glob("*.ipynb")) == assignments()
    assert set(WRONG_ANSWERS) == set(assignments())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    # As a batch worker grades: each notebook's kernel a fork of one warm template.
    yield Course(tmp_path_factory.mktemp("course"))
    kernels.stop_template()


@pytest.mark.parametrize("assignment", assignments())
def test_release_is_what_the_sources_generate(course, assignment, tmp_path):
    regenerated = course.release(assignment, out_dir=tmp_path)
    assert _normalised(read(regenerated)) == _normalised(read(RELEASE / f"{assignment}.ipynb")), \
        f"notebooks/{assignment}.ipynb is stale: run `python -m grader release`"


@pytest.mark.parametrize("assignment", assignments())
def test_release_hides_solutions_and_hidden_tests(assignment):
    source = read(SOLUTIONS / f"{assignment}.ipynb")
    release = read(RELEASE / f"{assignment}.ipynb")
    text = json.dumps(release)
    for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "_check_", "_reference_"):
        assert marker not in text, f"{marker!r} leaked into the release"
    for grade_id, code in solution_sources(release).items():
        assert "NotImplementedError" in code or "YOUR ANSWER HERE" in code, grade_id
    assert auto_graded_points(release) == auto_graded_points(source)
    for notebook in (source, release):
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
            "notebooks are committed without outputs"


def _grade(course, tmp_path, assignment, student, notebook):
    path = tmp_path / f"{student}.ipynb"
    nbformat.write(notebook, str(path))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    grade = course.autograde(path, student, assignment)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the submission was modified"
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    return {cell.name: cell.score for cell in grade.cells if cell.name in points}


def _shown(course, assignment, student) -> list:
    """Each code cell's printed text and errors in the graded notebook."""
    graded = read(course.root / "autograded" / student / assignment / f"{assignment}.ipynb")
    return [(metadata(c).get("grade_id"), "".join(o.text for o in c.outputs if o.get("name") == "stdout"),
             [(o.ename, o.evalue) for o in c.outputs if o.output_type == "error"])
            for c in graded.cells if c.cell_type == "code"]


@pytest.mark.parametrize("assignment", assignments())
def test_solutions_score_full_marks_and_the_release_scores_zero(course, tmp_path, assignment):
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    untouched = _grade(course, tmp_path, assignment, "untouched",
                       student_submission(assignment, solved=False))
    assert untouched == {name: 0.0 for name in points}
    # The solutions are graded in a fork of the template the release's kernel came from.
    template = kernels._template
    assert template is not None and template.alive()
    solved = _grade(course, tmp_path, assignment, "solver", student_submission(assignment))
    assert solved == points and kernels._template is template
    # Graded the plain way (no cell run whole in one fork, grader.sandbox.display_cells; a
    # kernel started as a process of its own, preloading nothing, grader.kernels), every
    # cell shows the same.
    shown = _shown(course, assignment, "solver")
    kernels.stop_template()
    config = course.api.config
    saved = config.SandboxStudentCode.fork_display_cells, config.WarmExecute.fork, config.WarmExecute.preload
    config.SandboxStudentCode.fork_display_cells, config.WarmExecute.fork, config.WarmExecute.preload = False, False, []
    try:
        assert _grade(course, tmp_path, assignment, "solver", student_submission(assignment)) == points
        assert kernels._template is None
    finally:
        config.SandboxStudentCode.fork_display_cells, config.WarmExecute.fork, config.WarmExecute.preload = saved
    assert _shown(course, assignment, "solver") == shown


@pytest.mark.parametrize("assignment", assignments())
def test_one_wrong_exercise_loses_only_its_own_points(course, tmp_path, assignment):
    exercise, wrong_code, test_cell = WRONG_ANSWERS[assignment]
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    scores = _grade(course, tmp_path, assignment, "one_wrong",
                    student_submission(assignment, answers={exercise: wrong_code}))
    assert scores == {**points, test_cell: 0.0}


def test_written_answers_wait_for_a_person(course, tmp_path):
    assignment = assignments()[0]
    path = tmp_path / "written.ipynb"
    nbformat.write(student_submission(assignment), str(path))
    grade = course.autograde(path, "writer", assignment)
    source = read(SOLUTIONS / f"{assignment}.ipynb")
    written = {metadata(c)["grade_id"] for c in source.cells
               if c.cell_type == "markdown" and metadata(c).get("grade")}
    assert written and {c.name for c in grade.cells if c.needs_manual_grade} == written
    assert {c.name for c in grade.cells if c.written} == written
    points = auto_graded_points(source)
    assert grade.auto_max == sum(points.values()) and grade.auto_score == grade.auto_max


def test_export_writes_one_row_per_student(course, tmp_path):
    from grader.report import write_csv

    write_csv(course.db_url, tmp_path / "grades.csv")
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    students = {row["student"] for row in rows}
    assert {"solver", "untouched"} <= students
    solver = next(row for row in rows if row["student"] == "solver")
    assert float(solver[assignments()[0]]) > 0


def test_warnings_and_progress_bars_on_stderr_do_not_cost_points(course, tmp_path):
    assignment = "03_train_induction_model"
    noisy = """
import sys, warnings
from tqdm.auto import tqdm

def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):
    warnings.warn("a harmless warning, as torch emits")
    for _ in tqdm(range(3)):
        pass
    print("progress...", file=sys.stderr)
    first = torch.randint(0, d_vocab, (batch_size, half_len), generator=generator)
    return torch.cat([first, first], dim=1)
"""
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    scores = _grade(course, tmp_path, assignment, "noisy",
                    student_submission(assignment, answers={"make_repeated_batch": noisy}))
    assert scores == points


def test_a_lens_that_does_not_recompute_the_final_norm_fails_where_it_matters(course, tmp_path):
    """Without recompute_ln, every depth is scaled by the last stream's norm, and the final
    LayerNorm's weight and bias are left out: wrong on GPT-2, right on the toy model."""
    assignment = "01_logit_lens"
    default = ("def logit_lens(model, cache):\n"
               "    return cache.apply_ln_to_stack(residual_stack(cache)) @ model.W_U + model.b_U\n")
    scores = _grade(course, tmp_path, assignment, "no_recompute",
                    student_submission(assignment, answers={"logit_lens": default}))
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    assert scores == {**points, "test_logit_lens": 0.0}


# Correct answers written differently from the sources' solutions: the hidden tests must
# accept any correct implementation, however it is written.
ALTERNATIVE_ANSWERS = {
    "01_logit_lens": {
        "residual_stack": "def residual_stack(cache):\n    return cache.accumulated_resid()\n",
        "logit_lens": """
def logit_lens(model, cache):
    stack = cache.apply_ln_to_stack(residual_stack(cache), layer=-1, recompute_ln=True)
    return torch.einsum("lbpd,dv->lbpv", stack, model.W_U) + model.b_U
""",
        "lens_accuracy": """
def lens_accuracy(lens_logits, tokens, half_len):
    depth, batch = lens_logits.shape[:2]
    result = torch.zeros(depth)
    for d in range(depth):
        hits = 0
        for b in range(batch):
            for i in range(half_len, 2 * half_len - 1):
                hits += int(lens_logits[d, b, i].argmax() == tokens[b, i + 1])
        result[d] = hits / (batch * (half_len - 1))
    return result
""",
    },
    "02_qk_ov_circuits": {
        "full_ov_circuit": "def full_ov_circuit(model, layer, head):\n    return model.W_E @ model.OV[layer, head] @ model.W_U\n",
        "top1_diagonal_accuracy": """
def top1_diagonal_accuracy(matrix):
    dense = getattr(matrix, "AB", matrix)
    return float((torch.diagonal(dense) == dense.max(-1).values).float().mean())
""",
        "full_qk_circuit": "def full_qk_circuit(model, layer, head):\n    return model.W_E @ model.QK[layer, head] @ model.W_E.T\n",
        "positional_attention": """
def positional_attention(model, layer, head):
    q = torch.einsum("pd,dh->ph", model.W_pos, model.W_Q[layer, head]) + model.b_Q[layer, head]
    k = torch.einsum("pd,dh->ph", model.W_pos, model.W_K[layer, head]) + model.b_K[layer, head]
    scores = torch.einsum("qh,kh->qk", q, k) / model.cfg.d_head ** 0.5
    allowed = torch.tril(torch.ones_like(scores)).bool()
    return torch.where(allowed, scores, torch.tensor(float("-inf"))).softmax(dim=1)
""",
        "composition_score": """
def composition_score(W_A, W_B):
    frob = lambda m: (m ** 2).sum().sqrt()
    return float(frob(W_A @ W_B) / frob(W_A) / frob(W_B))
""",
        "k_composition_scores": """
def k_composition_scores(model):
    return model.all_composition_scores("K")[0, :, 1, :].T
""",
    },
    "03_train_induction_model": {
        "make_repeated_batch": """
def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):
    return torch.randint(d_vocab, (batch_size, half_len), generator=generator).repeat(1, 2)
""",
        "per_token_loss": """
def per_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
""",
        "half_losses": """
def half_losses(logits, tokens, half_len):
    losses = per_token_loss(logits, tokens)
    return losses[:, :half_len].mean(), losses[:, half_len:].mean()
""",
        "train_step": """
def train_step(model, optimizer, tokens):
    optimizer.zero_grad()
    logits = model(tokens)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()
    return float(loss)
""",
    },
    "04_head_scores": {
        "prev_token_score": """
def prev_token_score(pattern):
    queries = torch.arange(1, pattern.shape[-1])
    return pattern[..., queries, queries - 1].mean(-1)
""",
        "duplicate_token_score": """
def duplicate_token_score(pattern, half_len):
    seq = pattern.shape[-1]
    mask = torch.zeros(seq, seq)
    for q in range(seq - half_len, seq):
        mask[q, q - half_len] = 1.0
    return (pattern * mask).sum((-2, -1)) / half_len
""",
        "induction_score": """
def induction_score(pattern, half_len):
    seq = pattern.shape[-1]
    queries = torch.arange(seq - half_len, seq)
    return pattern[..., queries, queries - half_len + 1].sum(-1) / half_len
""",
        "head_scores": """
def head_scores(model, tokens, half_len):
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    out = {"previous": [], "duplicate": [], "induction": []}
    for layer in range(model.cfg.n_layers):
        pattern = cache["pattern", layer]
        out["previous"].append(prev_token_score(pattern).mean(0))
        out["duplicate"].append(duplicate_token_score(pattern, half_len).mean(0))
        out["induction"].append(induction_score(pattern, half_len).mean(0))
    return {name: torch.stack(rows) for name, rows in out.items()}
""",
        "detect_heads": """
def detect_heads(scores, threshold):
    found = [(l, h, scores[l, h].item()) for l, h in (scores >= threshold).nonzero().tolist()]
    found.sort(key=lambda item: -item[2])
    return found
""",
    },
    "05_attention_heatmaps": {
        "plot_attention_grid": """
def plot_attention_grid(patterns, labels=None):
    patterns = patterns.cpu().numpy()
    n_layers, n_heads = patterns.shape[:2]
    fig = plt.figure(figsize=(3 * n_heads, 3 * n_layers))
    for index in range(n_layers * n_heads):
        layer, head = divmod(index, n_heads)
        ax = fig.add_subplot(n_layers, n_heads, index + 1)
        image = ax.matshow(patterns[layer, head], cmap="viridis")
        image.set_clim(0, 1)
        ax.set_title("L%dH%d" % (layer, head))
        if labels:
            ax.set_xticks(list(range(len(labels))))
            ax.set_xticklabels(labels)
            ax.set_yticks(list(range(len(labels))))
            ax.set_yticklabels(labels)
    return fig
""",
        "dominant_offset": """
def dominant_offset(pattern):
    flat = pattern.reshape(-1, *pattern.shape[-2:]).float().cpu()
    seq = flat.shape[-1]
    mass = [0.0] * seq
    for q in range(seq):
        for k in range(q + 1):
            mass[q - k] += float(flat[:, q, k].sum())
    return -max(range(seq), key=lambda d: mass[d])
""",
    },
    "06_ablation": {
        "zero_ablate_head": """
def zero_ablate_head(z, hook, head):
    keep = torch.ones(z.shape[2], device=z.device)
    keep[head] = 0.0
    return z * keep[None, None, :, None]
""",
        "mean_ablate_head": """
def mean_ablate_head(z, hook, head):
    out = z.clone()
    out[:, :, head, :] = z[:, :, head, :].sum(0) / z.shape[0]
    return out
""",
        "ablated_second_half_loss": """
from transformer_lens.utilities import get_act_name

def ablated_second_half_loss(model, tokens, layer, head, method="zero"):
    if method == "zero":
        fn = lambda z, hook: zero_ablate_head(z, hook, head)
    elif method == "mean":
        fn = lambda z, hook: mean_ablate_head(z, hook, head)
    else:
        raise ValueError(method)
    logits = model.run_with_hooks(tokens, fwd_hooks=[(get_act_name("z", layer), fn)])
    half = tokens.shape[1] // 2
    return float(F.cross_entropy(logits[:, half:-1].reshape(-1, logits.shape[-1]), tokens[:, half + 1:].reshape(-1)))
""",
        "ablation_table": """
def ablation_table(model, tokens, half_len, method="zero"):
    logits = model(tokens)
    clean = F.cross_entropy(logits[:, half_len:-1].transpose(1, 2), tokens[:, half_len + 1:]).item()
    table = torch.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            table[layer, head] = ablated_second_half_loss(model, tokens, layer, head, method) - clean
    return table
""",
        "verify_induction_head": """
def verify_induction_head(model, layer, head, half_len):
    device = next(model.parameters()).device
    toks = periodic_tokens(64, half_len, 2 * half_len, generator=torch.Generator().manual_seed(0)).to(device)
    patterns = []
    keep = lambda pattern, hook: patterns.append(pattern[:, head].clone())
    logits = model.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_pattern", keep)])
    queries = torch.arange(half_len, 2 * half_len)
    attention = float(patterns[0][:, queries, queries - half_len + 1].mean())
    def halves(lg):
        losses = per_token_loss(lg, toks)
        return losses[:, :half_len].mean(), losses[:, half_len:].mean()
    first, second = halves(logits)
    ablate = lambda z, hook: zero_ablate_head(z, hook, head)
    first_ablated, second_ablated = halves(model.run_with_hooks(toks, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", ablate)]))
    increase, first_increase = float(second_ablated - second), float(first_ablated - first)
    return {"attention": attention, "loss_increase": increase, "first_half_increase": first_increase,
            "is_induction_head": bool(attention >= 0.4 and increase >= 0.1 and increase > first_increase)}
""",
    },
}


def test_every_exercise_has_an_alternative_answer():
    for assignment in assignments():
        exercises = {grade_id for grade_id, _ in solution_sources(read(SOLUTIONS / f"{assignment}.ipynb")).items()
                     if not grade_id.startswith(("written", "recap"))}
        assert exercises == set(ALTERNATIVE_ANSWERS[assignment]), assignment


@pytest.mark.parametrize("assignment", assignments())
def test_correct_answers_written_another_way_score_full_marks(course, tmp_path, assignment):
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    scores = _grade(course, tmp_path, assignment, "another_way",
                    student_submission(assignment, answers=ALTERNATIVE_ANSWERS[assignment]))
    assert scores == points


def test_grade_command_reports_each_cell_and_a_total_without_written_answers(tmp_path, capsys):
    from grader.__main__ import main

    assignment = "01_logit_lens"
    path = tmp_path / "sub.ipynb"
    nbformat.write(student_submission(assignment, solved=False), str(path))
    assert main(["--course", str(tmp_path / "course"), "autograde", str(path),
                 "--student", "cli", "--assignment", assignment]) == 0
    out = capsys.readouterr().out
    total = sum(auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb")).values())
    assert f"auto-graded total                        0/{total:g}" in out
    assert "no answer written: 0/2" in out
    assert main(["--course", str(tmp_path / "course"), "export", "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().splitlines()[1].startswith('"cli","0.0"')  # every field quoted


def test_check_reports_each_exercise_with_its_message_and_never_the_hidden_tests(tmp_path, capfd):
    from grader.__main__ import main

    assignment = "02_qk_ov_circuits"
    exercise, wrong_code, test_cell = WRONG_ANSWERS[assignment]
    path = tmp_path / f"{assignment}.ipynb"  # named as downloaded: the assignment is the stem
    nbformat.write(student_submission(assignment, answers={exercise: wrong_code}), str(path))
    assert main(["check", str(path)]) == 0
    out, err = capfd.readouterr()  # (the kernel's own output too: it writes to this process's stderr)
    assert "WARNING" not in err and "Traceback" not in err, err  # nothing a user must learn to ignore
    line = next(row for row in out.splitlines() if row.startswith(test_cell))
    assert "0/2" in line and "AssertionError" in line
    assert "full_ov_circuit" in out and "2/2" in out
    for hidden in ("_check_", "_reference_", "BEGIN HIDDEN", "Traceback"):
        assert hidden not in out
