"""Helpers the notebook and grading tests share: reading nbgrader metadata, making submissions."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from grader._cells import metadata, solution_sources, without_solution_markers  # noqa: F401 (for the tests)
from grader.course import RELEASE, REPO, SOLUTIONS  # noqa: F401 (REPO: for the tests)

# Answers the tests hand in, one file each: answers/<assignment>/<exercise>_<case>.py, its
# first line a comment saying what it is ("another_way": correct, written differently from
# the solution; "wrong": loses its own test's points; others: a mistake a visible test names).
ANSWERS = Path(__file__).resolve().parent / "answers"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def answer(assignment: str, exercise: str, case: str) -> str:
    """The code of one answer to ``exercise`` (a grade_id), as a student's cell would hold it."""
    return (ANSWERS / assignment / f"{exercise}_{case}.py").read_text()


def answers(assignment: str, case: str) -> dict[str, str]:
    """Every answer of one ``case`` for ``assignment``, by exercise."""
    suffix = f"_{case}.py"
    return {path.name[:-len(suffix)]: path.read_text()
            for path in sorted((ANSWERS / assignment).glob(f"*{suffix}"))}


def auto_graded_points(nb) -> dict[str, float]:
    """Points of each auto-graded (code) test cell, by grade_id."""
    return {metadata(c)["grade_id"]: metadata(c)["points"] for c in nb.cells
            if c.cell_type == "code" and metadata(c).get("grade") and not metadata(c).get("solution")}


def student_submission(assignment: str, answers: dict[str, str] | None = None,
                       solved: bool = True) -> nbformat.NotebookNode:
    """The release notebook as a student would hand it in.

    ``solved``: fill every exercise with the source's solution; ``answers``
    replaces chosen exercises (by grade_id) with other code.
    """
    release = read(RELEASE / f"{assignment}.ipynb")
    solutions = solution_sources(read(SOLUTIONS / f"{assignment}.ipynb"))
    submission = copy.deepcopy(release)
    for cell in submission.cells:
        grade_id = metadata(cell).get("grade_id")
        if grade_id not in solutions:
            continue
        if answers and grade_id in answers:
            cell.source = answers[grade_id]
        elif solved:
            cell.source = without_solution_markers(solutions[grade_id])
    return submission


def graded_scores(course, folder: Path, assignment: str, student: str, notebook) -> tuple[dict, object]:
    """Grade ``notebook`` as ``student``'s through ``course`` (a ``grader.course.Course``):
    each auto-graded test cell's points, and the whole ``NotebookGrade``."""
    path = folder / f"{student}.ipynb"
    nbformat.write(notebook, str(path))
    grade = course.autograde(path, student, assignment)
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    return {c.name: c.score for c in grade.cells if c.name in points}, grade
