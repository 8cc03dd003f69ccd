"""Finding, naming and rebuilding submissions (no grading: fast)."""
import copy
import io
import json
import random
import zipfile

import nbformat
import pytest

from grader.intake import SubmissionError, discover, identify, normalise
from nbtools import metadata, student_submission

A = "01_logit_lens"
KNOWN = ["01_logit_lens", "02_qk_ov_circuits"]


@pytest.mark.parametrize("path, expected", [
    ("alice_01_logit_lens.ipynb", ("alice", A)),
    ("bob_smith_01_logit_lens.ipynb", ("bob_smith", A)),              # underscores in the name
    ("carol/01_logit_lens.ipynb", ("carol", A)),                      # a folder per student
    ("carol/week 1/01_logit_lens.ipynb", ("carol", A)),              # her own folders inside
    ("smithj_123_456_02_qk_ov_circuits.ipynb", ("smithj", "02_qk_ov_circuits")),  # Canvas
    ("smithj_late_123_456_01_logit_lens-1.ipynb", ("smithj", A)),     # Canvas, late resubmission
    ("Jo Ng_77_assignsubmission_file_/01_logit_lens.ipynb", ("Jo Ng", A)),  # Moodle
    ("Jo Ng_77_assignsubmission_file_/My work 01_logit_lens.ipynb", ("Jo Ng", A)),
    ("smithj_123_456_my copy of 01_logit_lens.ipynb", ("smithj", A)),  # the name the student gave
    ("Jo Ng_77_assignsubmission_file_01_logit_lens.ipynb", ("Jo Ng", A)),
    ("alice_01_logit_lens (1).ipynb", ("alice", A)),                  # a browser's second download
    ("bo/01_logit_lens/01_logit_lens.ipynb", ("bo", A)),              # nbgrader's collected layout
])
def test_default_patterns_name_the_student_and_assignment(path, expected):
    assert identify(path, KNOWN) == expected


def test_unknown_assignment_and_unmatched_names_say_which():
    with pytest.raises(SubmissionError, match="unknown assignment '07_extra'"):
        identify("alice_07_extra.ipynb", KNOWN)
    with pytest.raises(SubmissionError, match="matches no naming pattern"):
        identify("notes.ipynb", KNOWN)


def test_a_configured_pattern_replaces_the_defaults():
    assert identify("hw-01_logit_lens-by-alice.ipynb", KNOWN, ["hw-{assignment}-by-{student}.ipynb"]) \
        == ("alice", A)
    with pytest.raises(SubmissionError):
        identify("alice_01_logit_lens.ipynb", KNOWN, ["hw-{assignment}-by-{student}.ipynb"])


def test_discover_reads_zips_and_reports_every_unusable_file(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("01_logit_lens.ipynb", good)
        archive.writestr("__MACOSX/._01_logit_lens.ipynb", b"\0")
    (tmp_path / "erin.zip").write_bytes(buffer.getvalue())
    (tmp_path / "alice_01_logit_lens.ipynb").write_bytes(good)
    (tmp_path / "alice_01_logit_lens-1.ipynb").write_bytes(good)  # two files, one student
    (tmp_path / "empty_01_logit_lens.ipynb").write_bytes(b"")
    (tmp_path / "pdf_01_logit_lens.ipynb").write_bytes(b"%PDF-1.4\n\xff\xfe")
    (tmp_path / "json_01_logit_lens.ipynb").write_text('{"cells": [')
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    found = {sub.label: sub for sub in discover(tmp_path, KNOWN)}
    assert set(found) == {"erin.zip!01_logit_lens.ipynb", "alice_01_logit_lens.ipynb",
                          "alice_01_logit_lens-1.ipynb", "empty_01_logit_lens.ipynb",
                          "pdf_01_logit_lens.ipynb", "json_01_logit_lens.ipynb", "readme.txt"}
    erin = found["erin.zip!01_logit_lens.ipynb"]
    assert (erin.student, erin.assignment, erin.error) == ("erin", A, None)
    assert "2 files for alice" in found["alice_01_logit_lens.ipynb"].error
    assert found["empty_01_logit_lens.ipynb"].error == "empty file"
    assert "binary data" in found["pdf_01_logit_lens.ipynb"].error
    assert "malformed JSON" in found["json_01_logit_lens.ipynb"].error
    assert "not a notebook" in found["readme.txt"].error


def _cells(nb):
    return [(cell.cell_type, cell.source.strip(), metadata(cell).get("grade_id")) for cell in nb.cells]


def _rebuilt(nb):
    return normalise(json.dumps(nb).encode(), A)


def test_intact_submission_is_rebuilt_unchanged():
    good = student_submission(A)
    assert _cells(_rebuilt(good)) == _cells(good)


def test_tampered_test_cells_are_restored_and_added_cells_kept():
    good = student_submission(A)
    tampered = copy.deepcopy(good)
    tests = [i for i, c in enumerate(tampered.cells) if metadata(c).get("grade") and c.cell_type == "code"
             and not metadata(c).get("solution")]
    tampered.cells[tests[0]].source = "pass"                             # edited
    tampered.cells[tests[1]].metadata.nbgrader["grade_id"] = "renamed"   # renamed (kept its code)
    tampered.cells.insert(tests[2], copy.deepcopy(tampered.cells[tests[2]]))  # duplicated
    del tampered.cells[tests[3] + 1]                                     # deleted
    tampered.cells.insert(3, nbformat.v4.new_code_cell("helper = 1"))    # added by the student
    rebuilt = _rebuilt(tampered)
    expected = _cells(good)
    expected.insert(3, ("code", "helper = 1", None))
    assert _cells(rebuilt) == expected


def test_nbgrader_autograde_by_hand_rebuilds_a_submission_as_grade_does(tmp_path):
    """The rebuild is autograde's first step (``RebuildOnRelease``), on the course's own
    release: a tampered notebook that nbgrader reads as collected comes out as ``grade``
    rebuilds it, and rebuilding that changes nothing."""
    from traitlets.config import Config

    from grader.course import Course
    from grader.intake.preprocessor import RebuildOnRelease

    Course(tmp_path / "course").generate(A)
    config = Config()
    config.CourseDirectory.root = str(tmp_path / "course")
    good = student_submission(A)
    tampered = copy.deepcopy(good)
    tampered.cells[[i for i, c in enumerate(tampered.cells) if metadata(c).get("grade")
                    and not metadata(c).get("solution")][0]].source = "pass"
    tampered.cells.insert(3, nbformat.v4.new_code_cell("helper = 1"))
    resources = {"nbgrader": {"assignment": A, "notebook": A, "student": "mallory"}}
    by_hand, _ = RebuildOnRelease(config=config).preprocess(tampered, resources)
    assert _cells(by_hand) == _cells(_rebuilt(tampered)) != _cells(tampered)
    again, _ = RebuildOnRelease(config=config).preprocess(by_hand, resources)
    assert _cells(again) == _cells(by_hand)


def test_stripped_and_shuffled_notebook_finds_each_answer():
    good = student_submission(A)
    stripped = copy.deepcopy(good)
    for cell in stripped.cells:
        cell.metadata = {}
    assert _cells(_rebuilt(stripped)) == _cells(good)
    shuffled = copy.deepcopy(good)
    random.Random(0).shuffle(shuffled.cells)
    assert _cells(_rebuilt(shuffled)) == _cells(good)


def test_colab_save_is_read_without_ids_or_language():
    colab = json.loads(nbformat.writes(student_submission(A)))
    colab["nbformat_minor"] = 0
    colab["metadata"] = {"colab": {"provenance": []}, "accelerator": "GPU",
                         "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for cell in colab["cells"]:
        cell.pop("id")
    rebuilt = _rebuilt(colab)
    assert _cells(rebuilt) == _cells(student_submission(A))
    assert rebuilt.metadata.kernelspec.language == "python"


def test_check_says_plainly_when_the_file_is_not_a_notebook(tmp_path, capsys):
    from grader.__main__ import main

    path = tmp_path / f"{A}.ipynb"
    path.write_bytes(b"")
    assert main(["check", str(path)]) == 1
    assert f"{path}: empty file" in capsys.readouterr().err


def test_the_lms_id_in_a_file_name_is_kept_for_the_lms_export(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    files = {"smithj_123_456_01_logit_lens.ipynb": ("smithj", "123"),          # Canvas: the user id
             "smithj_late_123_789_02_qk_ov_circuits.ipynb": ("smithj", "123"),
             "Jo Ng_77_assignsubmission_file_/01_logit_lens.ipynb": ("Jo Ng", "77"),  # Moodle
             "alice_01_logit_lens.ipynb": ("alice", None)}
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(good)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("01_logit_lens.ipynb", good)
    (tmp_path / "leej_555_666_work.zip").write_bytes(buffer.getvalue())  # Canvas, a zip
    found = {(s.student, s.lms_id) for s in discover(tmp_path, KNOWN)}
    assert found == {*files.values(), ("leej", "555")}


def test_two_people_an_lms_names_alike_are_told_apart_by_their_ids(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    for name in ["Jane Doe_11_assignsubmission_file_/01_logit_lens.ipynb",
                 "Jane Doe_12_assignsubmission_file_/01_logit_lens.ipynb",
                 "Jane Doe_40_assignsubmission_file_/02_qk_ov_circuits.ipynb",
                 "Jo Ng_77_assignsubmission_file_/01_logit_lens.ipynb",  # Moodle: another id per
                 "Jo Ng_78_assignsubmission_file_/02_qk_ov_circuits.ipynb"]:  # assignment, one person
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(good)
    found = {(s.student, s.assignment, s.lms_id) for s in discover(tmp_path, KNOWN) if not s.error}
    assert found == {("Jane Doe [11]", A, "11"), ("Jane Doe [12]", A, "12"),
                     ("Jane Doe [40]", "02_qk_ov_circuits", "40"),
                     ("Jo Ng", A, "77"), ("Jo Ng", "02_qk_ov_circuits", "78")}


@pytest.mark.parametrize("name", [
    "<img src=x onerror=alert(1)>", 'x";alert(1);"', "=cmd|' /C calc'!A0", "@jo", "-2+3", "a\\b", "semi;colon",
    "x" * 65, "(paren", "esc\x1b[2Jape", "zero\u200bwidth"])
def test_a_student_name_outside_the_allow_list_is_reported_never_used(tmp_path, name):
    path = tmp_path / name / f"{A}.ipynb"  # a folder named so: a folder per student
    path.parent.mkdir(parents=True)
    path.write_bytes(nbformat.writes(student_submission(A)).encode())
    (sub,) = discover(tmp_path, KNOWN)
    assert sub.student is None and sub.error
    assert "student name" in sub.error


@pytest.mark.parametrize("name", ["Zoë O'Brien-Li", "李 小龙", "smith_j", "Jane Doe (11)", "o.neil"])
def test_names_from_any_script_with_the_usual_punctuation_are_kept(tmp_path, name):
    (tmp_path / f"{name}_{A}.ipynb").write_bytes(nbformat.writes(student_submission(A)).encode())
    (sub,) = discover(tmp_path, KNOWN)
    assert (sub.student, sub.error) == (name, None)


@pytest.mark.parametrize("path, student, lms_id", [
    # What the student named the file cannot take over the LMS's prefix, nor its id.
    ("mallory_999_888_x_late_111_223_01_logit_lens.ipynb", "mallory", "999"),
    ("Eve_66_assignsubmission_file_y_55_1_01_logit_lens.ipynb", "Eve", "66"),
    ("Eve_66_assignsubmission_file_x_late_55_1_01_logit_lens.ipynb", "Eve", "66"),
    ("smithj_late_123_456_01_logit_lens.ipynb", "smithj", "123"),
    ("bob_smith_01_logit_lens.ipynb", "bob_smith", None),
])
def test_an_lms_prefix_is_read_from_the_left_of_the_file_name(tmp_path, path, student, lms_id):
    (tmp_path / path).write_bytes(nbformat.writes(student_submission(A)).encode())
    (sub,) = discover(tmp_path, KNOWN)
    assert (sub.student, sub.lms_id) == (student, lms_id)


def test_hidden_notebooks_are_reported_and_system_files_skipped(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    for name in [".._01_logit_lens.ipynb", "._01_logit_lens.ipynb", "__MACOSX/._alice_01_logit_lens.ipynb",
                 ".ipynb_checkpoints/alice_01_logit_lens-checkpoint.ipynb", ".DS_Store", "bob/.hidden/x.ipynb"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(good)
    found = {sub.label: sub.error for sub in discover(tmp_path, KNOWN)}
    assert set(found) == {".._01_logit_lens.ipynb", "._01_logit_lens.ipynb"}
    assert all("a hidden file" in why for why in found.values())


def test_names_that_differ_only_in_case_are_reported(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    (tmp_path / "Carol_01_logit_lens.ipynb").write_bytes(good)
    (tmp_path / "carol_02_qk_ov_circuits.ipynb").write_bytes(good)
    (tmp_path / "carol  _01_logit_lens.ipynb").write_bytes(good)  # spaces collapse: "carol"
    errors = [sub.error for sub in discover(tmp_path, KNOWN)]
    assert len(errors) == 3 and all("differ only in case (Carol, carol)" in e for e in errors)


def test_the_jane_doe_the_gradebook_knows_keeps_her_name_and_hand_grades(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    for name in ["Jane Doe_11_assignsubmission_file_/01_logit_lens.ipynb",
                 "Jane Doe_12_assignsubmission_file_/01_logit_lens.ipynb"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(good)
    found = discover(tmp_path, KNOWN, graded_ids={("Jane Doe", A): "11"})
    assert {(s.student, s.lms_id) for s in found} == {("Jane Doe", "11"), ("Jane Doe [12]", "12")}


def test_a_name_made_to_tell_two_apart_is_no_name_a_student_can_take(tmp_path):
    good = nbformat.writes(student_submission(A)).encode()
    for name in ["Bob_11_assignsubmission_file_/01_logit_lens.ipynb", "Bob_49_assignsubmission_file_/01_logit_lens.ipynb",
                 "Bob (49)_90_assignsubmission_file_/01_logit_lens.ipynb",  # calls herself what Bob 49 would be
                 "Ann_20_assignsubmission_file_/01_logit_lens.ipynb", "ANN_21_assignsubmission_file_/01_logit_lens.ipynb"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(good)
    found = {(s.student, s.lms_id, s.error) for s in discover(tmp_path, KNOWN)}
    assert found == {("Bob [11]", "11", None), ("Bob [49]", "49", None), ("Bob (49)", "90", None),
                     ("Ann [20]", "20", None), ("ANN [21]", "21", None)}  # case twins with two ids: two people


def test_a_name_that_differs_only_in_case_from_one_in_the_gradebook_is_reported(tmp_path):
    (tmp_path / "ANN_01_logit_lens.ipynb").write_bytes(nbformat.writes(student_submission(A)).encode())
    (sub,) = discover(tmp_path, KNOWN, graded_ids={("Ann", A): None})
    assert sub.error and "differ only in case (ANN, Ann" in sub.error


def test_a_pasted_image_in_a_written_answer_is_kept_and_nothing_else_attached():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
    notebook = student_submission(A)
    cell = next(c for c in notebook.cells if metadata(c).get("grade_id") == "written_lens")
    cell.source = "See: ![image.png](attachment:image.png)"
    cell.attachments = {"image.png": {"image/png": png, "text/html": "<script>"}, "x.svg": {"image/svg+xml": "<svg/>"}}
    rebuilt = normalise(nbformat.writes(notebook).encode(), A)
    answer = next(c for c in rebuilt.cells if metadata(c).get("grade_id") == "written_lens")
    assert answer.attachments == {"image.png": {"image/png": png}}
    nbformat.validate(rebuilt)
