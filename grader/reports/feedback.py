"""Each student's feedback page, from the gradebook.

Written here rather than by nbgrader's ``generate_feedback``, which shows the hidden tests'
code and tracebacks: a page holds each exercise's points and the failed test's error
message (unless it quotes a hidden test), a grader's comments, and nothing else.
"""
from __future__ import annotations

import functools
import html
import itertools
import re
from pathlib import Path

import nbformat

from .._cells import HIDDEN_TESTS
from ..course import SOLUTIONS, assignments
from .export import Row, gradebook_rows

MESSAGE_CAP = 500    # characters of a failure message shown: a page stays small


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
