"""Command line: ``python -m grader {release,autograde,export}``."""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import warnings
from pathlib import Path

from .course import DEFAULT_COURSE, RELEASE, Course, GradingError, assignments


def _course(args) -> Course:
    return Course(args.course, args.db_url)


def _release(args) -> int:
    course = _course(args)
    for assignment in args.assignments or assignments():
        print(f"released {course.release(assignment, args.out)}")
    return 0


def _grade_one(course: Course, args, student: str) -> int:
    assignment = args.assignment or Path(args.submission).stem
    if assignment not in assignments():
        print(f"unknown assignment {assignment!r}; expected one of {assignments()} "
              "(name the file after it, or pass --assignment)", file=sys.stderr)
        return 2
    try:
        grade = course.autograde(Path(args.submission), student, assignment)
    except GradingError as error:
        print(error, file=sys.stderr)
        return 1
    for cell in grade.cells:
        if cell.written:
            status = (f"written answer, graded by hand ({cell.max_score:g} points)"
                      if cell.needs_manual_grade else f"no answer written: 0/{cell.max_score:g}")
        else:
            status = f"{cell.score:g}/{cell.max_score:g}"
            if cell.name in grade.failures:
                status += f"  {grade.failures[cell.name]}"
        print(f"{cell.name:40s} {status}")
    print(f"{'auto-graded total':40s} {grade.auto_score:g}/{grade.auto_max:g} "
          "(written answers not included)")
    return 0


def _autograde(args) -> int:
    return _grade_one(_course(args), args, args.student)


def _check(args) -> int:
    with tempfile.TemporaryDirectory() as scratch:  # a self-check leaves no gradebook behind
        return _grade_one(Course(Path(scratch)), args, "me")


def _export(args) -> int:
    rows = _course(args).export_rows()
    columns = ["student"] + sorted({key for row in rows for key in row} - {"student"})
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} students to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE,
                        help="course folder nbgrader works in (default: %(default)s)")
    parser.add_argument("--db-url", help="gradebook SQLAlchemy URL (default: SQLite in the course)")
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate notebooks/ from solutions/")
    release.add_argument("assignments", nargs="*", help="default: all")
    release.add_argument("--out", type=Path, default=RELEASE)
    release.set_defaults(run=_release)

    autograde = commands.add_parser("autograde", help="grade one submitted notebook")
    autograde.add_argument("submission")
    autograde.add_argument("--student", required=True)
    autograde.add_argument("--assignment", help="default: the file name without .ipynb")
    autograde.set_defaults(run=_autograde)

    check = commands.add_parser("check", help="grade your own notebook against the hidden tests")
    check.add_argument("submission")
    check.add_argument("--assignment", help="default: the file name without .ipynb")
    check.set_defaults(run=_check)

    export = commands.add_parser("export", help="write the gradebook as CSV")
    export.add_argument("--out", default="grades.csv")
    export.set_defaults(run=_export)

    args = parser.parse_args(argv)
    # nbgrader's own use of SQLAlchemy warns on every submission; the warnings are about
    # nbgrader's internals, not the grades, and would bury the report.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
