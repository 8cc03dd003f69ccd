"""The nbgrader course's shortcuts: they must change nothing but the time taken."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.course import Course, alembic_head
from nbtools import student_submission

A = "01_logit_lens"


def test_the_gradebook_is_stamped_with_what_the_alembic_command_reports(tmp_path):
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'g.db'}") as ini:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        heads = subprocess.check_output(["alembic", "-c", ini, "heads"], env=env, text=True)
    assert heads.split()[0] == alembic_head()
    Course(tmp_path / "course").generate(A)
    from nbgrader.api import Gradebook
    from sqlalchemy import text
    with Gradebook(f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}") as gradebook:
        assert gradebook.db.execute(text("SELECT version_num FROM alembic_version")).scalar() == alembic_head()


@pytest.mark.slow
def test_a_course_that_adopts_a_template_grades_without_generating(tmp_path, monkeypatch):
    Course(tmp_path / "template").generate(A)
    course = Course(tmp_path / "worker")
    course.adopt(tmp_path / "template", [A])

    def refuse(*args, **kwargs):
        raise AssertionError("generated again")

    monkeypatch.setattr(course.api, "generate_assignment", refuse)
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(student_submission(A), str(path))
    grade = course.autograde(path, "alice", A)
    assert grade.auto_score == grade.auto_max > 0
