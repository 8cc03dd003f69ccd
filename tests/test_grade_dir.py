"""``python -m grader grade DIR``: a class's folder as it arrives, graded through notebook 01.

One folder holds a submission of every kind (correct and printing megabytes, untouched,
one wrong, zipped and saved by Colab, test cells tampered with, metadata stripped and cells
moved) and files that cannot be graded; the batch is run in parts to show it resumes.
"""
import copy
import csv
import functools
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader._text import printable
from nbtools import REPO, SOLUTIONS, answer, auto_graded_points, metadata, read, student_submission

pytestmark = pytest.mark.slow

A = "01_logit_lens"
POINTS = auto_graded_points(read(SOLUTIONS / f"{A}.ipynb"))
WRITTEN = "written_lens"
WRONG_LENS = {"lens_accuracy": answer(A, "lens_accuracy", "wrong")}
FULL = dict(POINTS)
ONE_WRONG = {**POINTS, "test_lens_accuracy": 0.0}
NOTHING = {name: 0.0 for name in POINTS}


def _test_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and metadata(c).get("grade")
            and not metadata(c).get("solution")]


def _colab(nb) -> bytes:
    """As Colab saves it: nbformat 4.0, no cell ids, colab metadata, outputs of a GPU run."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "gpuType": "T4"}, "accelerator": "GPU",
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}}
    for n, cell in enumerate(data["cells"]):
        cell.pop("id")
        cell["metadata"]["id"] = f"colab{n}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = n
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": ["device: cuda:0 (Tesla T4)\n"]},
                               {"output_type": "execute_result", "execution_count": n, "metadata": {},
                                "data": {"text/plain": ["tensor([1.], device='cuda:0')"]}}]
    return json.dumps(data).encode()


def _tampered(nb):
    """Wrong lens_accuracy, its test replaced by `pass`; other tests duplicated, renamed, deleted."""
    tests = _test_cells(nb)
    names = [metadata(nb.cells[i])["grade_id"] for i in tests]
    nb.cells[tests[names.index("test_lens_accuracy")]].source = "pass"
    nb.cells[tests[names.index("test_recap")]].metadata.nbgrader["grade_id"] = "test_mine"
    duplicate = copy.deepcopy(nb.cells[tests[0]])
    duplicate.id = "duplicate"
    nb.cells.insert(tests[0], duplicate)                           # duplicated
    del nb.cells[tests[names.index("test_logit_lens")] + 1]       # deleted
    return nb


def _stripped_and_moved(nb):
    """Wrong lens_accuracy; no nbgrader metadata anywhere; every test cell above its exercise."""
    for cell in nb.cells:
        cell.metadata = {}
    for i in _test_cells(student_submission(A)):
        nb.cells[i - 1], nb.cells[i] = nb.cells[i], nb.cells[i - 1]
    return nb


def _loud(nb) -> bytes:
    """Prints megabytes when graded, and arrives with megabytes of saved output."""
    nb.cells.insert(4, nbformat.v4.new_code_cell('print("x" * 3_000_000)'))
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 3_000_000)]
    return nbformat.writes(nb).encode()


def _zip(**members) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _nb(**kwargs) -> bytes:
    return nbformat.writes(student_submission(A, **kwargs)).encode()


def _padded(nb) -> bytes:
    """40 added cells of 60,000 characters of code each, each only a ``def``."""
    nb.cells += [nbformat.v4.new_code_cell(f"def _pad_{i}():\n    return [{', '.join(['0'] * 20_000)}]\n")
                 for i in range(40)]
    return nbformat.writes(nb).encode()


# file -> its bytes, and what the batch must make of it: scores, or an error to report.
FILES = {
    "alice_01_logit_lens.ipynb": (lambda: _loud(student_submission(A)), FULL),
    "carol/01_logit_lens.ipynb": (lambda: _nb(solved=False), NOTHING),
    "dave_01_logit_lens.ipynb": (lambda: _nb(answers=WRONG_LENS), ONE_WRONG),
    "erin.zip": (lambda: _zip(**{"01_logit_lens.ipynb": _colab(student_submission(A)),
                                 "__MACOSX/._01_logit_lens.ipynb": b"\0"}), FULL),
    "grace_01_logit_lens.ipynb": (
        lambda: nbformat.writes(_tampered(student_submission(A, answers=WRONG_LENS))).encode(), ONE_WRONG),
    "heidi_01_logit_lens.ipynb": (
        lambda: nbformat.writes(_stripped_and_moved(student_submission(A, answers=WRONG_LENS))).encode(),
        ONE_WRONG),
    "judy_01_logit_lens.ipynb": (lambda: b"%PDF-1.4\n\x00\xff binary", "not a notebook: binary data"),
    "kim_01_logit_lens.ipynb": (lambda: b'{"cells": [', "not a notebook: malformed JSON"),
    "leo_01_logit_lens.ipynb": (lambda: b"", "empty file"),
    "mallory_07_extra.ipynb": (lambda: _nb(), "unknown assignment '07_extra'"),
    "notes.ipynb": (lambda: _nb(), "matches no naming pattern"),
    # Hostile files (issue: grading cannot be gamed): each is this file's report alone.
    "nest_01_logit_lens.ipynb": (lambda: b"[" * 200_000, "JSON nested more than 64 deep"),
    # Megabytes of code: reading which names its cells use would cost minutes of CPU.
    "pad_01_logit_lens.ipynb": (lambda: _padded(student_submission(A)), "characters of code (at most"),
    # Jo's zip names Alice inside it: graded as Jo's, and Alice's own file is no duplicate.
    "jo.zip": (lambda: _zip(**{"alice_01_logit_lens.ipynb": _nb(), "../01_logit_lens.ipynb": _nb()}), FULL),
    # A name that would start a spreadsheet formula, or markup in the formgrader: never used.
    "=cmd|' -c calc'!A0_01_logit_lens.ipynb": (lambda: _nb(), "a student name may hold only"),
    "\x1b[2J\x1b[31mevil\nFAILED  fake_09_x.ipynb": (lambda: _nb(), "unknown assignment '09_x'"),
    "mallet_01_logit_lens.ipynb": (None, "a symbolic link: not followed"),  # to the solutions
}
MEMBERS_FAILED = {"jo.zip!../01_logit_lens.ipynb": "an absolute or '..' path inside the zip"}
STUDENT = {"erin.zip": "erin", "carol/01_logit_lens.ipynb": "carol", "jo.zip": "jo"}
PART = ("alice_01_logit_lens.ipynb", "dave_01_logit_lens.ipynb")  # graded before the "kill"


@functools.cache
def _bytes(name) -> bytes:  # made once: new cells get random ids, and a copy must be identical
    return FILES[name][0]()


def _write(folder, names):
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if FILES[name][0] is None:
            (folder / name).symlink_to(SOLUTIONS / f"{A}.ipynb")
        else:
            (folder / name).write_bytes(_bytes(name))


def _hashes(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def _export(course, path, db_url=None):
    assert main(["--course", str(course), *(["--db-url", db_url] if db_url else []), "export", "--out", str(path)]) == 0
    with open(path) as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _captured(argv) -> tuple[int, str, str]:
    """``main(argv)``: its status, stdout and stderr, captured by hand (pytest's capsys is
    per test, and module-wide fixtures grade)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(argv)
    finally:
        sys.stdout, sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    course, folder, part = root / "course", root / "submissions", root / "part"
    _write(folder, FILES)
    _write(part, PART)
    before = _hashes(folder)
    runs = {name: _captured(["--course", str(course), *argv])
            for name, argv in [("part", ["grade", str(part), "--workers", "2"]),
                               ("all", ["grade", str(folder), "--workers", "2"]),
                               ("again", ["grade", str(folder)])]}
    return {"root": root, "course": course, "folder": folder, "runs": runs,
            "before": before, "grades": _export(course, root / "grades.csv")}


def test_a_batch_stopped_midway_resumes_without_losing_or_repeating(batch):
    status, out, _ = batch["runs"]["part"]
    assert status == 0 and "2 graded, 0 already graded (unchanged), 0 failed to grade" in out
    status, out, _ = batch["runs"]["all"]
    assert status == 1
    assert "5 graded, 2 already graded (unchanged), 11 failed to grade" in out
    status, out, _ = batch["runs"]["again"]
    assert status == 1 and "0 graded, 7 already graded (unchanged), 11 failed to grade" in out
    assert len(batch["grades"]) == 7  # one row per student, none twice


def test_every_submission_gets_its_exact_scores(batch):
    grades = batch["grades"]
    for name, (_, expected) in FILES.items():
        if isinstance(expected, str):
            continue
        student = STUDENT.get(name, name.split("_")[0])
        row = grades[student]
        assert {cell: float(row[f"{A}:{cell}"]) for cell in POINTS} == expected, name
        written = row[f"{A}:{WRITTEN}"]
        assert written == ("0.0" if expected is NOTHING else "pending"), name  # blank: 0, else a person's
        assert float(row[A]) == sum(expected.values())


def test_files_that_cannot_be_graded_are_reported_each_with_its_reason(batch):
    _, out, _ = batch["runs"]["all"]
    failed = {line.split(": ", 1)[0].removeprefix("FAILED  "): line
              for line in out.splitlines() if line.startswith("FAILED  ")}
    expected = {printable(name): why for name, (_, why) in FILES.items() if isinstance(why, str)}
    expected.update(MEMBERS_FAILED)
    assert set(failed) == set(expected)
    for name, why in expected.items():
        assert why in failed[name], failed[name]
    assert "graded  erin 01_logit_lens 10/10  (erin.zip!01_logit_lens.ipynb)" in out
    assert "graded  jo 01_logit_lens 10/10  (jo.zip!alice_01_logit_lens.ipynb)" in out
    assert "\x1b" not in out and "\nFAILED  fake" not in out  # no forged line, no escape sequence


def test_submissions_are_never_modified(batch):
    assert _hashes(batch["folder"]) == batch["before"]


def test_export_has_a_column_per_assignment_and_exercise(batch):
    with open(batch["root"] / "grades.csv") as handle:
        header = next(csv.reader(handle))
    cells = [name for name in header if name.startswith(f"{A}:")]
    assert header[:2] == ["student", A]
    assert set(cells) == {f"{A}:{name}" for name in [*POINTS, WRITTEN]}


def test_feedback_shows_points_and_messages_and_never_hidden_tests(batch, tmp_path, capsys):
    status, out, _ = _run(capsys, "--course", str(batch["course"]), "feedback", "--out", str(tmp_path))
    assert status == 0 and "wrote 7 feedback pages" in out
    pages = {path.stem: path.read_text() for path in tmp_path.glob("*.html")}
    assert set(pages) == set(batch["grades"])
    dave = pages["dave"]
    assert "test_lens_accuracy</td><td class=\"points\">0 / 3" in dave
    assert "AssertionError" in dave and "10 / 10" not in dave and "7 / 10 auto-graded points" in dave
    assert "written answer: graded by hand (2 points)" in dave
    assert "10 / 10 auto-graded points" in pages["alice"]
    assert "no answer written" in pages["carol"]
    for page in pages.values():
        for hidden in ("BEGIN HIDDEN", "_reference_", "_check_", "Traceback"):
            assert hidden not in page
    assert len(pages["alice"].encode()) < 10_000  # megabytes printed, a small page


def test_a_changed_file_is_regraded_and_an_unchanged_one_keeps_its_grades(batch, tmp_path, capsys):
    folder, again = tmp_path / "resubmitted", tmp_path / "again"
    folder.mkdir()
    again.mkdir()
    (folder / "dave_01_logit_lens.ipynb").write_bytes(_nb())             # dave fixed his answer
    for copy_to in (folder, again):                                       # alice's file, unchanged
        (copy_to / "alice_01_logit_lens.ipynb").write_bytes(
            (batch["folder"] / "alice_01_logit_lens.ipynb").read_bytes())
    course = str(batch["course"])
    status, out, _ = _run(capsys, "--course", course, "grade", str(folder))
    assert status == 0 and "1 graded, 1 already graded (unchanged), 0 failed to grade" in out
    status, out, _ = _run(capsys, "--course", course, "grade", str(again), "--force")
    assert status == 0 and "1 graded, 0 already graded" in out   # alice graded a second time
    grades = _export(batch["course"], tmp_path / "after.csv")
    assert grades["alice"] == batch["grades"]["alice"]
    assert {cell: float(grades["dave"][f"{A}:{cell}"]) for cell in POINTS} == FULL
    assert len(grades) == len(batch["grades"])


def test_a_broken_grading_environment_stops_the_batch_before_it_scores_anyone(tmp_path, capsys,
                                                                               monkeypatch):
    # The notebooks' kernel runs, but cannot import the toolkit: without the check, every
    # student would get 0 and nbgrader would report success.
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "display_name": "Python 3", "language": "python",
        "argv": [sys.executable, "-c", "import sys; sys.modules['induction_circuits'] = None; "
                 "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()",
                 "-f", "{connection_file}"]}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    folder = tmp_path / "submissions"
    _write(folder, ["alice_01_logit_lens.ipynb"])
    status, _, err = _run(capsys, "--course", str(tmp_path / "course"), "grade", str(folder))
    assert status == 2
    assert "the grading environment is broken" in err
    # The first cell does not try to install the toolkit under grading: the import fails, and
    # the report names the missing module.
    assert "01_logit_lens: the solutions scored 3/10; first error: ModuleNotFoundError" in err
    assert "induction_circuits" in err
    monkeypatch.delenv("JUPYTER_PATH")
    assert _export(tmp_path / "course", tmp_path / "g.csv") == {}


def _descendants_alive(tmp) -> list[int]:
    """Processes started by the killed run: they all carry its TMPDIR."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if f"TMPDIR={tmp}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                alive.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return alive


def _recorded(course) -> int:
    try:
        with sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM graded_files").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_batch_killed_for_real_leaves_nothing_running_and_a_rerun_completes_it(tmp_path, capsys):
    folder, course, tmp = tmp_path / "submissions", tmp_path / "course", tmp_path / "tmp"
    tmp.mkdir()
    names = ["alice_01_logit_lens.ipynb", "carol/01_logit_lens.ipynb", "dave_01_logit_lens.ipynb"]
    _write(folder, names)
    run = subprocess.Popen([sys.executable, "-m", "grader", "--course", str(course), "grade", str(folder),
                            "--workers", "1"], cwd=REPO, env={**os.environ, "TMPDIR": str(tmp)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while _recorded(course) == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    run.kill()  # SIGKILL: no clean-up code runs in the parent
    run.wait()
    assert 1 <= _recorded(course) < len(names), "the kill should land between the first and the last result"
    # The workers, their kernels and the kernels' sandbox forks notice and go.
    deadline = time.monotonic() + 60
    while _descendants_alive(tmp) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _descendants_alive(tmp) == []

    status, out, _ = _run(capsys, "--course", str(course), "grade", str(folder))
    done = int(re.search(r"(\d+) already graded", out).group(1))
    assert status == 0 and done >= 1 and f"{len(names) - done} graded, {done} already graded" in out
    grades = _export(course, tmp_path / "g.csv")
    assert {student: float(row[A]) for student, row in grades.items()} == \
        {"alice": sum(FULL.values()), "carol": 0.0, "dave": sum(ONE_WRONG.values())}


def test_sources_changed_since_a_course_graded_them_stop_the_batch_with_a_clear_error(batch, tmp_path, capsys):
    """nbgrader refuses to add or remove a graded cell of an assignment with submissions: a
    review's `grade` died of it with a traceback after the sources changed. It stops, exit 2,
    saying what to do, and records nothing."""
    import shutil

    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    shutil.copytree(batch["course"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # as if a graded cell was removed since
        gradebook.update_or_create_grade_cell("test_removed_since", A, A, max_score=1, cell_type="code")
    before = _export(course, tmp_path / "before.csv")
    folder = tmp_path / "submissions"
    _write(folder, ["alice_01_logit_lens.ipynb"])
    status, _, err = _run(capsys, "--course", str(course), "grade", str(folder), "--force")
    assert status == 2 and "Traceback" not in err
    assert "cannot record this assignment's grades" in err and "--course" in err
    assert _export(course, tmp_path / "after.csv") == before
