"""What comes out of the gradebook: the CSV export and each student's feedback page.

The feedback is written here rather than by nbgrader's ``generate_feedback``, which
shows the hidden tests' code and tracebacks: a page holds each exercise's points and the
failed test's error message, and nothing else from the graded notebook.
"""
from __future__ import annotations

import csv
import functools
import html
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ._cells import HIDDEN_TESTS, grade_id
from ._text import spreadsheet_safe
from .course import RELEASE, SOLUTIONS, assignments
from .gradebook import Ledger

PENDING = "pending"  # export value of a written answer that waits for a person
MESSAGE_CAP = 500    # characters of a failure message shown: a page stays small


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
    with Ledger(db_url) as ledger:
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


@functools.cache
def _hidden_lines(assignment: str) -> list[str]:
    """Lines of the hidden tests, to keep any message that quotes them off the page."""
    path = SOLUTIONS / f"{assignment}.ipynb"
    if not path.exists():
        return []
    lines = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        for block in HIDDEN_TESTS.findall(cell.source):
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 12]
    return lines


def _message(row: Row, hidden: list[str]) -> str:
    if row.written:
        if row.pending:
            return f"written answer: graded by hand ({row.max_score:g} points)"
        return "graded by hand" if row.by_hand else "no answer written"
    if row.score >= row.max_score:
        return "passed"
    message = (row.message or "failed")[:MESSAGE_CAP]
    if any(line in message for line in hidden) or "Traceback" in message:
        return "failed (the error message quotes the hidden tests, so it is not shown)"
    return message


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback: {student}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse;width:100%;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
td.points{{white-space:nowrap}} tr.lost td{{background:#fff0f0}}
.comment{{margin-top:.4em;padding:.3em .6em;border-left:3px solid #88a;white-space:pre-wrap}}</style></head>
<body><h1>Feedback for {student}</h1>
{sections}</body></html>
"""


def feedback_html(student: str, rows: list[Row]) -> str:
    sections = []
    for assignment in sorted({row.assignment for row in rows}):
        mine = [row for row in rows if row.assignment == assignment]
        auto = [row for row in mine if not row.written]
        written = [row for row in mine if row.written]
        # Any assignment's: a message may quote another notebook's hidden tests.
        hidden = [line for other in assignments() for line in _hidden_lines(other)]
        lines = "\n".join(
            f'<tr class="{"lost" if not row.written and row.score < row.max_score else "ok"}">'
            f"<td>{html.escape(row.name)}</td>"
            f'<td class="points">{"&ndash;" if row.pending else f"{row.score:g}"} / {row.max_score:g}</td>'
            f"<td>{html.escape(_message(row, hidden))}{_comment(row)}</td></tr>" for row in mine)
        by_hand = ""
        if written:
            waiting = sum(r.max_score for r in written if r.pending)
            by_hand = (f", {sum(r.score for r in written):g} / {sum(r.max_score for r in written):g} "
                       "graded by hand" + (f" ({waiting:g} points not graded yet)" if waiting else ""))
        sections.append(
            f"<h2>{html.escape(assignment)}: {sum(r.score for r in auto):g} / "
            f"{sum(r.max_score for r in auto):g} auto-graded points{by_hand}</h2>\n"
            f"<table><tr><th>exercise</th><th>points</th><th>result</th></tr>\n{lines}</table>")
    return _PAGE.format(student=html.escape(student), sections="\n".join(sections))


def _comment(row: Row) -> str:
    if not row.comment:
        return ""
    return f'<div class="comment"><strong>Grader\'s comment:</strong> {html.escape(row.comment[:4000])}</div>'


def write_feedback(db_url: str, out_dir: Path) -> list[Path]:
    """One HTML page per student, named after the student."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for student, rows in sorted(gradebook_rows(db_url).items()):
        if not rows:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", student).lstrip(".") or "_"
        path = out_dir / f"{stem}.html"
        taken = {page.name.casefold() for page in written}
        for n in itertools.count(2):  # names that differ only in punctuation (or case, on a
            if path.name.casefold() not in taken:  # case-insensitive disk) get a page each
                break
            path = out_dir / f"{stem}-{n}.html"
        path.write_text(feedback_html(student, rows), encoding="utf-8")
        written.append(path)
    return written
