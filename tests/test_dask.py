"""``python -m grader grade DIR --scheduler ADDRESS``: grading on a Dask cluster's workers.

A LocalCluster of two worker processes (one thread each) stands in for lab machines. It
grades part of test_grade_dir's class into the real PostgreSQL server to the grades local
`grade` gives, though one of its workers is killed mid-notebook; a file that kills every
worker it runs on (test_batch's stand-in job) is reported alone, the others graded; and
the coordinator trusts a worker no further than it must (its course must be the
coordinator's; points beyond a cell's are not recorded).
"""
import os
import signal
import threading
import time

import dask
import psutil
import pytest
from distributed import Client, LocalCluster

from grader.batch import Batch, Outcome, record_all
from grader.course import Course
from grader.gradebook import CourseGradebook
from grader.intake import Submission
from test_batch import _class, _graded, stand_in_job
from test_grade_dir import A, FILES, POINTS, STUDENT, _captured, _export, _write

ALLOWED_FAILURES = 1  # the scheduler fails a task that killed more workers than this (Dask's default: 3)
CLASS = ("alice_01_logit_lens.ipynb", "carol/01_logit_lens.ipynb", "dave_01_logit_lens.ipynb")


@pytest.fixture(scope="module")
def cluster():
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield cluster, client


def _kill_a_worker_mid_notebook(workers: list[int], killed: list, stop: threading.Event) -> None:
    """SIGKILL the first worker seen grading: a kernel runs below it (a fork of its kernel
    template, the worker's child), so a notebook is running."""
    while not stop.is_set():
        for pid in workers:
            try:
                kernels = [p for p in psutil.Process(pid).children(recursive=True) if p.ppid() != pid]
            except psutil.NoSuchProcess:
                continue
            if kernels:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def graded(cluster, postgres_url, tmp_path_factory):
    """The class graded by local `grade`, and on the cluster into PostgreSQL, killing a worker."""
    _, client = cluster
    root = tmp_path_factory.mktemp("dask")
    folder = root / "submissions"
    _write(folder, CLASS)
    local = _captured(["--course", str(root / "local"), "grade", str(folder), "--workers", "2"])
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_a_worker_mid_notebook,
                              args=(list(client.run(os.getpid).values()), killed, stop))
    killer.start()
    on_dask = ["--course", str(root / "dask"), "--db-url", postgres_url]
    try:
        on_cluster = _captured([*on_dask, "grade", str(folder), "--scheduler", cluster[0].scheduler_address])
    finally:
        stop.set()
        killer.join()
    again = _captured([*on_dask, "grade", str(folder), "--scheduler", cluster[0].scheduler_address])
    return {"root": root, "local": local, "dask": on_cluster, "again": again, "killed": killed,
            "local grades": _export(root / "local", root / "local.csv"),
            "dask grades": _export(root / "dask", root / "dask.csv", postgres_url)}


@pytest.mark.slow
def test_the_cluster_grades_as_local_grade_does(graded):
    assert graded["local"][0] == 0 and graded["dask"][0] == 0
    assert graded["dask grades"] == graded["local grades"]
    for name in CLASS:  # and as each file should be graded
        row = graded["dask grades"][STUDENT.get(name, name.split("_")[0])]
        assert {cell: float(row[f"{A}:{cell}"]) for cell in POINTS} == FILES[name][1], name
    # The coordinator wrote the formgrader's copies, and the gradebook stayed in the server.
    for name in CLASS:
        assert (graded["root"] / "dask" / "autograded" / STUDENT.get(name, name.split("_")[0]) / A
                / f"{A}.ipynb").exists()
    assert not list((graded["root"] / "dask").glob("*.db"))
    # Resuming works as locally: the hashes are in the gradebook.
    status, out, _ = graded["again"]
    assert status == 0 and "0 graded, 3 already graded (unchanged), 0 failed to grade" in out


@pytest.mark.slow
def test_points_beyond_a_cells_from_a_worker_are_not_recorded(graded):
    course = Course(graded["root"] / "local")
    forged = course.grades("alice", A)
    forged.cells[0].score = forged.cells[0].max_score + 90
    outcome = Outcome(Submission(f"alice_{A}.ipynb", "alice", A, b"another file"), grade=forged,
                      graded=(course.root / "autograded" / "alice" / A / f"{A}.ipynb").read_bytes())
    [recorded] = record_all(course, [outcome])
    assert recorded.grade is None and "could not record the grades" in recorded.error
    assert _export(course.root, graded["root"] / "after.csv") == graded["local grades"]
    with CourseGradebook(course.db_url) as ledger:  # the old file's hash stays: this one is graded again next time
        assert ledger.hashes()[("alice", A)] != outcome.submission.sha256


@pytest.mark.slow
def test_a_worker_killed_mid_notebook_loses_nothing(graded):
    assert graded["killed"], "no worker was seen grading"
    status, out, _ = graded["dask"]
    # The killed worker's notebook was graded again elsewhere: each file once, none failed.
    assert status == 0 and "3 graded, 0 already graded (unchanged), 0 failed to grade" in out
    lines = [line for line in out.splitlines() if line.startswith("graded  ")]
    assert sorted(line.split()[1] for line in lines) == ["alice", "carol", "dave"]


def test_a_file_that_kills_every_worker_it_runs_on_is_reported_alone(cluster, tmp_path):
    _, client = cluster
    log = tmp_path / "log"
    subs = _class(log, ["full1", "kill", "full2", "full3", "full4"])
    with Batch(2, job=stand_in_job, scheduler=client) as batch:
        outcomes = {o.submission.student: o for o in batch.run(subs)}
    assert sorted(outcomes) == ["full1", "full2", "full3", "full4", "kill"]
    assert outcomes["kill"].grade is None and "died" in outcomes["kill"].error
    assert all(outcomes[name].grade.auto_score == 10.0 for name in outcomes if name != "kill")
    # Retried by the scheduler, then by the batch alone (nothing beside it to blame), then reported.
    assert _graded(log).count("kill") == 2 * (ALLOWED_FAILURES + 1)


def test_a_worker_whose_course_is_not_the_coordinators_is_refused(cluster, tmp_path, monkeypatch):
    import grader.batch.cluster

    real = grader.batch.cluster.fingerprint
    monkeypatch.setattr(grader.batch.cluster, "fingerprint",  # as if the coordinator's solutions had moved on
                        lambda names: {**real(names), f"solutions/{A}.ipynb": "0" * 64})
    folder = tmp_path / "submissions"
    _write(folder, CLASS[:1])
    status, _, err = _captured(["--course", str(tmp_path / "course"), "grade", str(folder),
                                "--scheduler", cluster[0].scheduler_address])
    assert status == 2
    assert "course is not the one being graded from" in err and f"solutions/{A}.ipynb differ" in err
