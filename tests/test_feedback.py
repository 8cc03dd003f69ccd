"""Feedback pages: points and messages, never the hidden tests (no grading: fast)."""

import nbformat

from grader._cells import HIDDEN_TESTS
from grader.reports.export import Row
from grader.reports.feedback import feedback_html
from nbtools import SOLUTIONS

A = "01_logit_lens"


def _a_hidden_test_line() -> str:
    source = "".join(c.source for c in nbformat.read(str(SOLUTIONS / f"{A}.ipynb"), as_version=4).cells)
    block = HIDDEN_TESTS.search(source)[1]
    return next(line.strip() for line in block.splitlines() if len(line.strip()) >= 12)


def _page(message):
    return feedback_html("mallory", [
        Row(A, "test_residual_stack", 2.0, 2.0, False, False, None),
        Row(A, "test_logit_lens", 0.0, 2.0, False, False, message),
        Row(A, "written_lens", 0.0, 2.0, True, True, None),
    ])


def test_page_shows_points_messages_and_written_answers_waiting():
    page = _page("AssertionError: logit_lens should decode through W_U")
    assert "2 / 4 auto-graded points" in page
    assert "test_residual_stack</td><td class=\"points\">2 / 2</td><td>passed" in page
    assert "0 / 2</td><td>AssertionError: logit_lens should decode through W_U" in page
    assert "&ndash; / 2</td><td>written answer: graded by hand (2 points)" in page


def test_a_message_quoting_hidden_tests_or_a_traceback_is_withheld():
    hidden = _a_hidden_test_line()
    for message in (f"ValueError: {hidden}", "Exception: Traceback (most recent call last): ..."):
        page = _page(message)
        assert hidden not in page and "Traceback" not in page
        assert "the error message quotes the hidden tests, so it is not shown" in page


def test_messages_are_escaped_and_capped():
    page = _page("<script>alert(1)</script>" + "x" * 100_000)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert len(page) < 5_000
