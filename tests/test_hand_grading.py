"""The instructor's loop after `grade`: written answers graded by hand in nbgrader's
formgrader (a real browser: Playwright on Debian's chromium), hand grades in the export
and the feedback, and the grades as Canvas and Moodle import them.

One class of notebook 1 is graded per gradebook (SQLite, and the real PostgreSQL server
of conftest's fixture), with files named as Canvas, Moodle and the course name them.
"""
import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from grader.formgrader import graded_path, inert
from nbtools import RELEASE, SOLUTIONS, auto_graded_points, metadata, read, student_submission

A = "01_logit_lens"
WRITTEN = "written_lens"
CHROMIUM = Path("/usr/bin/chromium")
# A written answer that would run script in a grader's browser, were it shown as written.
HOSTILE = ("Layer 1 copies: the jump is there. <script>alert('script')</script>"
           "<img src=x onerror=\"alert('onerror')\"> [link](javascript:alert('link'))\n\n"
           "```\nkeep < this\n\nblank line\n```\n")
FILES = {  # file name -> (student, LMS id)
    f"doejane_123_456_{A}.ipynb": ("doejane", "123"),                               # Canvas
    f"Jane O'Roe_77_assignsubmission_file_/{A}.ipynb": ("Jane O'Roe", "77"),            # Moodle
    f"carol_{A}.ipynb": ("carol", None),                                            # the course's own
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
POINTS = sum(auto_graded_points(read(SOLUTIONS / f"{A}.ipynb")).values())


def _submission(answer: str | None) -> nbformat.NotebookNode:
    return student_submission(A, answers={WRITTEN: answer} if answer is not None else None,
                              solved=answer is not None)


def _run(capsys, *args) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def graded(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"hand-{request.param}")
    folder = root / "submissions"
    answers = {"doejane": HOSTILE, "Jane O'Roe": "Layer 1: after it the lens is right.", "carol": None}
    for name, (student, _) in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        notebook = _submission(answers[student])
        if student == "doejane":  # with a sketch pasted into her answer
            cell = next(c for c in notebook.cells if metadata(c).get("grade_id") == WRITTEN)
            cell.source += "\n\n![sketch](attachment:sketch.png)"
            cell.attachments = {"sketch.png": {"image/png": PNG}}
        nbformat.write(notebook, str(folder / name))
    course = ["--course", str(root / "course")]
    db_url = f"sqlite:///{root / 'course' / 'gradebook.db'}"
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_url")
        course += ["--db-url", db_url]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # (a module's fixture: pytest's capsys is per test)
        status = main([*course, "grade", str(folder), "--workers", "2"])
    assert status == 0
    assert "2 written answers wait for a grader: python -m grader formgrade" in out.getvalue()
    return {"root": root, "folder": folder, "course": course, "course_root": root / "course", "db_url": db_url}


# --- the formgrader's copies --------------------------------------------------------

def test_every_graded_submission_is_where_the_formgrader_reads_it(graded):
    for student, _ in FILES.values():
        path = graded_path(graded["course_root"], student, A)
        notebook = read(path)
        cells = {metadata(c).get("grade_id"): c for c in notebook.cells}
        assert "Marking guide" in "".join(c.source for c in notebook.cells if metadata(c).get("locked"))
        assert "### BEGIN HIDDEN TESTS" in cells["test_lens_accuracy"].source  # as graded
        assert cells["test_residual_stack"].outputs, "the outputs as they were graded"
    shown = read(graded_path(graded["course_root"], "doejane", A))
    answer = next(c for c in shown.cells if metadata(c).get("grade_id") == WRITTEN).source
    assert "Layer 1 copies" in answer and "<script" not in answer and "onerror" not in answer
    assert "javascript:" not in answer
    assert not (graded["course_root"] / "submitted").exists()  # nothing the formgrader could autograde


def test_inert_keeps_text_and_images_and_drops_what_could_run():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(HOSTILE),
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("display_data", {"text/html": "<script>alert(1)</script>",
                                                    "application/javascript": "alert(2)",
                                                    "text/plain": "<view>"}),
            nbformat.v4.new_output("display_data", {"image/svg+xml": "<svg onload='alert(3)'/>"}),
            nbformat.v4.new_output("display_data", {"image/png": "iVBORw0KGgo="}),
            nbformat.v4.new_output("stream", text="printed\n")])])
    shown = inert(notebook)
    markdown, code = shown.cells
    assert "<script" not in markdown.source and "onerror" not in markdown.source
    assert "keep &lt; this&#10;&#10;blank line" in markdown.source  # a code block keeps its lines
    assert "\n" not in markdown.source  # one HTML block for the page's own markdown pass
    assert [dict(o.get("data", {})) for o in code.outputs[:3]] == [
        {"text/plain": "<view>"},
        {"text/plain": "(an output of type image/svg+xml: not shown to graders)"},
        {"image/png": "iVBORw0KGgo="}]
    assert code.outputs[3].text == "printed\n"
    assert notebook.cells[0].source == HOSTILE  # a new notebook: the graded one is left alone


# --- grading by hand in a real browser ----------------------------------------------

def _formgrader(graded, port: int):
    env = {**os.environ, "JUPYTER_TOKEN": "test-token",
           "JUPYTER_RUNTIME_DIR": str(graded["root"] / "runtime"),
           "JUPYTER_CONFIG_DIR": str(graded["root"] / "jupyter-config")}
    server = subprocess.Popen([sys.executable, "-m", "grader", *graded["course"], "formgrade",
                               "--no-browser", "--port", str(port)], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=open(graded["root"] / "formgrader.log", "w"))
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=test-token", timeout=2)
            return server
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, \
                (graded["root"] / "formgrader.log").read_text()[-3000:]
            time.sleep(0.5)


def _submission_id(graded, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(graded["db_url"]) as gradebook:
        return gradebook.find_submission_notebook(A, A, student).id


@pytest.fixture(scope="module")
def hand_graded(graded):
    """A TA opens the formgrader, finds doejane's written answer waiting, and grades it."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed (apt-get install chromium; .ci/run does)")
    from conftest import _free_port
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = _formgrader(graded, port)
    base = f"http://127.0.0.1:{port}"
    seen = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"{base}/formgrader?token=test-token")  # logs in (a cookie)
            page.goto(f"{base}/formgrader/gradebook/{A}/{A}")
            page.wait_for_selector("td.needs-manual-grade span")
            waiting = page.locator("tr", has=page.locator("td.needs-manual-grade span"))
            seen["waiting"] = waiting.count()
            # (The list hides names: doejane's row is the one whose link is her submission's.)
            waiting.locator(f"a[href*='{_submission_id(graded, 'doejane')}']").first.click()
            page.wait_for_load_state("networkidle")  # the page's scripts have fetched the grades
            page.wait_for_selector(f"#{WRITTEN}")
            seen["page"] = page.inner_text("body")
            seen["sketches"] = page.locator(f'.student-markdown img[src="data:image/png;base64,{PNG}"]').count()
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"):
                page.fill(f"#{WRITTEN}", "1.5")
                page.press(f"#{WRITTEN}", "Tab")
            with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT"):
                page.fill(f"#{WRITTEN}-comment", "Right layer; say why the lens cannot see heads.")
                page.press(f"#{WRITTEN}-comment", "Tab")
            # Every page that shows a name (nbgrader's put it into HTML and scripts as it is).
            for student, _ in FILES.values():
                for url in (f"manage_students/{student}", f"manage_students/{student}/{A}"):
                    page.goto(f"{base}/formgrader/{url}")
                    page.wait_for_load_state("networkidle")
                    seen.setdefault("names shown", []).append(student in page.inner_text("body"))
            seen["dialogs"] = dialogs
            browser.close()
        seen["log"] = (graded["root"] / "formgrader.log").read_text()  # (before it is stopped)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return seen


def test_a_ta_finds_the_written_answer_with_its_marking_guide(hand_graded):
    assert hand_graded["waiting"] == 2  # doejane and Jane O'Roe wrote answers; carol did not
    page = hand_graded["page"]
    assert "Marking guide (2 points, graders only)" in page and "Rubric" in page
    assert "Layer 1 copies" in page and hand_graded["sketches"] == 1  # her pasted image too
    assert hand_graded["dialogs"] == [], "the student's script ran in the grader's browser"
    assert all(hand_graded["names shown"]) and len(hand_graded["names shown"]) == 6
    assert not [line for line in hand_graded["log"].splitlines() if line.startswith(("[W", "[E", "[C"))]


def test_the_hand_grade_is_in_the_export_and_its_totals(graded, hand_graded, capsys, tmp_path):
    status, _ = _run(capsys, *graded["course"], "export", "--out", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert status == 0
    assert rows["doejane"][f"{A}:{WRITTEN}"] == "1.5" and float(rows["doejane"][A]) == POINTS + 1.5
    assert rows["Jane O'Roe"][f"{A}:{WRITTEN}"] == "pending"  # not graded yet: still says so
    assert rows["carol"][f"{A}:{WRITTEN}"] == "0.0"  # left blank


def test_the_feedback_page_shows_the_points_and_the_comment(graded, hand_graded, capsys, tmp_path):
    status, _ = _run(capsys, *graded["course"], "feedback", "--out", str(tmp_path))
    doejane = (tmp_path / "doejane.html").read_text()
    roe = (tmp_path / "Jane_O_Roe.html").read_text()
    assert status == 0
    assert f'{WRITTEN}</td><td class="points">1.5 / 2</td><td>graded by hand' in doejane
    assert "Grader's comment:</strong> Right layer; say why the lens cannot see heads." in doejane
    assert "1.5 / 2 graded by hand</h2>" in doejane
    assert "written answer: graded by hand (2 points)" in roe and "(2 points not graded yet)" in roe
    assert "Marking guide" not in doejane + roe  # the guide is for graders


def test_a_regrade_keeps_hand_grades_of_unchanged_answers_only(graded, hand_graded, capsys, tmp_path):
    course, folder = graded["course"], graded["folder"]
    status, out = _run(capsys, *course, "grade", str(folder), "--force", "--workers", "2")
    assert status == 0 and "3 graded" in out
    _run(capsys, *course, "export", "--out", str(tmp_path / "kept.csv"))
    with open(tmp_path / "kept.csv") as handle:
        kept = {row["student"]: row for row in csv.DictReader(handle)}
    assert kept["doejane"][f"{A}:{WRITTEN}"] == "1.5"  # same answer, same grade
    # doejane hands in a new answer: it waits for a grader again, and the formgrader shows it.
    nbformat.write(_submission("A new answer: layer 1, from the lens."), str(folder / f"doejane_123_456_{A}.ipynb"))
    status, out = _run(capsys, *course, "grade", str(folder), "--workers", "2")
    assert status == 0 and "1 graded, 2 already graded" in out
    _run(capsys, *course, "export", "--out", str(tmp_path / "changed.csv"))
    with open(tmp_path / "changed.csv") as handle:
        changed = {row["student"]: row for row in csv.DictReader(handle)}
    assert changed["doejane"][f"{A}:{WRITTEN}"] == "pending"
    shown = read(graded_path(graded["course_root"], "doejane", A))
    assert "A new answer" in "".join(c.source for c in shown.cells)  # no stale copy
    assert not list(graded_path(graded["course_root"], "doejane", A).parent.glob("*.part"))


# --- exports an LMS takes back ------------------------------------------------------

def test_canvas_export_is_canvas_gradebook_import(graded, capsys, tmp_path):
    out = tmp_path / "canvas.csv"
    status, printed = _run(capsys, *graded["course"], "export", "--format", "canvas", "--out", str(out))
    with open(out, newline="") as handle:
        header, points, *rows = list(csv.reader(handle))
    assert status == 0
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert points[0].strip() == "Points Possible" and points[1:] == ["", "", "", "", f"{POINTS + 2:g}"]
    by_name = {row[0]: row for row in rows}
    assert set(by_name) == {"doejane", "Jane O'Roe", "carol"}  # carol, with no Canvas id, listed
    assert by_name["doejane"][1:5] == ["123", "", "", ""]
    assert by_name["Jane O'Roe"][1] == "77" and by_name["carol"][1] == ""
    assert float(by_name["carol"][5]) == 0.0 and float(by_name["Jane O'Roe"][5]) == POINTS
    assert "1 students have no Canvas id" in printed and "carol" in printed


def test_moodle_export_is_one_grading_worksheet_per_assignment(graded, capsys, tmp_path):
    status, printed = _run(capsys, *graded["course"], "export", "--format", "moodle", "--out", str(tmp_path))
    with open(tmp_path / f"{A}.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = {row["Full name"]: row for row in reader}
    assert status == 0
    # The three columns Moodle's importer requires, by its own names, and three it reads.
    assert reader.fieldnames == ["Identifier", "Full name", "Grade", "Maximum Grade",
                                 "Last modified (grade)", "Feedback comments"]
    assert rows["Jane O'Roe"]["Identifier"] == "Participant 77"
    assert rows["doejane"]["Identifier"] == "Participant 123" and rows["carol"]["Identifier"] == ""
    assert float(rows["Jane O'Roe"]["Grade"]) == POINTS and rows["Jane O'Roe"]["Maximum Grade"] == f"{POINTS + 2:g}"
    assert datetime.fromisoformat(rows["carol"]["Last modified (grade)"]).tzinfo is not None
    assert "carol" in printed and "no Moodle id" in printed


# --- the sources ---------------------------------------------------------------------

def test_every_written_question_has_a_marking_guide_that_the_release_leaves_out():
    for source_path in sorted(SOLUTIONS.glob("*.ipynb")):
        cells = read(source_path).cells
        release = RELEASE.joinpath(source_path.name).read_text()
        assert "MARK SCHEME" not in release and "Marking guide" not in release
        for i, cell in enumerate(cells):
            meta = metadata(cell)
            if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                question = cells[i - 1]
                # locked: autograde restores the cell whole, so the formgrader shows the guide
                assert metadata(question).get("locked"), f"{source_path.name}: {meta['grade_id']}"
                assert "### BEGIN MARK SCHEME\n**Marking guide" in question.source
                assert "*Model answer.*" in question.source and "*Rubric.*" in question.source


def test_an_lms_id_two_students_claim_is_left_empty_for_both(monkeypatch, tmp_path, capsys):
    from grader.reports import lms
    from grader.reports.export import Row

    rows = {name: [Row(A, "test_x", score, 10.0, False, False, None)]
            for name, score in [("carol", 10.0), ("mallory_x", 0.0), ("dave", 7.0)]}
    ids = {("carol", A): "111", ("mallory_x", A): "111", ("dave", A): "55"}  # mallory named a file to take 111
    monkeypatch.setattr(lms, "_grades", lambda db_url: (rows, ids))
    canvas = lms.write_canvas("sqlite://", tmp_path / "canvas.csv")
    with open(tmp_path / "canvas.csv", newline="") as handle:
        by_name = {row[0]: row[1] for row in list(csv.reader(handle))[2:]}
    assert by_name == {"carol": "", "mallory_x": "", "dave": "55"}
    assert canvas.claimed == {"111": ["carol", "mallory_x"]} and canvas.without_id == []
    moodle = lms.write_moodle("sqlite://", tmp_path / "moodle")
    with open(tmp_path / "moodle" / f"{A}.csv", newline="") as handle:
        by_name = {row["Full name"]: row["Identifier"] for row in csv.DictReader(handle)}
    assert by_name == {"carol": "", "mallory_x": "", "dave": "Participant 55"}
    assert moodle.claimed == {f"111 ({A})": ["carol", "mallory_x"]}
    assert (tmp_path / "canvas.csv").read_text().startswith('"Student","ID"')  # every field quoted


def test_a_pasted_image_is_shown_and_nothing_else_of_an_attachment():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
    cell = nbformat.v4.new_markdown_cell(
        "Sketch: ![my sketch](attachment:image.png) ![svg](attachment:x.svg) ![gone](attachment:none.png)"
        " [a](imageXYZ) <img src=attachment:image.png onerror=alert(1)>")
    cell.attachments = {"image.png": {"image/png": png}, "x.svg": {"image/svg+xml": "<svg onload=alert(1)/>"}}
    shown = inert(nbformat.v4.new_notebook(cells=[cell])).cells[0]
    assert f'<img alt="my sketch" src="data:image/png;base64,{png}">' in shown.source
    assert "[svg]" in shown.source and "[gone]" in shown.source
    assert "onerror" not in shown.source and "onload" not in shown.source and "attachments" not in shown
    nbformat.validate(nbformat.v4.new_notebook(cells=[shown]))  # (an added cell that lost its attachment: no error)
