"""The real gradebook: nbgrader's database, written by the parent process only.

Workers grade in gradebooks of their own; ``record`` copies a result in. Beside
nbgrader's tables, one more (``graded_files``) remembers which file each grade came
from (its SHA-256, so a batch run again skips what it already graded and regrades a
changed file), the student's id in the LMS that named the file, and each failed test's
message for the feedback. It is written after the grades, so a run killed in between
regrades that submission instead of losing it. What graders enter in the formgrader
(scores and comments) lives in nbgrader's own tables, and outlives a regrade of the
answers it was given for (``hand_grades``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Column, MetaData, String, Table, Text, delete, inspect, insert, select, text

from .course import NotebookGrade, read_alembic_head_in_process

_META = MetaData()
GRADED_FILES = Table(
    "graded_files", _META,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("file", Text, nullable=False),
    Column("failures", Text, nullable=False),  # JSON: grade_id -> "Error: message"
    Column("lms_id", String(64)),  # the student's id in the LMS (Canvas user, Moodle participant)
)


@dataclass
class HandGrade:
    """What a grader entered for one cell in the formgrader."""
    score: float | None
    extra_credit: float | None
    comment: str | None


class CourseGradebook:
    """nbgrader's Gradebook plus the ``graded_files`` table, in one database."""

    def __init__(self, db_url: str):
        from nbgrader.api import Gradebook

        read_alembic_head_in_process()
        self.gradebook = Gradebook(db_url)
        engine = self.gradebook.engine
        _META.create_all(engine, checkfirst=True)
        if "lms_id" not in {c["name"] for c in inspect(engine).get_columns("graded_files")}:
            with engine.begin() as connection:  # a gradebook from before LMS ids were kept
                connection.execute(text("ALTER TABLE graded_files ADD COLUMN lms_id VARCHAR(64)"))

    def __enter__(self) -> CourseGradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.gradebook.close()

    def _rows(self):
        return self.gradebook.db.execute(select(GRADED_FILES)).mappings().all()

    def hashes(self) -> dict[tuple[str, str], str]:
        """(student, assignment) -> SHA-256 of the file its grades came from."""
        return {(row["student"], row["assignment"]): row["sha256"] for row in self._rows()}

    def failures(self) -> dict[tuple[str, str], dict[str, str]]:
        return {(row["student"], row["assignment"]): json.loads(row["failures"])
                for row in self._rows()}

    def waiting_for_hand_grades(self) -> int:
        """How many answers in the whole gradebook wait for a grader."""
        from nbgrader.api import Grade

        return self.gradebook.db.query(Grade).filter(Grade.needs_manual_grade.is_(True)).count()

    def lms_ids(self) -> dict[tuple[str, str], str | None]:
        return {(row["student"], row["assignment"]): row["lms_id"] for row in self._rows()}

    def hand_grades(self, student: str, assignment: str) -> dict[str, HandGrade]:
        """grade_id -> what graders entered for this submission (cells they left alone are absent)."""
        from nbgrader.api import MissingEntry

        try:
            submission = self.gradebook.find_submission(assignment, student)
        except MissingEntry:
            return {}
        found: dict[str, HandGrade] = {}
        for notebook in submission.notebooks:
            for row in notebook.grades:
                if row.manual_score is not None or row.extra_credit is not None:
                    found[row.name] = HandGrade(row.manual_score, row.extra_credit, None)
            for row in notebook.comments:
                if row.manual_comment:
                    found.setdefault(row.name, HandGrade(None, None, None)).comment = row.manual_comment
        return found

    def record(self, grade: NotebookGrade, sha256: str, file: str, lms_id: str | None = None,
               keep: dict[str, HandGrade] | None = None) -> None:
        """Replace whatever the gradebook held for this student and assignment, but for the
        hand grades in ``keep`` (those given for answers that have not changed)."""
        from nbgrader.api import MissingEntry

        keep = keep or {}
        gb, db = self.gradebook, self.gradebook.db
        # The grades came from a worker: each of this gradebook's cells, within its points,
        # or nothing is touched (nbgrader commits as it removes the old submission).
        cells = {cell.name: cell for cell in grade.cells}
        for row in gb.find_notebook(grade.assignment, grade.assignment).grade_cells:
            cell = cells.get(row.name)
            if cell is None or not 0 <= cell.score <= row.max_score:
                raise ValueError(f"{row.name}: {'no grade' if cell is None else f'{cell.score:g} points'}, "
                                 f"of {row.max_score:g}")
        gb.update_or_create_student(grade.student)
        try:
            gb.remove_submission(grade.assignment, grade.student)
        except MissingEntry:
            pass
        submission = gb.add_submission(grade.assignment, grade.student)
        for notebook in submission.notebooks:
            for row in notebook.grades:
                cell = cells[row.name]
                # As nbgrader's SaveAutoGrades: a written answer waits for a person.
                row.auto_score = None if cell.needs_manual_grade else cell.score
                row.needs_manual_grade = cell.needs_manual_grade
                kept = keep.get(row.name)
                if kept and (kept.score is not None or kept.extra_credit is not None):
                    row.manual_score, row.extra_credit = kept.score, kept.extra_credit
                    row.needs_manual_grade = False
            for row in notebook.comments:
                if row.name in keep and keep[row.name].comment:
                    row.manual_comment = keep[row.name].comment
        db.commit()
        key = (GRADED_FILES.c.student == grade.student) & (GRADED_FILES.c.assignment == grade.assignment)
        db.execute(delete(GRADED_FILES).where(key))
        db.execute(insert(GRADED_FILES).values(
            student=grade.student, assignment=grade.assignment, sha256=sha256, file=file,
            failures=json.dumps(grade.failures, sort_keys=True), lms_id=lms_id))
        db.commit()
