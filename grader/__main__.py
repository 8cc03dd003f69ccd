"""Command line: ``python -m grader {release,check,autograde,grade,formgrade,export,feedback}``."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat

from ._text import printable
from .course import (DEFAULT_COURSE, RELEASE, SOLUTIONS, Course, GradingError, address_warning, assignments,
                     course_address)
from .intake import DEFAULT_PATTERNS, SubmissionError, normalise


def _course(args) -> Course:
    return Course(args.course, args.db_url)


def _release(args) -> int:
    course = _course(args)
    warning = address_warning(course_address())
    if warning:
        print(warning, file=sys.stderr)
    for assignment in args.assignments or assignments():
        print(f"released {course.release(assignment, args.out)}")
    if warning:  # again at the end, where it cannot scroll away
        print(warning, file=sys.stderr)
    return 0


def _grade_one(course: Course, args, student: str, for_formgrader: bool = False) -> int:
    assignment = args.assignment or Path(args.submission).stem
    if assignment not in assignments():
        print(f"unknown assignment {assignment!r}; expected one of {assignments()} "
              "(name the file after it, or pass --assignment)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        try:  # graded as rebuilt on the release, from a copy: the file itself is left alone
            copy = Path(scratch) / f"{assignment}.ipynb"
            nbformat.write(normalise(Path(args.submission).read_bytes(), assignment), str(copy))
            grade = course.autograde(copy, student, assignment)
            if for_formgrader:  # nbgrader's own copy, made safe to show (grader/formgrader.py)
                from .formgrader import graded_path, place, view

                place(course.root, student, assignment, view(graded_path(course.root, student, assignment).read_bytes()))
        except (GradingError, SubmissionError) as error:
            print(f"{printable(args.submission)}: {printable(error)}", file=sys.stderr)
            return 1
    for cell in grade.cells:
        if cell.written:
            status = (f"written answer, graded by hand ({cell.max_score:g} points)"
                      if cell.needs_manual_grade else f"no answer written: 0/{cell.max_score:g}")
        else:
            status = f"{cell.score:g}/{cell.max_score:g}"
            if cell.name in grade.failures:
                status += f"  {printable(grade.failures[cell.name])}"
        print(f"{cell.name:40s} {status}")
    print(f"{'auto-graded total':40s} {grade.auto_score:g}/{grade.auto_max:g} "
          "(written answers not included)")
    return 0


def _autograde(args) -> int:
    return _grade_one(_course(args), args, args.student, for_formgrader=True)


def _check(args) -> int:
    with tempfile.TemporaryDirectory() as scratch:  # a self-check leaves no gradebook behind
        return _grade_one(Course(Path(scratch)), args, "me")


def _grade_folder(args) -> int:
    from .batch import grade_folder

    return grade_folder(_course(args), args.folder, args.pattern or DEFAULT_PATTERNS,
                        args.workers, args.force, args.scheduler)


def _export(args) -> int:
    db_url = _course(args).db_url
    if args.format == "csv":
        from .reports.export import write_csv

        out = args.out or Path("grades.csv")
        print(f"wrote {write_csv(db_url, out)} students to {printable(out)}")
        return 0
    from .reports import lms

    lms_name = {"canvas": "Canvas", "moodle": "Moodle"}[args.format]
    if args.format == "canvas":
        export = lms.write_canvas(db_url, args.out or Path("canvas-grades.csv"))
    else:
        export = lms.write_moodle(db_url, args.out or Path("moodle-grades"))
    where = ", ".join(printable(f) for f in export.files)
    print(f"wrote {export.students} students to {where}")
    if export.without_id:
        print(f"{len(export.without_id)} students have no {lms_name} id (their files were not named by "
              f"{lms_name}), listed with an empty id: {', '.join(map(printable, export.without_id))}")
    for lms_id, who in export.claimed.items():
        print(f"{lms_name} id {printable(lms_id)} is claimed by {len(who)} students ({', '.join(map(printable, who))}): "
              "left empty for each; check their files' names by hand")
    if export.pending:
        print(f"{export.pending} written answers are not graded yet (`python -m grader formgrade`): "
              "the totals leave their points out")
    return 0


def _formgrade(args) -> int:
    from .formgrader import open_formgrader

    return open_formgrader(_course(args), args.port, not args.no_browser)


def _feedback(args) -> int:
    from .reports.feedback import write_feedback

    pages = write_feedback(_course(args).db_url, args.out)
    print(f"wrote {len(pages)} feedback pages to {args.out}")
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

    grade = commands.add_parser(
        "grade", help="grade a folder of submissions (loose .ipynb or .zip, nested folders ok)",
        epilog="Exit status: 0 every file graded; 1 some file could not be graded (listed); "
               "2 stopped: the grading environment is broken (the solutions fail; nothing of that "
               "assignment recorded), FOLDER is not a folder, or the Dask cluster cannot grade.")
    grade.add_argument("folder", type=Path, help="a folder of submissions, or an LMS's download of "
                       "a whole class as one zip")
    grade.add_argument("--pattern", action="append", metavar="TEMPLATE",
                       help="file naming pattern, repeatable, tried in order, with {student}, "
                            "{assignment}, {id} (digits) and {any}; default: "
                            + "; ".join(DEFAULT_PATTERNS))
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="notebooks graded at once on this machine (default: the number of cores, "
                            "%(default)s; with --scheduler, the cluster's worker threads instead)")
    grade.add_argument("--scheduler", metavar="ADDRESS", default=os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
                       help="grade on the workers of this Dask scheduler (tcp://host:8786; default: "
                            "$DASK_SCHEDULER_ADDRESS, else on this machine); see docs/instructors.md")
    grade.add_argument("--force", action="store_true",
                       help="regrade files already in the gradebook (default: skip unchanged files)")
    grade.set_defaults(run=_grade_folder)

    formgrade = commands.add_parser(
        "formgrade", help="grade the written answers by hand: JupyterLab with nbgrader's formgrader "
                          "on the course (the gradebook of --db-url, if given)")
    formgrade.add_argument("--port", type=int, help="default: JupyterLab's (8888, or the next free)")
    formgrade.add_argument("--no-browser", action="store_true", help="print the address, open no browser")
    formgrade.set_defaults(run=_formgrade)

    export = commands.add_parser("export", help="write the gradebook as CSV: the course's own, or "
                                                "an LMS's grade import")
    export.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv",
                        help="csv: every exercise's score; canvas: Canvas's gradebook import; "
                             "moodle: Moodle's grading worksheets, one per assignment (default: %(default)s)")
    export.add_argument("--out", type=Path, help="default: grades.csv, canvas-grades.csv, or the "
                                                 "folder moodle-grades/")
    export.set_defaults(run=_export)

    feedback = commands.add_parser("feedback", help="write one HTML feedback page per student")
    feedback.add_argument("--out", type=Path, default=Path("feedback"))
    feedback.set_defaults(run=_feedback)

    args = parser.parse_args(argv)
    if not SOLUTIONS.is_dir():
        print(f"error: the grader runs from a checkout of the course, and {SOLUTIONS} is not there: "
              "install the checkout editable (`make setup`, or `pip install -e '.[course]'`)", file=sys.stderr)
        return 2
    # nbgrader's own use of SQLAlchemy warns on every submission; the warnings are about
    # nbgrader's internals, not the grades, and would bury the report.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
