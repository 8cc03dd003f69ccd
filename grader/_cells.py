"""What a cell is, in nbgrader's terms, and the markers in its source: the one place for both.

The predicates are nbgrader's own (``nbgrader.utils``); ``metadata`` and ``grade_id`` also
take a submitted cell, whose metadata may be anything (``grader.intake`` reads those).
"""
from __future__ import annotations

import re

from nbgrader.utils import is_grade, is_locked, is_solution  # noqa: F401 (for the grader's modules)

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
# A hidden-test region, as nbgrader's ClearHiddenTests finds it (its markers on lines of their own).
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.M | re.S)


def metadata(cell) -> dict:
    """The cell's nbgrader metadata, or {} (for any JSON a file may hold)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    name = metadata(cell).get("grade_id")
    return name if isinstance(name, str) else None


def solution_sources(notebook) -> dict[str, str]:
    """grade_id -> source of every cell the student writes in (exercises and written answers)."""
    return {grade_id(cell): cell.source for cell in notebook.cells if is_solution(cell)}


def without_solution_markers(source: str) -> str:
    """A source solution with its markers dropped: the answer as a student would write it."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


def answered(release, source, answers: dict[str, str] | None = None, solved: bool = True):
    """A copy of the ``release`` notebook as a student hands it in: each cell the student
    writes in answered with ``answers[grade_id]`` if given, else (if ``solved``) with the
    ``source`` notebook's solution."""
    import copy

    solutions = solution_sources(source)
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        name = grade_id(cell)
        if name in solutions and name in (answers or {}):
            cell.source = answers[name]
        elif name in solutions and solved:
            cell.source = without_solution_markers(solutions[name])
    return notebook


def first_error(cell) -> str | None:
    """``Name: message`` of the cell's first error output, if it has one."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.ename}: {output.evalue}"
    return None
