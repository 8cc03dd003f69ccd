"""nbgrader preprocessors that keep student code out of the grading kernel.

``SandboxStudentCode`` (before Execute) leaves the instructor's cells alone (locked
cells and test cells, as restored from the gradebook) and turns every other code cell
into ``grader._student.student_cell(globals(), <its source>, <settings>)``; the kernel
then runs only instructor code, and student code only in locked-down forks of it.
``RestoreStudentCode`` (after Execute) puts the student's own source back, so the graded
notebook and its feedback show what the student wrote.
"""
from __future__ import annotations

import ast
import functools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Int, List, Unicode

from ._names import bound

REPO = Path(__file__).resolve().parent.parent
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.M | re.S)
STASH = "student_source"


def _bound(source: str) -> set[str]:
    try:
        return bound(ast.parse(source).body)
    except SyntaxError:
        return set()


def hidden_names(sources: list[str]) -> list[str]:
    """Names bound only inside hidden tests (their helpers and reference versions)."""
    hidden, public = set(), set()
    for source in sources:
        for block in HIDDEN.findall(source):
            hidden |= _bound(block)
        public |= _bound(HIDDEN.sub("", source))
    return sorted(hidden - public)


@functools.cache
def kernel_guards() -> bool:
    """Whether forks get the kernel-level guards here (mount namespace, seccomp filter)."""
    from . import _mounts, _seccomp

    scratch = tempfile.mkdtemp(prefix="grader-probe-")
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _mounts.isolate(scratch, []) and _seccomp.install() else 1)
    status = os.waitpid(pid, 0)[1]
    shutil.rmtree(scratch, ignore_errors=True)
    return os.waitstatus_to_exitcode(status) == 0


class SandboxStudentCode(NbGraderPreprocessor):
    timeout = Float(60.0, help="Seconds one call of student code may take").tag(config=True)
    memory = Int(4 << 30, help="Bytes student code may allocate in one call").tag(config=True)
    protected = List(Unicode(), help="Folders student code may not read (the course folder)").tag(config=True)

    def preprocess(self, nb, resources):
        if not kernel_guards():
            self.log.warning("No mount namespaces or seccomp here: student code is held by Python's "
                             "audit hook only, which native code can get past (see the README's "
                             "threat model)")
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source = gradebook.find_notebook(info["notebook"], info["assignment"])
            graded = {c.name for c in source.grade_cells}
            answers = {c.name for c in source.solution_cells}
            cells = [(c.name, c.cell_type, c.locked, c.source) for c in source.source_cells]
        trusted = {name: text for name, kind, locked, text in cells
                   if kind == "code" and name not in answers and (locked or name in graded)}
        instructor = set().union(*(_bound(text) for text in trusted.values()))
        exercises = set().union(*(_bound(text) for name, _, _, text in cells if name in answers))
        settings = {"timeout": self.timeout, "memory": self.memory,
                    "hidden": hidden_names([text for _, kind, _, text in cells if kind == "code"]),
                    "fixed": sorted(instructor - exercises),
                    "protected": self._protected(info["db_url"], resources),
                    "readable": [str(REPO / "utils"), str(REPO / "grader"), sys.prefix, sys.base_prefix]}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in trusted and cell.source == trusted[grade_id]:
                continue
            cell.metadata[STASH] = cell.source
            cell.source = (f'__import__("grader._student")._student.student_cell('
                           f'globals(), {cell.source!r}, {settings!r})')
        return nb, resources

    def _protected(self, db_url: str, resources) -> list[str]:
        """The repository (sources, tests), the folder being graded, the gradebook,
        IPython's folder, and whatever the course adds (``grader.course``: its folder)."""
        from IPython.paths import get_ipython_dir

        paths = [str(REPO), resources["metadata"]["path"], get_ipython_dir(), *self.protected]
        if db_url.startswith("sqlite:///"):
            paths.append(db_url.removeprefix("sqlite:///"))
        return paths


class RestoreStudentCode(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if STASH in cell.metadata:
                cell.source = cell.metadata.pop(STASH)
        return nb, resources
