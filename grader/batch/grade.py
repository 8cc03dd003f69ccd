"""``python -m grader grade``: a folder graded into the real course, one result at a time.

The coordinating process alone writes the gradebook and the formgrader's copies, as each
outcome arrives (``record_all``); ``grade_folder`` finds the files, skips those already
graded, runs the batch and prints the summary.
"""
from __future__ import annotations

import itertools
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._text import printable
from ..course import Course, GradingError
from ..execute.budget import OVER_BUDGET
from ..formgrader import answers, graded_path, place, view
from ..gradebook import CourseGradebook
from .workers import Batch, BrokenEnvironment, ClusterError, Outcome


def _record(ledger: CourseGradebook, course_root: Path, outcome: Outcome) -> None:
    """The formgrader's copy first, then the grades: a run stopped in between, or grades that
    cannot be recorded, leave the old hash, and the next run grades the file again."""
    grade, sub = outcome.grade, outcome.submission
    path = graded_path(course_root, grade.student, grade.assignment)
    shown = view(outcome.graded)
    before, after = answers(path), answers(shown)
    keep = {name: hand for name, hand in ledger.hand_grades(grade.student, grade.assignment).items()
            if name in before and before[name] == after.get(name)}
    place(course_root, grade.student, grade.assignment, shown)
    ledger.record(grade, sub.sha256, sub.label, sub.lms_id, keep)


def record_all(course: Course, outcomes, on_result=None, ready=None) -> list[Outcome]:
    """Write each graded outcome into the real course as it arrives (after ``ready()``): its
    gradebook, and the graded notebook where the formgrader reads it."""
    done = []
    outcomes = iter(outcomes)
    first = next(outcomes, None)
    if ready:
        ready()
    if first is None:
        return done
    with CourseGradebook(course.db_url) as ledger:
        for outcome in itertools.chain([first], outcomes):
            if outcome.grade is not None:
                try:
                    _record(ledger, course.root, outcome)
                except Exception as error:  # e.g. the sources changed mid-batch: this file's failure
                    ledger.gradebook.db.rollback()
                    outcome.grade, outcome.error = None, f"could not record the grades: {error!r}"[:400]
            done.append(outcome)
            if on_result:
                on_result(outcome)
    return done


def grade_folder(course: Course, folder: Path, patterns, workers: int, force: bool = False,
                 scheduler: str | None = None) -> int:
    """``python -m grader grade``: grade, record, print a summary; the exit status. With
    ``scheduler``, a Dask scheduler's address, on its workers instead of ``workers`` here."""

    from tqdm import tqdm

    from ..course import assignments
    from ..intake import discover

    if not (Path(folder).is_dir() or Path(folder).is_file() and Path(folder).suffix.lower() == ".zip"):
        print(f"error: {printable(folder)} is neither a folder nor a zip file", file=sys.stderr)
        return 2
    with CourseGradebook(course.db_url) as ledger:
        known, graded_ids = ledger.hashes(), ledger.lms_ids()
    found = discover(folder, assignments(), patterns, graded_ids)
    todo, skipped = [], []
    for sub in found:
        if not sub.error:
            unchanged = known.get((sub.student, sub.assignment)) == sub.sha256
            (skipped if unchanged and not force else todo).append(sub)
    needed = sorted({sub.assignment for sub in todo})
    # Student code sees neither the course nor the folder being graded (nor anything else of
    # the machine: grader/sandbox/_mounts.py); named here for the audit hook, where namespaces are not.
    try:
        batch = Batch(min(workers, max(1, len(todo))), needed, protected=(course.root, Path(folder).resolve()),
                      scheduler=scheduler if todo else None)  # (nothing to grade: no cluster needed)
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with batch, ThreadPoolExecutor(1) as thread:
        # The real gradebook must know each assignment's cells before the first result is
        # recorded: generate them while the workers start.
        generated = thread.submit(lambda: [course.generate(a) for a in needed])
        with tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr) as bar:
            try:
                outcomes = record_all(course, batch.run_checked(todo),
                                      on_result=lambda _: bar.update(), ready=generated.result)
            except BrokenEnvironment as error:
                bar.close()
                print(f"error: {error}", file=sys.stderr)
                return 2
            except GradingError as error:  # the real course could not take the assignments
                bar.close()
                lines = [line.strip() for line in str(error).splitlines() if line.strip()]
                print(f"error: the course {printable(course.root)} cannot record this assignment's grades: "
                      f"{printable(lines[-1] if lines else '')}\n  (nbgrader refuses to change a graded "
                      "assignment's cells: if the sources changed since students were graded here, grade "
                      "into a new course folder with --course, or restore the sources)", file=sys.stderr)
                return 2

    graded = sorted((o for o in outcomes if o.grade), key=lambda o: o.submission.label)
    failed = sorted([o for o in outcomes if not o.grade], key=lambda o: o.submission.label)
    unreadable = [sub for sub in found if sub.error]
    for outcome in graded:
        grade = outcome.grade
        spent = any(why.startswith(OVER_BUDGET) for why in grade.failures.values())
        print(f"graded  {printable(grade.student)} {grade.assignment} {grade.auto_score:g}/{grade.auto_max:g}"
              f"  ({printable(outcome.submission.label)})  {outcome.seconds:.1f} s"
              + ("  (ran out of its time budget)" if spent else ""))
    print(f"\n{len(graded)} graded, {len(skipped)} already graded (unchanged), "
          f"{len(failed) + len(unreadable)} failed to grade")
    for label, why in sorted([(o.submission.label, o.error) for o in failed]
                             + [(sub.label, sub.error) for sub in unreadable]):
        print(f"FAILED  {printable(label)}: {printable(why)}")
    with CourseGradebook(course.db_url) as ledger:
        waiting = ledger.waiting_for_hand_grades()
    if waiting:
        print(f"{waiting} written answers wait for a grader: python -m grader formgrade")
    return 1 if failed or unreadable else 0
