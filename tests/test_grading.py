"""The release matches its sources, and nbgrader grades it fairly."""
import csv
import hashlib
import json

import nbformat
import pytest

from grader.execute import kernels
from grader.course import POSITIONAL_ID, Course, assignments, source_notebook, write_source_notebook
from nbtools import (RELEASE, SOLUTIONS, answer, answers, auto_graded_points, metadata, read,
                     solution_sources, student_submission)

pytestmark = pytest.mark.slow

# An exercise answered wrongly, for each assignment: (grade_id of the exercise,
# wrong code, grade_id of its test cell). The code is in tests/answers/<assignment>/.
WRONG_ANSWERS = {assignment: (exercise, answer(assignment, exercise, "wrong"), test_cell) for assignment, exercise, test_cell in [
    ("01_logit_lens", "lens_accuracy", "test_lens_accuracy"),
    ("02_qk_ov_circuits", "composition_score", "test_composition_score"),
    ("03_train_induction_model", "per_token_loss", "test_per_token_loss"),
    ("04_head_scores", "induction_score", "test_induction_score"),
    ("05_attention_heatmaps", "dominant_offset", "test_dominant_offset"),
    ("06_ablation", "mean_ablate_head", "test_mean_ablate_head"),
]}


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
    regenerated = course.release(assignment, out_dir=tmp_path, solutions_dir=tmp_path / "solutions")
    assert _normalised(read(regenerated)) == _normalised(read(RELEASE / f"{assignment}.ipynb")), \
        f"notebooks/{assignment}.ipynb is stale: run `python -m grader release`"


@pytest.mark.parametrize("assignment", assignments())
def test_source_notebooks_are_what_their_text_generates(assignment, tmp_path):
    """solutions/<a>.ipynb is generated from solutions/<a>.py, the one place it is written."""
    regenerated = write_source_notebook(assignment, tmp_path)
    assert _normalised(read(regenerated)) == _normalised(read(SOLUTIONS / f"{assignment}.ipynb")), \
        f"solutions/{assignment}.ipynb differs from solutions/{assignment}.py: run `python -m grader release`"


def test_a_grade_id_that_numbers_its_cell_is_refused(tmp_path):
    """A grade id is the gradebook's key: ``code_07`` would mean another cell once one is inserted."""
    text = (SOLUTIONS / "01_logit_lens.py").read_text()
    assert text.count('"grade_id": "code_setup"') == 1
    (tmp_path / "01_logit_lens.py").write_text(text.replace('"grade_id": "code_setup"', '"grade_id": "code_07"'))
    with pytest.raises(ValueError, match="'code_07' numbers the cell"):
        source_notebook("01_logit_lens", tmp_path)
    ids = [metadata(c)["grade_id"] for a in assignments() for c in source_notebook(a).cells]
    assert ids and not [i for i in ids if POSITIONAL_ID.fullmatch(i)]


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
    """Each code cell's printed text, errors and the kinds of what it displayed, in the graded notebook."""
    graded = read(course.root / "autograded" / student / assignment / f"{assignment}.ipynb")
    return [(metadata(c).get("grade_id"), "".join(o.text for o in c.outputs if o.get("name") == "stdout"),
             [(o.ename, o.evalue) for o in c.outputs if o.output_type == "error"],
             [sorted(o.data) for o in c.outputs if o.output_type in ("display_data", "execute_result")])
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
    # kernel started as a process of its own, preloading nothing, grader.execute.kernels), every
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
    from grader.reports.export import write_csv

    write_csv(course.db_url, tmp_path / "grades.csv")
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    students = {row["student"] for row in rows}
    assert {"solver", "untouched"} <= students
    solver = next(row for row in rows if row["student"] == "solver")
    assert float(solver[assignments()[0]]) > 0


def test_warnings_and_progress_bars_on_stderr_do_not_cost_points(course, tmp_path):
    assignment = "03_train_induction_model"
    noisy = answer(assignment, "make_repeated_batch", "noisy")
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    scores = _grade(course, tmp_path, assignment, "noisy",
                    student_submission(assignment, answers={"make_repeated_batch": noisy}))
    assert scores == points


def test_a_lens_that_does_not_recompute_the_final_norm_fails_where_it_matters(course, tmp_path):
    """Without recompute_ln, every depth is scaled by the last stream's norm, and the final
    LayerNorm's weight and bias are left out: wrong on GPT-2, right on the toy model."""
    assignment = "01_logit_lens"
    default = answer(assignment, "logit_lens", "without_recompute_ln")
    scores = _grade(course, tmp_path, assignment, "no_recompute",
                    student_submission(assignment, answers={"logit_lens": default}))
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    assert scores == {**points, "test_logit_lens": 0.0}


# Correct answers written differently from the sources' solutions: the hidden tests must
# accept any correct implementation, however it is written (tests/answers/<assignment>/).
ALTERNATIVE_ANSWERS = {assignment: answers(assignment, "another_way") for assignment in assignments()}


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
