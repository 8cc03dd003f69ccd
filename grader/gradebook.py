"""The real gradebook: nbgrader's database, written by the parent process only.

Workers grade in gradebooks of their own; ``record`` copies a result in. Beside
nbgrader's tables, one more (``graded_files``) remembers which file each grade came
from (its SHA-256, so a batch run again skips what it already graded and regrades a
changed file) and each failed test's message for the feedback. It is written after the
grades, so a run killed in between regrades that submission instead of losing it.
"""
from __future__ import annotations

import json

from sqlalchemy import Column, MetaData, String, Table, Text, delete, insert, select

from .course import NotebookGrade, read_alembic_head_in_process

_META = MetaData()
GRADED_FILES = Table(
    "graded_files", _META,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("file", Text, nullable=False),
    Column("failures", Text, nullable=False),  # JSON: grade_id -> "Error: message"
)


class Ledger:
    """nbgrader's Gradebook plus the ``graded_files`` table, in one database."""

    def __init__(self, db_url: str):
        from nbgrader.api import Gradebook

        read_alembic_head_in_process()
        self.gradebook = Gradebook(db_url)
        _META.create_all(self.gradebook.engine, checkfirst=True)

    def __enter__(self) -> Ledger:
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

    def record(self, grade: NotebookGrade, sha256: str, file: str) -> None:
        """Replace whatever the gradebook held for this student and assignment."""
        from nbgrader.api import MissingEntry

        gb, db = self.gradebook, self.gradebook.db
        gb.update_or_create_student(grade.student)
        try:
            gb.remove_submission(grade.assignment, grade.student)
        except MissingEntry:
            pass
        submission = gb.add_submission(grade.assignment, grade.student)
        cells = {cell.name: cell for cell in grade.cells}
        for notebook in submission.notebooks:
            for row in notebook.grades:
                cell = cells[row.name]
                # As nbgrader's SaveAutoGrades: a written answer waits for a person.
                row.auto_score = None if cell.needs_manual_grade else cell.score
                row.needs_manual_grade = cell.needs_manual_grade
        db.commit()
        key = (GRADED_FILES.c.student == grade.student) & (GRADED_FILES.c.assignment == grade.assignment)
        db.execute(delete(GRADED_FILES).where(key))
        db.execute(insert(GRADED_FILES).values(
            student=grade.student, assignment=grade.assignment, sha256=sha256, file=file,
            failures=json.dumps(grade.failures, sort_keys=True)))
        db.commit()
