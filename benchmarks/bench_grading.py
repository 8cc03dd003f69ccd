"""Grading a synthetic class: seconds per submission-notebook, against plain execution.

    python benchmarks/bench_grading.py            # 20 students x every released notebook
    python benchmarks/bench_grading.py --quick    # 4 students

Each student hands in every notebook, answered correctly, with one exercise wrong, with
one exercise that does not even parse, or untouched, in turn. The same files are run
through nbclient alone ("plain": what executing them costs, with nbgrader's environment
variable set so notebook 3 trains as briefly as it does under grading) and through
``python -m grader grade`` (fresh course each time: everything is graded), with 1 and 2
workers. Timings on a shared machine are noisy: compare the ratios within one run.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.batch import solved_submission  # noqa: E402
from grader.course import RELEASE, assignments  # noqa: E402

KINDS = ("correct", "wrong", "broken", "correct", "untouched")


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


def plain(paths: list[Path], workers: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_quiet) as pool:
        each = list(pool.map(_execute, map(str, paths)))
    return time.perf_counter() - start, each


def grade(folder: Path, workers: int) -> float:
    with tempfile.TemporaryDirectory() as course:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "grader", "--course", course, "grade", str(folder),
                              "--workers", str(workers)], cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if run.returncode:
            sys.exit(f"grading failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr[-2000:]}")
        graded = [line.split() for line in run.stdout.splitlines() if line.startswith("graded  ")]
        print(f"  graded with {workers} worker(s): {' '.join(line[3] for line in graded)}")
        # Each notebook's time in its worker; the rest is the batch's own (starting, generating
        # the assignments, the environment check, recording).
        busy = sum(float(line[-2]) for line in graded) / workers
        print(f"  grading the notebooks took {busy:.1f} s per worker of the {seconds:.1f} s total")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 students instead of 20")
    parser.add_argument("--students", type=int)
    args = parser.parse_args()
    students = args.students or (4 if args.quick else 20)
    # As under grading: one torch thread per kernel, notebook 3's training cut short.
    os.environ.update(OMP_NUM_THREADS="1", NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg",
                      HF_HUB_OFFLINE="1")
    names = [a for a in assignments() if (RELEASE / f"{a}.ipynb").exists()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        paths, kinds = [], {}
        for n in range(students):
            for i, assignment in enumerate(names):
                kind = KINDS[(n + i) % len(KINDS)]
                kinds[kind] = kinds.get(kind, 0) + 1
                path = folder / f"student{n:02d}_{assignment}.ipynb"
                nbformat.write(submission(assignment, kind), str(path))
                paths.append(path)
        count = len(paths)
        print(f"class: {students} students x {len(names)} notebooks = {count} submission-notebooks "
              f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))})")
        plain1, each = plain(paths, 1)
        for assignment in names:
            times = [t for p, t in zip(paths, each) if p.name.endswith(f"_{assignment}.ipynb")]
            print(f"  plain execution of {assignment}: {sum(times) / len(times):.1f} s per notebook")
        grade1 = grade(folder, 1)
        plain2, _ = plain(paths, 2)
        grade2 = grade(folder, 2)
    print(f"\n{'':28s}{'class total':>12s}{'s per notebook':>16s}")
    for label, seconds in [("plain execution, 1 worker", plain1), ("grade, 1 worker", grade1),
                           ("plain execution, 2 workers", plain2), ("grade, 2 workers", grade2)]:
        print(f"{label:28s}{seconds:11.1f}s{seconds / count:15.1f}s")
    print(f"\ngrading / plain execution: {grade1 / plain1:.2f}x with 1 worker, "
          f"{grade2 / plain2:.2f}x with 2 workers (target: at most 1.5x)")


if __name__ == "__main__":
    main()
