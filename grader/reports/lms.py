"""Grades as an LMS imports them back: Canvas's gradebook CSV, Moodle's grading worksheet.

Each is keyed by the id the LMS put in the submission file names (kept by ``grade``):

- Canvas ("Import" in the Gradebook): the columns ``Student``, ``ID`` (Canvas's user id,
  which it matches on), ``SIS User ID``, ``SIS Login ID`` and ``Section``, then one column
  per assignment; the second row gives each assignment's points possible. Canvas maps a
  column to an existing assignment in its import preview, or creates one.
- Moodle ("Upload grading worksheet", one per assignment): the columns Moodle's importer
  looks for, ``Identifier`` ("Participant <id>", the id in that assignment's file names),
  ``Grade`` and ``Last modified (grade)`` (all three required), with ``Full name``,
  ``Maximum Grade`` and ``Feedback comments`` (the graders' comments).

A student whose files carried no id is listed with an empty id, never dropped, and the
command says who: the LMS then leaves the row out of its import, or lets you match it. An
id two students claim (a file named to look like another's) is left empty for both, and
said: neither grade may land on the other. Every field is quoted.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .._text import spreadsheet_safe
from ..gradebook import CourseGradebook
from .export import gradebook_rows

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # what Canvas's own export puts in the Student column
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)",
                  "Feedback comments"]
MOODLE_PARTICIPANT = "Participant "  # Moodle's prefix to the id (its string 'hiddenuser')


@dataclass
class Export:
    files: list[Path]
    students: int
    without_id: list[str] = field(default_factory=list)  # listed with an empty id
    claimed: dict[str, list[str]] = field(default_factory=dict)  # an id two students claim -> who (left empty)
    pending: int = 0  # written answers not graded yet: their points are not in the totals


def _grades(db_url: str):
    with CourseGradebook(db_url) as ledger:
        ids = ledger.lms_ids()
    return gradebook_rows(db_url), ids


def _points(rows) -> dict[str, tuple[float, float]]:
    """assignment -> (score, points possible) of one student's submissions."""
    totals: dict[str, list[float]] = {}
    for row in rows:
        total = totals.setdefault(row.assignment, [0.0, 0.0])
        total[0] += row.score
        total[1] += row.max_score
    return {name: (score, possible) for name, (score, possible) in totals.items()}


def _claimed(owners: dict[str, set]) -> dict[str, list[str]]:
    """LMS ids that more than one student holds -> those students."""
    return {lms_id: sorted(who) for lms_id, who in owners.items() if len(who) > 1}


def write_canvas(db_url: str, out: Path) -> Export:
    students, ids = _grades(db_url)
    names = sorted({row.assignment for rows in students.values() for row in rows})
    possible: dict[str, float] = {}
    canvas_ids, owners = {}, {}
    for student, rows in students.items():
        found = {ids[(student, name)] for name in {row.assignment for row in rows} if ids.get((student, name))}
        canvas_ids[student] = found.pop() if len(found) == 1 else ""  # two ids: which is it?
        owners.setdefault(canvas_ids[student], set()).add(student)
    claimed = _claimed({k: v for k, v in owners.items() if k})
    lines, without = [], []
    for student, rows in sorted(students.items()):
        points = _points(rows)
        for name, (_, most) in points.items():
            possible[name] = most
        canvas_id = "" if canvas_ids[student] in claimed else canvas_ids[student]
        if not canvas_id and not canvas_ids[student]:
            without.append(student)
        lines.append([spreadsheet_safe(student), canvas_id, "", "", ""]
                     + [f"{points[name][0]:g}" if name in points else "" for name in names])
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(CANVAS_COLUMNS + names)
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", ""] + [f"{possible[name]:g}" for name in names])
        writer.writerows(lines)
    return Export([Path(out)], len(lines), without, claimed, _pending(students))


def write_moodle(db_url: str, out_dir: Path) -> Export:
    students, ids = _grades(db_url)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Moodle skips a row whose grade it has seen changed after this time: now.
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    owners: dict[tuple, set] = {}
    for (student, name), participant in ids.items():
        if participant and student in students:
            owners.setdefault((name, participant), set()).add(student)
    taken = {key for key, who in owners.items() if len(who) > 1}
    by_assignment: dict[str, list] = {}
    without = set()
    for student, rows in sorted(students.items()):
        for name, (score, most) in _points(rows).items():
            participant = ids.get((student, name))
            if not participant:
                without.add(student)
            elif (name, participant) in taken:
                participant = None
            comments = " | ".join(f"{row.name}: {row.comment}" for row in rows
                                  if row.assignment == name and row.comment)
            by_assignment.setdefault(name, []).append(
                [f"{MOODLE_PARTICIPANT}{participant}" if participant else "", spreadsheet_safe(student),
                 f"{score:g}", f"{most:g}", now, spreadsheet_safe(comments)])
    files = []
    for name, lines in sorted(by_assignment.items()):
        path = out_dir / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow(MOODLE_COLUMNS)
            writer.writerows(lines)
        files.append(path)
    claimed = {f"{participant} ({name})": sorted(owners[name, participant]) for name, participant in sorted(taken)}
    return Export(files, len(students), sorted(without), claimed, _pending(students))


def _pending(students) -> int:
    return sum(row.pending for rows in students.values() for row in rows)
