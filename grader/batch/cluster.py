"""Grading on the workers of a Dask cluster (``grade --scheduler``): the batch's Dask backend.

Workers may be on other machines, so each prepares itself (``GradingCourse``, a worker
plugin, also run by a worker that joins or is restarted later): it generates the batch's
assignments into a grading course of its own, from its own installed course, after checking
that this is the coordinator's. A task carries one submission's bytes and brings back an
``Outcome``, plain data; the coordinator alone writes the gradebook. ``Batch`` keeps no
more tasks in flight than the cluster has threads, and each worker runs one at a time.

A worker lost mid-notebook: the scheduler runs its task again on another worker, up to
``distributed.scheduler.allowed-failures`` times (3 by default); past that the task fails
with KilledWorker, and ``Batch`` runs it again alone before it reports the file (a task
that merely shared a dying worker is graded then).
"""
from __future__ import annotations

import asyncio
import hashlib
import queue
import shutil
import uuid
from pathlib import Path

from distributed import Client, KilledWorker, WorkerPlugin

from ..course import RELEASE, REPO, SOLUTIONS, Course
from . import workers as _batch
from .workers import ClusterError

WAIT_FOR_WORKERS = 120  # seconds for a first worker to join, before `grade` gives up
POLL = 2.0  # seconds between looks at the cluster's size while every thread is busy
_courses: dict[str, Course] = {}  # on a worker: each batch's grading course, by its plugin's name


def fingerprint(assignments) -> dict[str, str]:
    """What a worker grades with, file by file: the assignments' sources and releases, the
    grader, and the toolkit the notebooks import (its shipped checkpoint too)."""
    import induction_circuits

    toolkit = Path(induction_circuits.__file__).resolve().parent
    grader = REPO / "grader"
    files = [*(SOLUTIONS / f"{a}.ipynb" for a in assignments), *(RELEASE / f"{a}.ipynb" for a in assignments),
             *grader.rglob("*.py")]
    names = {str(path.relative_to(REPO)): path for path in files}
    names.update({f"induction_circuits/{path.relative_to(toolkit)}": path for path in toolkit.rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts})
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(names.items())}


class GradingCourse(WorkerPlugin):
    """Run on every worker of the cluster, as it joins: its grading course for one batch."""

    def __init__(self, name: str, assignments: tuple[str, ...], protected: tuple[str, ...], files: dict):
        self.name, self.assignments, self.protected, self.files = name, assignments, protected, files

    async def setup(self, worker) -> None:
        if worker.state.nthreads != 1:
            raise ClusterError(f"the Dask worker {worker.address} runs {worker.state.nthreads} threads: grading "
                               "workers run one notebook at a time (dask worker --nthreads 1)")
        # In a thread: generating takes seconds, and the worker's event loop must keep answering.
        await asyncio.get_running_loop().run_in_executor(None, self._prepare, Path(worker.local_directory))

    def _prepare(self, folder: Path) -> None:
        mine = fingerprint(self.assignments)
        differ = sorted(name for name in mine.keys() | self.files.keys() if mine.get(name) != self.files.get(name))
        if differ:
            raise ClusterError(f"a Dask worker's course is not the one being graded from ({REPO} on the worker): "
                               f"{', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''} differ; install the "
                               "same checkout on every worker")
        # Student code may read no grading course on this machine (every worker's folder is in
        # the parent of this one's), nor what the coordinator names (its course, the folder).
        course = _batch.worker_course(folder, (folder.parent, *self.protected))
        for assignment in self.assignments:
            course.generate(assignment)
        _courses[self.name] = course

    def teardown(self, worker) -> None:
        course = _courses.pop(self.name, None)
        if course is not None:
            shutil.rmtree(course.root, ignore_errors=True)


def _on_worker(name: str, job, submission):
    """A task: ``job`` (``grader.batch._grade``) in the batch's course on this worker."""
    _batch._course = _courses.get(name)  # (one task at a time: setup checked the worker's threads)
    return job(submission)


class DaskCluster:
    """The Dask backend of ``Batch``: ``scheduler`` is an address or a ``distributed.Client``."""

    def __init__(self, scheduler):
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client, self._own = Client(scheduler, set_as_default=False), True
            except (OSError, TimeoutError, ValueError) as error:
                raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        self.name = f"induction-circuits-grading-{uuid.uuid4().hex[:12]}"
        self._registered = False
        self._done: queue.SimpleQueue = queue.SimpleQueue()

    def start(self, assignments: tuple[str, ...], protected: tuple[str, ...]) -> None:
        try:
            self.client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
        except TimeoutError:
            raise ClusterError(f"no Dask worker joined the scheduler at {self.client.scheduler.address} "
                               f"in {WAIT_FOR_WORKERS} s (start some: dask worker ADDRESS --nthreads 1)") from None
        plugin = GradingCourse(self.name, assignments, protected, fingerprint(assignments))
        self._registered = True
        try:  # every worker there now generates its course; later ones as they join
            self.client.register_plugin(plugin, name=self.name)
        except ClusterError:
            raise
        except Exception as error:
            raise ClusterError(f"a Dask worker could not prepare its grading course: {error!r}") from error

    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, job, submission):
        future = self.client.submit(_on_worker, self.name, job, submission, pure=False)
        future.add_done_callback(self._done.put)
        return future

    def wait(self, futures) -> set:
        """Those of ``futures`` done, after at most POLL seconds (the cluster may have grown)."""
        done = set()
        try:
            done.add(self._done.get(timeout=POLL))
            while True:
                done.add(self._done.get_nowait())
        except queue.Empty:
            pass
        return {future for future in done if future in futures}

    def lost(self, error: BaseException) -> bool:
        return isinstance(error, KilledWorker)

    def abandon(self, running) -> list:
        return []  # the other workers go on

    def cancel(self, futures) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self) -> None:
        try:
            if self._registered:  # each worker removes its course
                self.client.unregister_worker_plugin(self.name)
        except Exception:  # the scheduler is gone: so are the plugin and its courses' use
            pass
        finally:
            if self._own:
                self.client.close()
