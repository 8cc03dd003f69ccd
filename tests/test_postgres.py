"""The gradebook on a real PostgreSQL server (Debian's `postgresql`, started by conftest's fixture)."""
import csv

import nbformat
import pytest

from grader.__main__ import main
from nbtools import SOLUTIONS, auto_graded_points, read, student_submission

pytestmark = pytest.mark.slow
A = "01_logit_lens"


def test_a_class_graded_into_postgresql_exports_from_it(postgres_url, tmp_path, capfd):
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(student_submission(A), str(folder / f"alice_{A}.ipynb"))
    nbformat.write(student_submission(A, solved=False), str(folder / f"bob_{A}.ipynb"))
    course = ["--course", str(tmp_path / "course"), "--db-url", postgres_url]
    assert main([*course, "grade", str(folder)]) == 0
    out, err = capfd.readouterr()  # (the kernels' own output too: they write to this process's stderr)
    assert "2 graded, 0 already graded" in out
    # Nothing a user must learn to ignore: the progress bar is all a clean run writes there.
    assert not [line for line in err.replace("\r", "\n").splitlines() if line and not line.startswith("grading:")], err
    # Kept in the server, not in the course folder: a second run finds them there.
    assert not list((tmp_path / "course").glob("*.db"))
    assert main([*course, "grade", str(folder)]) == 0
    assert "0 graded, 2 already graded" in capfd.readouterr().out
    assert main([*course, "export", "--out", str(tmp_path / "grades.csv")]) == 0
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    total = sum(auto_graded_points(read(SOLUTIONS / f"{A}.ipynb")).values())
    assert set(rows) == {"alice", "bob"}
    assert float(rows["alice"][A]) == total and float(rows["bob"][A]) == 0.0
    assert rows["alice"][f"{A}:written_lens"] == "pending"
