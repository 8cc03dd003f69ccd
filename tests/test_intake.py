"""Hostile files in a submissions folder: each is reported on its own, read within limits,
and speaks only for the student its own path names (no grading here: fast)."""
import csv
import io
import json
import os
import resource
import zipfile

import nbformat
import pytest

from grader import intake as submissions
from grader.intake import incoming
from grader._text import printable, spreadsheet_safe
from grader.intake import discover, zip_owner
from nbtools import REPO, student_submission

A = "01_logit_lens"
KNOWN = ["01_logit_lens", "02_qk_ov_circuits"]


@pytest.fixture(scope="module")
def good() -> bytes:
    return nbformat.writes(student_submission(A)).encode()


def _zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _found(folder):
    return {sub.label: sub for sub in discover(folder, KNOWN)}


def test_deep_or_huge_json_is_one_files_report_not_a_crash(tmp_path, good, capsys):
    (tmp_path / f"nest_{A}.ipynb").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    deep_cell = {"cells": [{"cell_type": "code", "source": "", "metadata": {"x": [[[[[[[[]]]]]]]] * 1}}]}
    for _ in range(70):
        deep_cell = {"cells": [], "metadata": deep_cell}
    (tmp_path / f"deep_{A}.ipynb").write_text(json.dumps(deep_cell))
    (tmp_path / f"odd_{A}.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": [[1]]}]}))
    (tmp_path / f"long_{A}.ipynb").write_text('{"cells": [], "n": ' + "9" * 10_000 + "}")
    many = json.loads(good)
    many["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": ""}] * 500_000
    (tmp_path / f"many_{A}.ipynb").write_text(json.dumps(many))  # (grading it took 15 minutes)
    (tmp_path / f"ok_{A}.ipynb").write_bytes(good)
    found = _found(tmp_path)
    assert "a notebook of 500" in found[f"many_{A}.ipynb"].error
    for name in ("nest", "deep"):
        assert "JSON nested more than 64 deep" in found[f"{name}_{A}.ipynb"].error
    assert "a cell's source is not text" in found[f"odd_{A}.ipynb"].error
    assert "malformed JSON" in found[f"long_{A}.ipynb"].error
    assert found[f"ok_{A}.ipynb"].error is None
    # A self-learner's check says the same, in one line, with no traceback.
    from grader.__main__ import main

    path = tmp_path / f"{A}.ipynb"
    path.write_bytes(b"[" * 200_000)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "JSON nested more than 64 deep" in err and "Traceback" not in err


def test_megabytes_of_code_are_refused_and_a_student_s_worth_is_read(good):
    """Reading which names a notebook's cells use costs the grader seconds a megabyte of code."""
    notebook = json.loads(good)
    room = incoming.MAX_CODE - sum(len("".join(c["source"])) for c in notebook["cells"] if c["cell_type"] == "code")
    notebook["cells"].append(nbformat.v4.new_code_cell("#" * room))
    assert incoming.parse(json.dumps(notebook).encode())  # at the limit: read
    notebook["cells"].append(nbformat.v4.new_code_cell(["x", "y"]))  # (a source given as lines)
    with pytest.raises(submissions.SubmissionError, match=f"{incoming.MAX_CODE + 2:,} characters of code"):
        incoming.parse(json.dumps(notebook).encode())


def test_grade_ids_and_metadata_of_any_json_type_are_read_as_absent(good):
    nb = json.loads(good)
    for cell in nb["cells"]:
        cell["metadata"] = {"nbgrader": {"grade_id": ["not", "hashable"]}} if cell["cell_type"] == "code" else []
    rebuilt = submissions.normalise(json.dumps(nb).encode(), A)
    assert [c.source for c in rebuilt.cells] == [c.source for c in student_submission(A).cells]


@pytest.mark.parametrize("path, student", [
    ("alice.zip", "alice"),                                       # at the top: its own name
    ("alice (1).zip", "alice"),
    ("alice/whatever.zip", "alice"),                              # the folder names the student
    ("Jo Ng_77_assignsubmission_file_/bob.zip", "Jo Ng"),         # Moodle's folder, not the zip's name
    ("Jo Ng_77_assignsubmission_file_/bob_1_2_x.zip", "Jo Ng"),
    ("smithj_1234_5678_anything.zip", "smithj"),                  # Canvas's prefix
])
def test_a_zip_belongs_to_the_student_its_own_path_names(path, student):
    assert zip_owner(path) == student


@pytest.mark.parametrize("path, student", [
    ("Mallory Q_55_assignsubmission_file_/Bob B_01_logit_lens.ipynb", "Mallory Q"),  # Moodle's folder
    ("Mallory Q_55_assignsubmission_file_/dan_01_logit_lens.ipynb", "Mallory Q"),
    ("mallory/carol_01_logit_lens.ipynb", "mallory"),                                # a student's folder
    ("mallory_11_22_bob_01_logit_lens.ipynb", "mallory"),                            # Canvas's prefix
    ("mallory/01_logit_lens/bob_01_logit_lens.ipynb", "mallory"),                    # nbgrader's collect
    # A folder inside a student's folder that names another student (found by a review):
    ("Eve Ng_7_assignsubmission_file_/Alice Ng_999_assignsubmission_file_/01_logit_lens.ipynb", "Eve Ng"),
    ("Gus_9_assignsubmission_file_/Bob B/01_logit_lens.ipynb", "Gus"),
    ("mal1/alice/01_logit_lens/x_01_logit_lens.ipynb", "mal1"),
])
def test_a_file_name_a_student_chose_never_names_another_student(path, student):
    assert submissions.identify(path, KNOWN) == (student, A)


def test_a_zip_speaks_only_for_its_owner(tmp_path, good):
    """Jo's zip holds members named for Bob, for Carl, an absolute path and a '..' path:
    Bob's own file is still Bob's (not a duplicate), nothing is graded as Carl, the member
    named for Carl is Jo's, and the odd paths are reported by name."""
    bob = tmp_path / "Bob Smith_78_assignsubmission_file_"
    bob.mkdir()
    (bob / f"{A}.ipynb").write_bytes(good)
    jo = tmp_path / "Jo Ng_77_assignsubmission_file_"
    jo.mkdir()
    _zip(jo / "work.zip", {f"Bob Smith_78_assignsubmission_file_/{A}.ipynb": good,
                           f"carl_02_qk_ov_circuits.ipynb": nbformat.writes(student_submission("02_qk_ov_circuits")),
                           f"/etc/{A}.ipynb": good, f"../../{A}.ipynb": good})
    found = _found(tmp_path)
    graded = {(s.student, s.assignment): label for label, s in found.items() if not s.error}
    assert graded == {
        ("Bob Smith", A): f"Bob Smith_78_assignsubmission_file_/{A}.ipynb",
        ("Jo Ng", A): f"Jo Ng_77_assignsubmission_file_/work.zip!Bob Smith_78_assignsubmission_file_/{A}.ipynb",
        ("Jo Ng", "02_qk_ov_circuits"): "Jo Ng_77_assignsubmission_file_/work.zip!carl_02_qk_ov_circuits.ipynb"}
    for member in (f"/etc/{A}.ipynb", f"../../{A}.ipynb"):
        assert "an absolute or '..' path inside the zip" in found[f"Jo Ng_77_assignsubmission_file_/work.zip!{member}"].error


def test_a_class_download_is_graded_from_the_zip_itself(tmp_path, good):
    """An LMS's whole-class zip, given as the folder: its members' paths name the students;
    a student's zip inside it is that student's alone."""
    inner = io.BytesIO()
    _zip(inner, {f"{A}.ipynb": good})
    _zip(tmp_path / "class.zip", {f"Jo Ng_77_assignsubmission_file_/{A}.ipynb": good,
                                  "Bob Smith_78_assignsubmission_file_/mine.zip": inner.getvalue()})
    found = {(s.student, s.assignment, s.error) for s in discover(tmp_path / "class.zip", KNOWN)}
    assert found == {("Jo Ng", A, None), ("Bob Smith", A, None)}
    # The same zip inside a folder is one student's ("class"): its two notebooks are a duplicate.
    (tmp_path / "folder").mkdir()
    os.rename(tmp_path / "class.zip", tmp_path / "folder" / "class.zip")
    errors = [s.error for s in discover(tmp_path / "folder", KNOWN)]
    assert all("give `grade` the zip itself" in e for e in errors if e and "files for class" in e)


def test_zip_bombs_and_oversized_files_are_refused_without_being_read(tmp_path, good):
    """2 GiB of zeros in a 2 MB zip, a member whose header lies about its size, too many
    members, an oversized loose file: each reported, and memory stays flat."""
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(f"{A}.ipynb", "w", force_zip64=True) as member:
            block = bytes(64 << 20)
            for _ in range(32):
                member.write(block)
    assert (tmp_path / "bomb.zip").stat().st_size < 4 << 20
    liar = io.BytesIO()
    _zip(liar, {f"{A}.ipynb": b" " * (80 << 20)})
    data = bytearray(liar.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size fields
        at = data.index(signature)
        data[at + offset:at + offset + 4] = (1000).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(data))
    _zip(tmp_path / "many.zip", {f"{n}/{A}.ipynb": b"{}" for n in range(incoming.MAX_MEMBERS + 1)})
    with open(tmp_path / f"big_{A}.ipynb", "wb") as handle:
        handle.truncate(incoming.MAX_NOTEBOOK + 1)
    (tmp_path / f"ok_{A}.ipynb").write_bytes(good)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = _found(tmp_path)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # kB
    assert grown < 400_000, f"memory grew by {grown} kB"
    assert "unzips to 2147483648 bytes" in found[f"bomb.zip!{A}.ipynb"].error
    assert "could not be unzipped" in found[f"liar.zip!{A}.ipynb"].error
    assert f"a zip of {incoming.MAX_MEMBERS + 1} files" in found["many.zip"].error
    assert "larger than 64 MiB" in found[f"big_{A}.ipynb"].error
    assert found[f"ok_{A}.ipynb"].error is None


def test_links_and_special_files_are_reported_never_followed(tmp_path, good):
    (tmp_path / f"mallet_{A}.ipynb").symlink_to(REPO / "solutions" / f"{A}.ipynb")
    (tmp_path / "trent").symlink_to(REPO / "solutions", target_is_directory=True)
    os.mkfifo(tmp_path / f"fifo_{A}.ipynb")  # reading it would wait forever
    (tmp_path / f"ok_{A}.ipynb").write_bytes(good)
    found = _found(tmp_path)
    assert found[f"mallet_{A}.ipynb"].error == "a symbolic link: not followed"
    assert found["trent"].error == "a symbolic link: not followed"
    assert found[f"fifo_{A}.ipynb"].error == "not a regular file"
    assert found[f"ok_{A}.ipynb"].error is None
    assert len(found) == 4  # nothing under the linked folder


def test_printed_names_cannot_forge_terminal_lines():
    name = "\x1b[2J\x1b[31mevil\nFAILED  x\r\u202e"
    shown = printable(name)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown and "\u202e" not in shown
    assert shown == "\\x1b[2J\\x1b[31mevil\\nFAILED  x\\r\\u202e"


@pytest.mark.parametrize("value, safe", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "\\t=1"), ("\r\n=1+7", "\\r\\n=1+7"), (" =1+4", "' =1+4"),
    ("\uff1d1+2", "'\uff1d1+2"), ("alice", "alice"), ("Jo-Ann", "Jo-Ann"), (7.5, 7.5)])
def test_spreadsheet_cells_that_start_a_formula_are_neutralised(value, safe):
    assert spreadsheet_safe(value) == safe


def test_the_export_writes_no_formulas(tmp_path, monkeypatch):
    from grader.reports import export as report

    rows = {"=cmd|' /C calc'!A0": [report.Row(A, "test_x", 1.0, 1.0, False, False, None)]}
    monkeypatch.setattr(report, "gradebook_rows", lambda db_url: rows)
    report.write_csv("sqlite://", tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv") as handle:
        (row,) = csv.DictReader(handle)
    assert row["student"] == "'=cmd|' /C calc'!A0"
