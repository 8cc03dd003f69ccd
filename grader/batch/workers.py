"""Grading a folder of submissions: in isolation, in parallel, resumably.

Each worker process grades in a nbgrader course of its own (a temporary folder with its
own SQLite gradebook), one submission at a time, so a broken submission never touches
another and no gradebook is written by two processes. The parent alone writes the
results into the real gradebook (``grade``), as each arrives: a run killed midway keeps what it
finished, and a run started again skips files whose grades are already in (same hash).

Where the workers run is the batch's backend: ``Processes`` on this machine, or
``grader.batch.cluster.DaskCluster``, workers of a Dask scheduler on other machines. The
scheduling (how many jobs run at once, lost jobs run again alone, the environment check)
is ``Batch``'s, the same for both.
"""
from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat

from .._cells import answered, first_error
from .._process import die_with_parent
from ..course import RELEASE, SOLUTIONS, Course, NotebookGrade
from ..intake import Submission, normalise

# Ids inside a worker's own course (the real one is the parent's): a new one per
# submission, so nothing one notebook saves (notebook 3's checkpoint, read by notebooks
# 4 to 6) reaches the next submission graded by the same worker.
_worker_ids = itertools.count()
PROBE_STUDENT = "__solutions__"  # the environment check's fake student, never recorded
_course: Course | None = None


@dataclass
class Outcome:
    submission: Submission
    grade: NotebookGrade | None = None
    error: str | None = None
    seconds: float = 0.0
    first_error: str | None = None  # the notebook's first error, any cell: for the environment check
    graded: bytes | None = None  # the graded notebook, for the formgrader


class BrokenEnvironment(RuntimeError):
    """The grading kernel cannot grade the solutions: every student would score 0."""


class ClusterError(RuntimeError):
    """The Dask cluster cannot grade: no scheduler, no worker, or workers that differ from
    this course (grader/batch/cluster.py)."""


def worker_course(folder: Path, protected) -> Course:
    """A grading process's own course, in a new folder in ``folder``; student code may read
    none of ``protected`` (every grading course on this machine, the real course...)."""
    import warnings

    os.environ["OMP_NUM_THREADS"] = "1"
    warnings.filterwarnings("ignore", module="nbgrader")  # as in __main__: noise about nbgrader's internals
    warnings.filterwarnings("ignore", message=".*not in session.*")
    return Course(Path(tempfile.mkdtemp(dir=folder, prefix="worker-")), protected=tuple(map(Path, protected)))


def _start_worker(parent: int, parent_tmp: str, template: str, assignments: tuple[str, ...],
                  protected: tuple[str, ...]) -> None:
    global _course

    # Die with the grading process, even one killed by SIGKILL: an orphaned worker would wait
    # for work forever (its kernel and sandbox forks follow it: they watch their parents).
    die_with_parent()
    if sys.platform.startswith("linux") and os.getppid() != parent:
        os._exit(1)
    # Student code may read neither the other workers' courses nor the real one.
    _course = worker_course(Path(parent_tmp), (parent_tmp, *protected))
    _course.adopt(Path(template), assignments)


def _grade(submission: Submission) -> Outcome:
    """Runs in a worker: normalise a copy of the submission and grade it."""
    start = time.perf_counter()
    try:
        if _course is None:  # (a Dask worker whose setup failed: grader/batch/cluster.py)
            raise RuntimeError("this worker has no grading course: its setup failed (see the worker's log)")
        notebook = normalise(submission.data, submission.assignment)
        path = _course.root / "incoming" / f"{submission.assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(path))
        worker_id = f"submission{next(_worker_ids)}"
        grade = _course.autograde(path, worker_id, submission.assignment)
    except Exception as error:  # any failure is this file's, reported, never the batch's
        # First and last lines: what failed, and (from nbgrader's log) why.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [""]
        why = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
        return Outcome(submission, error=f"{type(error).__name__}: {why}"[:400],
                       seconds=time.perf_counter() - start)
    grade.student = submission.student
    graded = _course.root / "autograded" / worker_id / submission.assignment / f"{submission.assignment}.ipynb"
    return Outcome(submission, grade=grade, seconds=time.perf_counter() - start, graded=graded.read_bytes(),
                   first_error=None if grade.auto_score == grade.auto_max else _first_error(graded))


def _first_error(graded: Path) -> str | None:
    if not graded.exists():
        return None
    errors = (first_error(cell) for cell in nbformat.read(str(graded), as_version=4).cells)
    return next((error[:300] for error in errors if error), None)


def solved_submission(assignment: str) -> Submission:
    """The release filled in with the sources' solutions: a student who gets everything right."""
    release = nbformat.read(str(RELEASE / f"{assignment}.ipynb"), as_version=4)
    source = nbformat.read(str(SOLUTIONS / f"{assignment}.ipynb"), as_version=4)
    return Submission(f"solutions/{assignment}.ipynb", PROBE_STUDENT, assignment,
                      nbformat.writes(answered(release, source)).encode())


class Processes:
    """The local backend: a pool of ``workers`` spawned grading processes on this machine.

    The assignments are generated once, here, into a template course that every worker
    copies (generating them in each worker cost seconds per worker). When a worker dies,
    the pool breaks and every job in it is lost."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool = None
        self._tmp = None

    def start(self, assignments: tuple[str, ...], protected: tuple[str, ...]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="grader-batch-")
        template = Path(self._tmp.name) / "template"
        course = Course(template)
        for assignment in assignments:
            course.generate(assignment)
        self._initargs = (os.getpid(), self._tmp.name, str(template), assignments, protected)

    def slots(self) -> int:
        return self.workers

    def submit(self, job, submission: Submission):
        # spawn: workers start clean, without the parent's threads (tqdm's, SQLAlchemy's).
        self._pool = self._pool or ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"),
                                                       initializer=_start_worker, initargs=self._initargs)
        return self._pool.submit(job, submission)

    def wait(self, futures) -> set:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def lost(self, error: BaseException) -> bool:
        return isinstance(error, BrokenProcessPool)

    def abandon(self, running) -> list:
        """After a lost job: the running jobs lost with it (all: they die with the pool)."""
        self._pool.shutdown(cancel_futures=True)
        self._pool = None
        return list(running)

    def cancel(self, futures) -> None:
        for future in futures:
            future.cancel()

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._tmp:
            self._tmp.cleanup()


class Batch:
    """Grading workers, on this machine (``workers`` processes) or, given ``scheduler`` (a
    Dask scheduler's address, or a ``distributed.Client``), the workers of a Dask cluster;
    use as a context manager."""

    def __init__(self, workers: int, assignments=(), protected: tuple[Path, ...] = (), job=None,
                 scheduler=None):
        self.assignments = tuple(assignments)
        self.protected = tuple(str(p) for p in protected)
        self.job = job or _grade
        self.probed: list[str] = []  # assignments whose solutions were graded as a check
        if scheduler is None:
            self.backend = Processes(workers)
        else:
            try:
                from .cluster import DaskCluster
            except ImportError as error:
                raise ClusterError(f"grading on a Dask cluster needs Dask distributed ({error}): "
                                   "pip install -e '.[cluster]'") from None
            self.backend = DaskCluster(scheduler)
        try:
            self.backend.start(self.assignments, self.protected)
        except BaseException:
            self.backend.close()
            raise

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc) -> None:
        self.backend.close()

    def run(self, submissions: list[Submission]):
        """Yield an Outcome per submission, in the order they finish."""
        return self._stream(deque(submissions))

    def _stream(self, queue: deque):
        """Grade what ``queue`` holds, in order, yielding each Outcome as it finishes.

        A job leaves the queue only when a worker is free, so the caller may put work in
        front of it between outcomes, and no worker holds more than it runs. A job whose
        worker died is lost (locally, with every job running beside it, in the same pool;
        on Dask, once its task has killed more workers than the scheduler allows): lost
        jobs run again, each alone, so the one that kills its worker again is known and
        reported, and the others are graded.
        """
        running: dict = {}
        suspects: set[int] = set()
        try:
            while queue or running:
                slots = self.backend.slots()
                while queue and len(running) < slots:
                    if running and (id(queue[0]) in suspects or any(id(s) in suspects for s in running.values())):
                        break  # a suspect runs alone
                    sub = queue.popleft()
                    running[self.backend.submit(self.job, sub)] = sub
                finished, lost = [], []
                for future in self.backend.wait(running):
                    sub = running.pop(future)
                    try:
                        finished.append(_as_sent(future.result(), sub))
                    except Exception as error:
                        if not self.backend.lost(error):
                            raise
                        lost.append(sub)
                if lost:
                    lost += [running.pop(future) for future in self.backend.abandon(running)]
                    for sub in reversed(lost):
                        if id(sub) in suspects and len(lost) == 1:
                            finished.append(Outcome(sub, error="the grading process died on this file"))
                        else:
                            suspects.add(id(sub))
                            queue.appendleft(sub)
                yield from finished
        finally:
            self.backend.cancel(running)

    def run_checked(self, submissions: list[Submission]):
        """Like ``run``, but an assignment's outcomes are given out only once grading it is
        shown to work, so that a broken environment cannot score a class 0.

        A submission with full marks shows it. Otherwise the assignment's solutions are
        graded as a fake student (``PROBE_STUDENT``), ahead of the queue, as soon as its
        outcomes run out of submissions that could show it, or too many outcomes are held
        back. If the solutions do not score full marks, BrokenEnvironment is raised, and
        that assignment's outcomes are never given out.
        """
        queue = deque(submissions)
        left = Counter(sub.assignment for sub in submissions)  # students' files not graded yet
        unproven, held, probes = set(left), defaultdict(list), {}
        patience = 2 * self.backend.slots() + 2  # outcomes held back before the solutions are graded
        for outcome in self._stream(queue):
            sub = outcome.submission
            name = sub.assignment
            if sub.student == PROBE_STUDENT:
                self.probed.append(name)
                problem = _probe_problem(outcome)
                if problem:
                    raise BrokenEnvironment(
                        "the grading environment is broken: the solutions do not score full marks, "
                        "so every student would be marked wrong. Check that the notebooks' kernel "
                        "(`jupyter kernelspec list`) runs a Python that can import induction_circuits, "
                        "transformer_lens and torch.\n  " + problem)
                unproven.discard(name)
                yield from held.pop(name, [])
                continue
            left[name] -= 1
            if name in unproven and outcome.grade and outcome.grade.auto_score == outcome.grade.auto_max > 0:
                unproven.discard(name)
                if probes.get(name) in queue:
                    queue.remove(probes[name])  # not started yet: no longer needed
            if name not in unproven:
                yield from held.pop(name, [])
                yield outcome
                continue
            held[name].append(outcome)
            waiting = sum(len(held[n]) for n in held if n not in probes)
            for other in sorted(held, key=lambda n: -len(held[n])):
                if other not in probes and (left[other] == 0 or waiting >= patience):
                    probes[other] = solved_submission(other)
                    queue.appendleft(probes[other])
                    waiting -= len(held[other])


def _as_sent(outcome: Outcome, sub: Submission) -> Outcome:
    """A worker's outcome on the coordinator's terms: whose it is, which file and its hash
    come from the submission sent, not from what came back."""
    outcome.submission = sub
    if outcome.grade is not None:
        outcome.grade.student, outcome.grade.assignment = sub.student, sub.assignment
    return outcome


def _probe_problem(outcome: Outcome) -> str | None:
    """Why the solutions' grading shows a broken environment, or None if it does not."""
    grade, name = outcome.grade, outcome.submission.assignment
    if grade is None:
        return f"{name}: could not grade the solutions ({outcome.error})"
    if grade.auto_score != grade.auto_max:
        return (f"{name}: the solutions scored {grade.auto_score:g}/{grade.auto_max:g}"
                + (f"; first error: {outcome.first_error}" if outcome.first_error else ""))
    return None
