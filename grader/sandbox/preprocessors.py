"""nbgrader preprocessors that keep student code out of the grading kernel.

``SandboxStudentCode`` (before Execute) leaves the instructor's cells alone (locked
cells, as restored from the gradebook), turns each test cell into
``grader.sandbox._tests.test_cell(globals(), <its index>, <settings>)`` (its source goes to a
file only the test process reads), and every other code cell into
``grader.sandbox._student.student_cell(globals(), <its source>, <settings>)``; the kernel
then runs only instructor code, and student code only in locked-down forks of it.
An instructor's cell that only shows something (``display_cells``: it calls student
code, and nothing afterwards reads what it binds) goes the same way, so that it costs
one fork rather than one per call of student code in it; what it binds stays there.
``RestoreStudentCode`` (after Execute) puts the student's own source back, so the graded
notebook and its feedback show what the student wrote.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, Float, Int, List, Unicode

from .._cells import HIDDEN_TESTS, grade_id
from ._names import ANY, DEFINITIONS, SCOPES, bound, changeable, forget, outside_scopes, read_before_rebound, reads

REPO = Path(__file__).resolve().parents[2]
STASH = "student_source"
TESTS = "grader_tests"  # (resources) the folder of the test cells' sources, while grading


@functools.lru_cache(maxsize=1024)  # (only ever the instructor's sources: a worker parses each once)
def _bound(source: str) -> frozenset[str]:
    try:
        return frozenset(bound(ast.parse(source).body))
    except SyntaxError:
        return frozenset()


def hidden_names(sources: list[str]) -> list[str]:
    """Names bound only inside hidden tests (their helpers and reference versions)."""
    hidden, public = set(), set()
    for source in sources:
        for block in HIDDEN_TESTS.findall(source):
            hidden |= _bound(block)
        public |= _bound(HIDDEN_TESTS.sub("", source))
    return sorted(hidden - public)


def _kept(source: str, later: list[list]) -> set[str]:
    """The names a test cell's visible code binds (not its hidden tests) that later cells
    read: the test process hands their values back to the kernel."""
    visible = _bound(HIDDEN_TESTS.sub("", source))
    hidden = set().union(*(_bound(block) for block in HIDDEN_TESTS.findall(source)))
    return read_before_rebound(visible - hidden, later)


# What IPython's input transformers act on (IPython.core.inputtransformer2): a line that starts
# with an escape (% %% ! ? , ; /) or a prompt (>>>, ..., In [1]:), ends in ?, or assigns a
# magic's or a command's output (x = %time f(), x = !ls); and an indented first line.
IPYTHON_SYNTAX = re.compile(r"[ \t]*(?:[%!?,;/]|>>>|\.\.\.|In \[\d*\]:)|.*\?[ \t]*$|.*=[ \t]*[%!]")


def _statements(source: str) -> list:
    """A cell's statements, for reading which names it uses. A cell that is not Python but
    may be IPython (``%time f()``) may use any name; plain Python that does not compile runs
    nothing. (Not IPython's own transformer, to tell: it is quadratic in a cell's magics, and
    a student's cell may hold thousands. Not cached past one notebook: a cell may be
    megabytes, and its tree hundreds of times that.)"""
    anything = [ast.Expr(ast.Name(ANY, ast.Load()))]
    try:
        return ast.parse(source).body
    except (RecursionError, MemoryError):  # nested deeper than the parser's stack (a.b.b..., not not ...)
        return anything
    except SyntaxError:
        pass
    # Lines as str.splitlines cuts them: at form feeds and other breaks too, which IPython drops
    # as it would an empty line (more lines than IPython sees: more cells read as IPython).
    lines = source.splitlines()
    first = next((line for line in lines if line.strip()), "")
    return anything if any(map(IPYTHON_SYNTAX.match, lines)) or first[:1].isspace() else []


def _deferred_reads(statements: list) -> set:
    """Names that the functions and classes some code defines may read whenever called (the
    outermost ones: reading each reads what it holds)."""
    return reads([node for node in outside_scopes(statements) if isinstance(node, SCOPES)])


def display_cells(cells: list[tuple[str | None, str]], trusted: dict[str, str], graded: set[str],
                  statements: list | None = None) -> set[str]:
    """Which of the instructor's cells that grade nothing only show something: the cell
    calls student code (a function a student cell defines, or an instructor's function
    that calls one), and no later cell nor any function defined before it may read what
    it binds. In one fork, such a cell costs one fork; in the kernel, one per call it makes.
    ``cells``: (grade_id, source) of the notebook's code cells as graded, in order;
    ``trusted``: the instructor's cells' sources by grade_id, ``graded`` the tests among them;
    ``statements``: the cells parsed (``_statements``), if they already are.
    """
    if statements is None:
        statements = [_statements(source) for _, source in cells]
    mine = [grade_id in trusted and source == trusted[grade_id] for grade_id, source in cells]
    reaches = set().union(*(bound(body) for body, ok in zip(statements, mine) if not ok))
    while True:
        more = {node.name for body, ok in zip(statements, mine) if ok for node in body
                if isinstance(node, DEFINITIONS)
                and reads(node) & reaches} - reaches
        if not more:
            break
        reaches |= more
    found, earlier = set(), set()
    for index, ((name, _), body, ok) in enumerate(zip(cells, statements, mine)):
        if ok and name not in graded and reads(body) & reaches:
            names = bound(body)
            if not (read_before_rebound(names, statements[index + 1:])
                    or names & earlier or (names and ANY in earlier)):
                found.add(name)
        earlier |= _deferred_reads(body)
    return found


def readable() -> list[str]:
    """What student code may read: the Python environment, the toolkit's package (nothing
    else of the repository: not the grader, whose default course holds the sources, nor
    the solutions), and matplotlib's configuration and font cache;
    with the system's libraries (``_mounts.SYSTEM``), nothing else exists in a
    sandbox fork's view."""
    home = os.path.expanduser("~")
    matplotlib = [os.environ.get("MPLCONFIGDIR") or os.path.join(home, ".config", "matplotlib"),
                  os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib")]
    import induction_circuits  # (light: its modules load lazily)

    return [*induction_circuits.__path__, sys.prefix, sys.base_prefix, sys.exec_prefix, *matplotlib]


@functools.cache
def kernel_guards() -> bool:
    """Whether forks get the kernel-level guards here (mount namespace, seccomp filter)."""
    from . import _mounts, _seccomp

    scratch = tempfile.mkdtemp(prefix="grader-probe-")
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _mounts.isolate(scratch, readable(), [], 1 << 20) and _seccomp.install() else 1)
    status = os.waitpid(pid, 0)[1]
    shutil.rmtree(scratch, ignore_errors=True)
    return os.waitstatus_to_exitcode(status) == 0


class SandboxStudentCode(NbGraderPreprocessor):
    timeout = Float(60.0, help="Seconds one call of student code may take").tag(config=True)
    memory = Int(4 << 30, help="Bytes student code may allocate in one call").tag(config=True)
    protected = List(Unicode(), help="Folders student code may not read (the course folder)").tag(config=True)
    disk = Int(64 << 20, help="Bytes student code may write in one call (its scratch folder)").tag(config=True)
    changes = Dict(per_key_traits=None, value_trait=List(Unicode()), key_trait=Unicode(),
                   help="What a call of an exercise's function may change in place and hand back to "
                        "the grading kernel: function name -> parameter names (and \"random state\" "
                        "for the global generators). Nothing else a call changes comes back.").tag(config=True)
    fork_display_cells = Bool(True, help="Run each instructor cell that only shows something "
                              "and calls student code in one fork (see display_cells)").tag(config=True)

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
        # The names the exercises ask for, read from the source's solutions: the gradebook
        # keeps answer cells as released (a recap cell's answers are cleared there).
        solutions = self._solutions(info["assignment"], info["notebook"], answers)
        exercises = set().union(*(_bound(text) for text in solutions))
        settings = {"timeout": self.timeout, "memory": self.memory,
                    "hidden": hidden_names([text for _, kind, _, text in cells if kind == "code"]),
                    "fixed": sorted(instructor - exercises),
                    "exports": sorted(exercises),
                    "changes": changeable(self.changes, solutions),
                    "protected": self._protected(info["db_url"], resources),
                    "readable": readable(), "disk": self.disk}
        code = [c for c in nb.cells if c.cell_type == "code"]
        try:
            return self._sandbox(nb, resources, settings, code, trusted, graded)
        finally:
            forget()

    def _sandbox(self, nb, resources, settings: dict, code: list, trusted: dict, graded: set):
        """Each code cell rewritten as the kernel is to run it (see the module's docstring)."""
        parsed = [_statements(c.source) for c in code]  # (once: each test cell reads the cells after it)
        display = set()
        if self.fork_display_cells:
            display = display_cells([(grade_id(c), c.source) for c in code],
                                    trusted, graded, parsed)
        # The test cells' sources go to a file the kernel never reads (``_tests``): only the
        # test processes it forks do, and no sandbox fork can (it is protected).
        folder = tempfile.mkdtemp(prefix="grader-tests-")
        resources[TESTS] = folder
        settings = {**settings, "tests": os.path.join(folder, "tests.json"),
                    "protected": [*settings["protected"], folder]}
        tests = []
        for index, cell in enumerate(code):
            name = grade_id(cell)
            mine = name in trusted and cell.source == trusted[name]
            if mine and name in graded:
                tests.append({"grade_id": name, "source": cell.source,
                              "keeps": sorted(_kept(cell.source, parsed[index + 1:]))})
                call = f'__import__("grader.sandbox._tests").sandbox._tests.test_cell(globals(), {len(tests) - 1}, '
            elif mine and name not in display:
                continue
            else:
                runner = "display_cell" if mine else "student_cell"
                call = f'__import__("grader.sandbox._student").sandbox._student.{runner}(globals(), {cell.source!r}, '
            cell.metadata[STASH] = cell.source
            cell.source = f"{call}{settings!r})"
        with open(settings["tests"], "w", encoding="utf-8") as handle:
            json.dump(tests, handle)
        return nb, resources

    def _solutions(self, assignment: str, notebook: str, answers: set[str]) -> list[str]:
        """The source's answer cells, solutions in."""
        import nbformat
        from nbgrader.coursedir import CourseDirectory

        folder = CourseDirectory(config=self.config).format_path("source", ".", assignment)
        source = nbformat.read(os.path.join(folder, f"{notebook}.ipynb"), as_version=4)
        return [cell.source for cell in source.cells
                if grade_id(cell) in answers]

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
        if resources.get(TESTS):
            shutil.rmtree(resources.pop(TESTS), ignore_errors=True)
        return nb, resources
