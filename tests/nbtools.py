"""Helpers the notebook and grading tests share: reading nbgrader metadata, making submissions."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def auto_graded_points(nb) -> dict[str, float]:
    """Points of each auto-graded (code) test cell, by grade_id."""
    return {nbgrader(c)["grade_id"]: nbgrader(c)["points"] for c in nb.cells
            if c.cell_type == "code" and nbgrader(c).get("grade") and not nbgrader(c).get("solution")}


def solution_sources(nb) -> dict[str, str]:
    """Source of every cell the student writes in (code exercises and written answers)."""
    return {nbgrader(c)["grade_id"]: c.source for c in nb.cells if nbgrader(c).get("solution")}


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


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
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id not in solutions:
            continue
        if answers and grade_id in answers:
            cell.source = answers[grade_id]
        elif solved:
            cell.source = strip_solution_markers(solutions[grade_id])
    return submission


def graded_scores(course, folder: Path, assignment: str, student: str, notebook) -> tuple[dict, object]:
    """Grade ``notebook`` as ``student``'s through ``course`` (a ``grader.course.Course``):
    each auto-graded test cell's points, and the whole ``NotebookGrade``."""
    path = folder / f"{student}.ipynb"
    nbformat.write(notebook, str(path))
    grade = course.autograde(path, student, assignment)
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    return {c.name: c.score for c in grade.cells if c.name in points}, grade
