"""The nbgrader course, laid out on demand from ``solutions/``.

Each assignment is written once, as ``solutions/<assignment>.py`` in jupytext's percent
format (nbgrader's cell metadata in each cell's header; ``solutions/jupytext.toml`` pins
the format). ``solutions/<assignment>.ipynb`` is generated from it (``release`` writes it;
a test fails when it is stale) for the tools that read notebooks.

nbgrader wants ``<course>/source/<assignment>/<notebook>.ipynb``; the repository
keeps one flat ``solutions/<assignment>.py`` per assignment instead. A
``Course`` writes the sources into a course folder (``grader/course`` unless
told otherwise), runs nbgrader there with ``grader/nbgrader_config.py``, and
copies results out. Submissions are copied in, never touched where they lie.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"
ADDRESS_FILE = Path(__file__).resolve().parent / "course.toml"
# What ADDRESS_FILE ships with, before the course repository is published.
PLACEHOLDER_REPOSITORY = "https://github.com/induction-circuits/induction-circuits"
DEFAULT_COURSE = Path(__file__).resolve().parent / "course"
# Training steps a graded notebook runs (the toolkit's INDUCTION_CIRCUITS_MAX_STEPS): a few
# steps still run the learner's train_step through the loop, and no test needs more.
GRADING_STEPS = 5


def assignments() -> list[str]:
    """Assignment ids, one per source file, in curriculum order."""
    return sorted(path.stem for path in SOLUTIONS.glob("*.py"))


@dataclass
class Address:
    """Where the course lives (``grader/course.toml``): what every release notebook's first
    cell installs, and where its "Open in Colab" badge opens it from."""
    repository: str
    branch: str = "main"
    toolkit: str = ""

    def __post_init__(self):
        self.repository = self.repository.rstrip("/").removesuffix(".git")
        if not self.repository.startswith("https://github.com/") or self.repository.count("/") != 4:
            raise ValueError(f"{ADDRESS_FILE}: repository must be https://github.com/<owner>/<name>, "
                             f"not {self.repository!r} (Colab opens notebooks from GitHub)")
        self.toolkit = self.toolkit or f"induction-circuits @ git+{self.repository}"

    @property
    def placeholder(self) -> bool:
        return self.repository == PLACEHOLDER_REPOSITORY

    def colab_url(self, assignment: str) -> str:
        path = self.repository.removeprefix("https://github.com/")
        return f"https://colab.research.google.com/github/{path}/blob/{self.branch}/notebooks/{assignment}.ipynb"


def course_address(path: Path = ADDRESS_FILE) -> Address:
    import tomllib

    return Address(**tomllib.loads(path.read_text())["course"])


def address_warning(address: Address) -> str | None:
    """What release says, loudly, while the address is still the placeholder."""
    if not address.placeholder:
        return None
    line = "!" * 78
    return (f"{line}\n!! The course address in {ADDRESS_FILE} is still the placeholder\n"
            f"!!   {address.repository}\n"
            "!! The release notebooks' first cell installs the toolkit from it, and their\n"
            "!! 'Open in Colab' badges open them from it: neither works for students until you\n"
            f"!! set it to the course's GitHub repository and run release again.\n{line}")


def header_cells(assignment: str, address: Address) -> list:
    """The cells release puts at the top of every notebook: the Colab badge, and the cell
    that installs the toolkit (never while being graded, and never replacing Colab's torch:
    the toolkit's torch requirement admits Colab's build). Locked, with grade ids of their
    own, so grading puts them back as they are."""
    import nbformat

    def locked(cell, grade_id):
        cell.id = grade_id
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": True,
                                     "schema_version": 3, "solution": False, "task": False}
        return cell

    badge = nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({address.colab_url(assignment)})")
    install = nbformat.v4.new_code_cell(
        "# Installs the course toolkit where it is missing (on Colab: about a minute; it keeps\n"
        "# Colab's own torch). Written by `python -m grader release` from grader/course.toml.\n"
        "import importlib.util, os, subprocess, sys\n"
        "\n"
        f"TOOLKIT = {json.dumps(address.toolkit)}\n"
        "# Never install while being graded: a grading machine must already have the toolkit.\n"
        'if importlib.util.find_spec("induction_circuits") is None and "NBGRADER_EXECUTION" not in os.environ:\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", TOOLKIT], check=True)')
    return [locked(badge, "colab_badge"), locked(install, "install_toolkit")]


POSITIONAL_ID = re.compile(r"(code|md)_\d+[a-z]?(_.*)?")


def source_notebook(assignment: str, solutions: Path = SOLUTIONS):
    """The nbgrader source notebook written in ``solutions/<assignment>.py``.

    Cell ids are the cells' grade ids (the text form has no ids, and every cell has a
    grade id), so the same text always gives the same notebook."""
    import jupytext
    import nbformat

    notebook = jupytext.read(solutions / f"{assignment}.py", fmt="py:percent")
    notebook.metadata.pop("jupytext", None)
    for cell in notebook.cells:
        cell.id = cell.metadata["nbgrader"]["grade_id"]
        if POSITIONAL_ID.fullmatch(cell.id):
            # A grade id is the gradebook's key: one that counts cells changes meaning
            # when a cell is inserted, and a course already graded then loses its marks.
            raise ValueError(f"solutions/{assignment}.py: grade id {cell.id!r} numbers the cell; "
                             "name it after what the cell does (code_ov_eigenvalues, md_see_...)")
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = None, []
    nbformat.validate(notebook)
    return notebook


def write_source_notebook(assignment: str, out_dir: Path = SOLUTIONS) -> Path:
    """Regenerate ``out_dir/<assignment>.ipynb`` from ``solutions/<assignment>.py``."""
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{assignment}.ipynb"
    nbformat.write(source_notebook(assignment), str(target))
    return target


def alembic_head() -> str:
    """The migration a new gradebook is stamped with: what nbgrader's own
    ``get_alembic_version`` reads from the `alembic heads` command, read in this process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def read_alembic_head_in_process() -> None:
    """nbgrader starts a Python process (3 s) for `alembic heads` each time it creates a
    gradebook, as every grading worker and ``check`` does: answer it from this one."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


@dataclass
class CellGrade:
    name: str
    score: float
    max_score: float
    needs_manual_grade: bool
    written: bool  # a written answer (markdown), graded by a person unless left blank


@dataclass
class NotebookGrade:
    student: str
    assignment: str
    cells: list[CellGrade]
    # Why each failing test cell failed: the exception's type and message only, never
    # the test's code or traceback (hidden tests stay hidden).
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def auto_score(self) -> float:
        return sum(c.score for c in self.cells if not c.written)

    @property
    def auto_max(self) -> float:
        return sum(c.max_score for c in self.cells if not c.written)


class GradingError(RuntimeError):
    """nbgrader could not run for this submission (not a low score: a failure)."""


class Course:
    def __init__(self, root: Path = DEFAULT_COURSE, db_url: str | None = None,
                 protected: tuple[Path, ...] = ()):
        from nbgrader.apps import NbGraderAPI
        from traitlets.config.loader import PyFileConfigLoader

        read_alembic_head_in_process()
        self.root = Path(root).resolve()
        # Folders student code may not read besides this course (e.g. a batch's other
        # workers, and the real gradebook's course).
        self.protected = [self.root, *(Path(p).resolve() for p in protected)]
        self.root.mkdir(parents=True, exist_ok=True)
        config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
        config.CourseDirectory.root = str(self.root)
        if db_url:
            config.CourseDirectory.db_url = db_url
        self.api = NbGraderAPI(config=config)
        self._generated: set[str] = set()

    @property
    def db_url(self) -> str:
        return self.api.coursedir.db_url

    def _check(self, result: dict, what: str) -> None:
        if not result.get("success"):
            raise GradingError(f"{what} failed:\n{result.get('error') or result.get('log')}")

    def generate(self, assignment: str) -> Path:
        """Write the source in, with the course's header cells on top (``header_cells``),
        and run ``generate_assignment``; returns the release notebook."""
        import nbformat

        source = self.root / "source" / assignment / f"{assignment}.ipynb"
        source.parent.mkdir(parents=True, exist_ok=True)
        notebook = source_notebook(assignment)
        notebook.cells[:0] = header_cells(assignment, course_address())
        nbformat.write(notebook, str(source))
        self._check(self.api.generate_assignment(assignment, force=True, create=True),
                    f"generate_assignment {assignment}")
        self._generated.add(assignment)
        return self.root / "release" / assignment / f"{assignment}.ipynb"

    def adopt(self, template: Path, assignments) -> None:
        """Take ``assignments`` as generated in the course at ``template`` (SQLite, nothing
        graded): its gradebook, sources and releases are copied in, instead of generating
        them again here (which costs seconds, and this course must have no gradebook yet)."""
        if not assignments:
            return
        template = Path(template)
        for part in ("source", "release"):
            for assignment in assignments:
                shutil.copytree(template / part / assignment, self.root / part / assignment)
        shutil.copyfile(template / "gradebook.db", self.root / "gradebook.db")
        self._generated.update(assignments)

    def release(self, assignment: str, out_dir: Path = RELEASE, solutions_dir: Path = SOLUTIONS) -> Path:
        """Regenerate ``solutions_dir/<assignment>.ipynb`` from ``solutions/<assignment>.py``,
        then the student notebook ``out_dir/<assignment>.ipynb``."""
        write_source_notebook(assignment, solutions_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{assignment}.ipynb"
        shutil.copyfile(self.generate(assignment), target)
        return target

    def autograde(self, submission: Path, student: str, assignment: str) -> NotebookGrade:
        """Grade one submitted notebook (a copy of it) and return its cell grades."""
        if assignment not in self._generated:
            self.generate(assignment)
        target = self.root / "submitted" / student / assignment / f"{assignment}.ipynb"
        if target.parent.exists():
            shutil.rmtree(target.parent)
        target.parent.mkdir(parents=True)
        shutil.copyfile(submission, target)
        # Whatever the notebook saves goes to a fresh scratch folder, not the grader's home,
        # and one per notebook: notebook 3's checkpoint, trained for only a few steps under
        # grading, must not become the model notebooks 4 to 6 load when graded next.
        scratch = self.root / "scratch" / student / assignment
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True)
        # Student code runs in forks of the kernel (grader/sandbox/): they may not read
        # the course folder, and the kernel keeps no input history (it holds hidden tests).
        self.api.config.SandboxStudentCode.protected = [str(p) for p in self.protected]
        ipython = self.root / "ipython"
        (ipython / "profile_default").mkdir(parents=True, exist_ok=True)
        (ipython / "profile_default" / "ipython_kernel_config.py").write_text(
            "c.HistoryManager.enabled = False\n")
        # One torch thread: with its default thread pool, torch slows down about 18x on
        # a 2-core machine when another process is busy (OpenMP threads spin and fight).
        # No GPU: student code runs in forks of the kernel, and CUDA does not survive a fork.
        with mock.patch.dict(os.environ, INDUCTION_CIRCUITS_HOME=str(scratch), MPLBACKEND="Agg",
                             OMP_NUM_THREADS="1", INDUCTION_CIRCUITS_MAX_STEPS=str(GRADING_STEPS),
                             IPYTHONDIR=str(ipython), CUDA_VISIBLE_DEVICES=""):
            result = self.api.autograde(assignment, student, force=True, create=True)
        self._check(result, f"autograde {assignment} for {student}")
        grade = self.grades(student, assignment)
        grade.failures = self._failures(student, assignment)
        return grade

    def _failures(self, student: str, assignment: str) -> dict[str, str]:
        import nbformat

        from ._cells import first_error, grade_id, is_grade

        graded = self.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        failures = {}
        for cell in nbformat.read(str(graded), as_version=4).cells:
            error = first_error(cell) if cell.cell_type == "code" and is_grade(cell) else None
            if error:
                failures[grade_id(cell)] = error[:500]
        return failures

    def grades(self, student: str, assignment: str) -> NotebookGrade:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            cells = [CellGrade(g.name, float(g.score or 0.0), float(g.max_score),
                               bool(g.needs_manual_grade), g.cell.cell_type == "markdown")
                     for g in sorted(notebook.grades, key=lambda g: g.cell.name)]
        return NotebookGrade(student, assignment, cells)
