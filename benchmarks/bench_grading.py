"""Grading a synthetic class: seconds per submission-notebook, against plain execution.

    python benchmarks/bench_grading.py              # 10 students x every released notebook
    python benchmarks/bench_grading.py --quick      # 4 students
    python benchmarks/bench_grading.py --students 20 --rounds 3
    python benchmarks/bench_grading.py --students 1 --rounds 1 --phases dask2   # a dry run

Each student hands in every notebook, answered correctly, with one exercise wrong, with
one exercise that does not even parse, or untouched, in turn. The same files are run
through nbclient alone ("plain": what executing them costs, with nbgrader's environment
variable set so notebook 3 trains as briefly as it does under grading) and through
``python -m grader grade`` (fresh course each time: everything is graded), with 1 and 2
workers, and on a Dask LocalCluster of 2 worker processes (``grade --scheduler``, a new
cluster each time; its start is not timed, the workers' preparing their courses is).
The machine is shared and noisy (its disk stalls now and then), so the
phases run in rounds, in turn forwards and backwards (plain, grade, plain, grade, Dask;
then Dask, grade, plain, grade, plain), which cancels a steady drift; each phase's median over the
rounds is reported, each round's own ratios show the spread, and so does a second measure
that a stall in one notebook hardly moves: the median over the notebooks of each one's
grading time over its plain execution time. Each phase's CPU time (its processes' user and
system seconds, kernels and sandbox forks included) shows what it costs a machine with no
core to spare; for the Dask phase that is the coordinator's, the scheduler's (in this
process) and the workers' with everything below them, read from /proc before they exit
(they are not this process's reaped children until then). Each local phase's memory is the
most its processes held at once (their summed PSS, sampled twice a second), per worker.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat

from grader.batch import solved_submission
from grader.course import GRADING_STEPS, REPO, RELEASE, assignments

KINDS = ("correct", "wrong", "broken", "correct", "untouched")
PHASES = (("plain", 1), ("grade", 1), ("plain", 2), ("grade", 2), ("dask", 2))
LABELS = {"plain": "plain execution", "grade": "grade", "dask": "grade on Dask"}
GRADED = re.compile(r"^graded  (\S+) (\S+) (\S+)  \((.*)\)  ([\d.]+) s$", re.M)  # a line of `grade`


def _answer_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution") and re.search(r"^def \w+", c.source, re.M)]


def submission(assignment: str, kind: str) -> nbformat.NotebookNode:
    if kind == "untouched":
        return nbformat.read(str(RELEASE / f"{assignment}.ipynb"), as_version=4)
    nb = nbformat.reads(solved_submission(assignment).data.decode(), as_version=4)
    cell = _answer_cells(nb)[0]
    name = re.search(r"^def (\w+)", cell.source, re.M)[1]
    if kind == "wrong":
        cell.source = f"def {name}(*args, **kwargs):\n    return None\n"
    elif kind == "broken":
        cell.source = f"def {name}(:\n    pass\n"
    return nb


def _execute(path: str) -> float:
    from nbclient import NotebookClient

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    # As the grader does: notebook 3 saves its (short-trained) model to a scratch home,
    # never to the user's, where notebooks 4 to 6 would pick it up.
    with tempfile.TemporaryDirectory() as home:
        os.environ["INDUCTION_CIRCUITS_HOME"] = home
        NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    return time.perf_counter() - start


def _quiet() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the kernels' warnings about TCP, as in `grade`


def _cpu() -> float:
    """CPU seconds of this process's finished children, theirs included (those they waited
    for: a sandbox fork still running when its kernel is stopped is not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PeakMemory(threading.Thread):
    """The most memory this process's descendants (workers, templates, kernels, forks) held
    at once during a phase, sampled twice a second: the sum of their PSS, in which a page
    that processes share (a fork's libraries, the template's imports) counts once in all."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._done = 0, threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._done.wait(0.5):
            total = 0
            for proc in me.children(recursive=True):
                try:
                    total += proc.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self._done.set()
        self.join()


def plain(paths: list[Path], workers: int) -> tuple[float, dict[str, float], float, int]:
    """The class total, each file's seconds, the CPU seconds and the peak memory (bytes)."""
    start, cpu = time.perf_counter(), _cpu()
    with PeakMemory() as memory, ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_quiet) as pool:
        each = list(pool.map(_execute, map(str, paths)))
    return time.perf_counter() - start, {p.name: t for p, t in zip(paths, each)}, _cpu() - cpu, memory.peak


def grade(folder: Path, workers: int, scheduler: str | None = None) -> tuple[float, dict[str, float], float, dict[str, str], int]:
    """The class total as an instructor waits for it, each file's seconds in its worker,
    the CPU seconds (of `grade` and what it waited for), each file's score, and the peak
    memory of `grade` and its processes (bytes; not sampled on a cluster, whose workers
    are not this process's children, nor counted in this process's CPU time there)."""
    where = ["--scheduler", scheduler] if scheduler else ["--workers", str(workers)]
    with tempfile.TemporaryDirectory() as course, (contextlib.nullcontext() if scheduler else PeakMemory()) as memory:
        start, cpu = time.perf_counter(), _cpu()
        run = subprocess.run([sys.executable, "-m", "grader", "--course", course, "grade", str(folder), *where],
                             cwd=REPO, capture_output=True, text=True)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if run.returncode:
        sys.exit(f"grading failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr[-2000:]}")
    graded = list(GRADED.finditer(run.stdout))
    return seconds, {m[4]: float(m[5]) for m in graded}, cpu, {m[4]: m[3] for m in graded}, getattr(memory, "peak", 0)


def _tree_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes and of everything below them: each live one's own,
    and what its finished children (and theirs) used, as the kernel counts it at reaping."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in tree:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:  # ended just now: its parent counts it once reaped (missed here)
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def dask_grade(folder: Path, workers: int) -> tuple[float, dict[str, float], float, dict[str, str]]:
    """As ``grade``, through a new LocalCluster of ``workers`` processes of one thread; the CPU
    seconds add the workers' (everything below them too) and this process's (the scheduler)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        own, below = resource.getrusage(resource.RUSAGE_SELF), _tree_cpu(pids)
        seconds, each, cpu, graded, _ = grade(folder, workers, cluster.scheduler_address)
        mine = resource.getrusage(resource.RUSAGE_SELF)
        cpu += _tree_cpu(pids) - below + (mine.ru_utime + mine.ru_stime) - (own.ru_utime + own.ru_stime)
    return seconds, each, cpu, graded, 0


def write_class(folder: Path, students: int, names: list[str]) -> tuple[list[Path], dict[str, int]]:
    paths, kinds = [], defaultdict(int)
    for n in range(students):
        for i, assignment in enumerate(names):
            kind = KINDS[(n + i) % len(KINDS)]
            kinds[kind] += 1
            path = folder / f"student{n:02d}_{assignment}.ipynb"
            nbformat.write(submission(assignment, kind), str(path))
            paths.append(path)
    return paths, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 students instead of 10")
    parser.add_argument("--students", type=int)
    parser.add_argument("--rounds", type=int, default=2, help="times each phase runs (default 2)")
    parser.add_argument("--phases", default=",".join(f"{k}{w}" for k, w in PHASES),
                        help="which to run, of %(default)s")
    args = parser.parse_args()
    phases = [(k, w) for k, w in PHASES if f"{k}{w}" in args.phases.split(",")]
    students = args.students or (4 if args.quick else 10)
    # As under grading: one torch thread per kernel, notebook 3's training cut short.
    os.environ.update(OMP_NUM_THREADS="1", NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg",
                      INDUCTION_CIRCUITS_MAX_STEPS=str(GRADING_STEPS), HF_HUB_OFFLINE="1")
    names = [a for a in assignments() if (RELEASE / f"{a}.ipynb").exists()]
    runs = defaultdict(list)  # (kind, workers) -> [(total, {file: seconds}, cpu)] over the rounds
    memory = defaultdict(list)  # (kind, workers) -> [peak bytes] over the rounds
    scores = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        paths, kinds = write_class(folder, students, names)
        count = len(paths)
        print(f"class: {students} students x {len(names)} notebooks = {count} submission-notebooks "
              f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}); {args.rounds} round(s)")
        for r in range(args.rounds):
            for kind, workers in phases if r % 2 == 0 else phases[::-1]:
                if kind == "plain":
                    total, each, cpu, peak = plain(paths, workers)
                else:
                    total, each, cpu, graded, peak = (grade if kind == "grade" else dask_grade)(folder, workers)
                runs[kind, workers].append((total, each, cpu))
                memory[kind, workers].append(peak)
                print(f"  round {r + 1}: {kind} with {workers} worker(s) {total:7.1f} s  (CPU {cpu:7.1f} s)",
                      flush=True)
                if kind != "plain":
                    if scores is None:
                        scores = graded
                        print(f"    scores: {' '.join(scores[p.name] for p in paths)}")
                    elif graded != scores:  # grading the same files again must give the same grades
                        sys.exit(f"the grades changed between runs: {graded} against {scores}")
    report(runs, memory, paths, names, args.rounds)


def report(runs: dict, memory: dict, paths: list[Path], names: list[str], rounds: int) -> None:
    count, ran = len(paths), [phase for phase in PHASES if phase in runs]
    total = {phase: statistics.median(t for t, _, _ in runs[phase]) for phase in ran}
    cpu = {phase: statistics.median(c for _, _, c in runs[phase]) for phase in ran}
    peak = {phase: max(memory[phase]) for phase in ran}
    # Each file's median seconds over the rounds.
    each = {phase: {p.name: statistics.median(e[p.name] for _, e, _ in runs[phase]) for p in paths}
            for phase in ran}
    print(f"\n{'':30s}{'class total':>12s}{'s per notebook':>16s}{'CPU s per notebook':>20s}"
          f"{'notebooks/hour':>16s}{'peak GB per worker':>20s}   (median of {rounds} round(s); memory: the most)")
    for kind, workers in ran:
        label = f"{LABELS[kind]}, {workers} worker{'s' * (workers > 1)}"
        held = f"{peak[kind, workers] / workers / 1e9:19.2f}" if peak[kind, workers] else f"{'-':>19s}"
        print(f"{label:30s}{total[kind, workers]:11.1f}s{total[kind, workers] / count:15.1f}s"
              f"{cpu[kind, workers] / count:19.1f}s{count / total[kind, workers] * 3600:16.0f}{held}")
    if ("dask", 2) in ran and ("grade", 2) in ran:
        print(f"\nDask, 2 workers / grade, 2 workers: time {total['dask', 2] / total['grade', 2]:.2f}x, "
              f"CPU {cpu['dask', 2] / cpu['grade', 2]:.2f}x")
    if not {("plain", 1), ("grade", 1), ("plain", 2), ("grade", 2)} <= set(ran):
        return
    print("\nper notebook with 1 worker, seconds (plain -> graded):")
    for assignment in names:
        mine = [p.name for p in paths if p.name.endswith(f"_{assignment}.ipynb")]
        p, g = (statistics.mean(each[kind, 1][name] for name in mine) for kind in ("plain", "grade"))
        print(f"  {assignment:28s}{p:6.1f} -> {g:5.1f}  ({g / p:.2f}x)")
    for workers in (1, 2):
        spread = ", ".join(f"{g / p:.2f}x" for (p, _, _), (g, _, _) in zip(runs["plain", workers], runs["grade", workers]))
        paired = statistics.median(each["grade", workers][p.name] / each["plain", workers][p.name] for p in paths)
        print(f"\n{workers} worker{'s' * (workers > 1)}: grading / plain execution {total['grade', workers] / total['plain', workers]:.2f}x "
              f"(each round: {spread}); the median notebook {paired:.2f}x")
    print(f"\nCPU time: grading / plain execution {cpu['grade', 1] / cpu['plain', 1]:.2f}x with 1 worker, "
          f"{cpu['grade', 2] / cpu['plain', 2]:.2f}x with 2")
    print("target (issue 18): at most 0.6x in CPU time")


if __name__ == "__main__":
    main()
