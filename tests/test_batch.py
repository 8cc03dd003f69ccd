"""The batch's scheduling, with stand-in grading jobs (no notebook runs: seconds, not minutes).

Each stand-in job logs its call to the file named in the submission's data, then returns
the grade the student's name asks for: ``full``, ``low``, or ``kill`` (the worker dies).
The fake student grading the solutions scores full marks, except for ``BROKEN``.
"""
import os
from pathlib import Path

import pytest

from grader.batch import PROBE_STUDENT, Batch, BrokenEnvironment, Outcome
from grader.course import CellGrade, NotebookGrade
from grader.intake import Submission

A, B, BROKEN = "01_logit_lens", "02_qk_ov_circuits", "03_train_induction_model"


def stand_in_job(sub: Submission) -> Outcome:
    if sub.student == PROBE_STUDENT:
        score = 3.0 if sub.assignment == BROKEN else 10.0
    else:
        with open(sub.data.decode(), "a") as log:
            log.write(f"{sub.student}\n")
        if sub.student.startswith("kill"):
            os._exit(1)
        score = 10.0 if sub.student.startswith("full") else 4.0
    cells = [CellGrade("test", score, 10.0, False, False)]
    return Outcome(sub, grade=NotebookGrade(sub.student, sub.assignment, cells))


def _class(log: Path, names: list[str], assignment: str = A) -> list[Submission]:
    return [Submission(f"{name}_{assignment}.ipynb", name, assignment, str(log).encode())
            for name in names]


def _graded(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_a_full_marks_submission_shows_the_environment_works_no_solutions_graded(tmp_path):
    log = tmp_path / "log"
    subs = _class(log, ["low1", "full1", "low2"]) + _class(log, ["full2", "low3"], B)
    with Batch(1, job=stand_in_job) as batch:
        outcomes = list(batch.run_checked(subs))
    assert sorted(o.submission.student for o in outcomes) == ["full1", "full2", "low1", "low2", "low3"]
    assert batch.probed == []


def test_without_full_marks_the_solutions_are_graded_before_any_outcome_is_given_out(tmp_path):
    log = tmp_path / "log"
    subs = _class(log, ["low1", "low2"]) + _class(log, ["full1"], B)
    with Batch(1, job=stand_in_job) as batch:
        outcomes = list(batch.run_checked(subs))
    assert sorted(o.submission.student for o in outcomes) == ["full1", "low1", "low2"]
    assert batch.probed == [A]


def test_a_broken_environment_is_found_early_and_gives_out_nothing_of_that_assignment(tmp_path):
    log = tmp_path / "log"
    subs = _class(log, [f"low{n}" for n in range(12)], BROKEN)
    given = []
    with Batch(1, job=stand_in_job) as batch, pytest.raises(BrokenEnvironment, match="scored 3/10"):
        for outcome in batch.run_checked(subs):
            given.append(outcome)
    assert given == []
    # The solutions were graded once a few outcomes were held back, not after the whole class.
    assert len(_graded(log)) < 8


def test_a_worker_that_dies_fails_only_its_own_file(tmp_path):
    log = tmp_path / "log"
    subs = _class(log, ["full1", "kill", "full2", "full3", "full4"])
    with Batch(2, job=stand_in_job) as batch:
        outcomes = {o.submission.student: o for o in batch.run(subs)}
    assert sorted(outcomes) == ["full1", "full2", "full3", "full4", "kill"]
    assert outcomes["kill"].grade is None and "died" in outcomes["kill"].error
    assert all(outcomes[name].grade.auto_score == 10.0 for name in outcomes if name != "kill")
    # It was tried twice, the second time alone, so no other file was blamed.
    assert _graded(log).count("kill") == 2


def forging_job(sub: Submission) -> Outcome:
    """A worker that lies about whose outcome it sends back."""
    outcome = stand_in_job(sub)
    outcome.grade.student = "mallory"
    outcome.submission = Submission(f"mallory_{sub.assignment}.ipynb", "mallory", sub.assignment, b"forged")
    return outcome


def test_an_outcome_is_the_submission_sents_whatever_comes_back(tmp_path):
    subs = _class(tmp_path / "log", ["full1", "low1"])
    with Batch(1, job=forging_job) as batch:
        outcomes = list(batch.run(subs))
    assert sorted(o.grade.student for o in outcomes) == ["full1", "low1"]
    assert {id(o.submission) for o in outcomes} == {id(s) for s in subs}
