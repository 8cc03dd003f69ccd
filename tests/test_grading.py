"""The release matches its sources, and nbgrader grades it fairly."""
import hashlib
import json

import nbformat
import pytest

from grader.course import Course, assignments
from nbtools import (RELEASE, SOLUTIONS, auto_graded_points, nbgrader, read, solution_sources,
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
    "03_train_induction_model": ("per_token_loss", """
def per_token_loss(logits, tokens):
    # forgets the shift: compares each position's logits with its own token
    return F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
""", "test_per_token_loss"),
}


def _normalised(nb):
    return json.loads(json.dumps(nb, sort_keys=True))


def test_every_assignment_has_a_release_and_a_wrong_answer_fixture():
    assert assignments(), "no source notebooks found in solutions/"
    assert sorted(p.stem for p in RELEASE.glob("*.ipynb")) == assignments()
    assert set(WRONG_ANSWERS) == set(assignments())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("course"))


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


@pytest.mark.parametrize("assignment", assignments())
def test_solutions_score_full_marks_and_the_release_scores_zero(course, tmp_path, assignment):
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    solved = _grade(course, tmp_path, assignment, "solver", student_submission(assignment))
    assert solved == points
    untouched = _grade(course, tmp_path, assignment, "untouched",
                       student_submission(assignment, solved=False))
    assert untouched == {name: 0.0 for name in points}


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
    written = {nbgrader(c)["grade_id"] for c in source.cells
               if c.cell_type == "markdown" and nbgrader(c).get("grade")}
    assert written and {c.name for c in grade.cells if c.needs_manual_grade} == written


def test_export_writes_one_row_per_student(course, tmp_path):
    rows = course.export_rows()
    students = {row["student"] for row in rows}
    assert {"solver", "untouched"} <= students
    solver = next(row for row in rows if row["student"] == "solver")
    assert solver[assignments()[0]] > 0


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
