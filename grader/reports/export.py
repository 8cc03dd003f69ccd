"""What comes out of the gradebook: each student's graded cells (``gradebook_rows``, which
the feedback pages and the LMS exports read too) and the course's CSV export."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .._cells import grade_id
from .._text import spreadsheet_safe
from ..course import RELEASE
from ..gradebook import CourseGradebook

PENDING = "pending"  # export value of a written answer that waits for a person


@dataclass
class Row:
    """One graded cell of one student's submission."""
    assignment: str
    name: str
    score: float
    max_score: float
    pending: bool   # waits for manual grading
    written: bool
    message: str | None
    comment: str | None = None  # a grader's, from the formgrader
    by_hand: bool = False  # scored by a grader in the formgrader


def _cell_order(assignment: str) -> dict[str, int]:
    path = RELEASE / f"{assignment}.ipynb"
    if not path.exists():
        return {}
    cells = nbformat.read(str(path), as_version=4).cells
    return {grade_id(c): i for i, c in enumerate(cells)}


def gradebook_rows(db_url: str) -> dict[str, list[Row]]:
    """student -> graded cells of every submission, in notebook order."""
    with CourseGradebook(db_url) as ledger:
        failures = ledger.failures()
        result: dict[str, list[Row]] = {}
        for student in ledger.gradebook.students:
            rows = result.setdefault(student.id, [])
            for submission in sorted(student.submissions, key=lambda s: s.assignment.name):
                name = submission.assignment.name
                order = _cell_order(name)
                messages = failures.get((student.id, name), {})
                for notebook in submission.notebooks:
                    comments = {c.name: c.manual_comment for c in notebook.comments if c.manual_comment}
                    for grade in sorted(notebook.grades,
                                        key=lambda g: (order.get(g.name, len(order)), g.name)):
                        rows.append(Row(name, grade.name, float(grade.score or 0.0),
                                        float(grade.max_score), bool(grade.needs_manual_grade),
                                        grade.cell.cell_type == "markdown", messages.get(grade.name),
                                        comments.get(grade.name), grade.manual_score is not None))
        return result


def write_csv(db_url: str, out: Path) -> int:
    """One row per student; per assignment its total, then each graded cell's score.

    A written answer that waits for a person reads ``pending`` rather than 0; once graded in
    the formgrader, its score, in the total too.
    """
    students = gradebook_rows(db_url)
    columns: list[str] = ["student"]
    table = []
    for student, rows in sorted(students.items()):
        line = {"student": student}
        for row in rows:
            total = f"{row.assignment}"
            line[total] = line.get(total, 0.0) + row.score
            line[f"{row.assignment}:{row.name}"] = PENDING if row.pending else row.score
            for column in (total, f"{row.assignment}:{row.name}"):
                if column not in columns:
                    columns.append(column)
        table.append(line)
    head, rest = columns[:1], columns[1:]
    by_assignment = sorted(rest, key=lambda c: (c.split(":")[0], ":" in c))  # total first
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=head + by_assignment, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in line.items()} for line in table)
    return len(table)
