"""Submissions as they arrive: finding them in a folder, naming them, normalising them.

``discover`` walks a folder of loose notebooks and zip files (nested folders are fine)
and maps each file to a student and an assignment through naming patterns.
``normalise`` turns whatever the student handed in (a Colab save, test cells edited,
deleted, duplicated, reordered or stripped of their metadata) into the release notebook
with the student's answers in it, so nbgrader grades it as if the test cells were intact.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat

from .course import RELEASE

# Tried in order on the end of each file's path inside the folder (a zip counts as a
# folder named after it); the first that matches names the student and the assignment.
# {student} and {assignment} are what they say, {id} is digits an LMS adds, {any} is
# anything within one path component. A resubmission suffix ("-1", " (2)") is allowed
# after the assignment.
DEFAULT_PATTERNS = (
    "{student}_{id}_assignsubmission_file_/{assignment}.ipynb",    # Moodle, folders
    "{student}/{assignment}.ipynb",                                # a folder per student
    "{student}_late_{id}_{id}_{assignment}.ipynb",                 # Canvas, late
    "{student}_{id}_{id}_{assignment}.ipynb",                      # Canvas
    "{student}_{id}_assignsubmission_file_{assignment}.ipynb",     # Moodle, flat
    "{student}_{assignment}.ipynb",                                # the course's own naming
)
_RESUBMISSION = r"(?:-\d+| \(\d+\))?"
_SKIPPED_PARTS = ("__MACOSX", ".ipynb_checkpoints")


class SubmissionError(ValueError):
    """This file cannot be graded; the message says why, for the report."""


@dataclass
class Submission:
    label: str        # where it came from: a path in the folder, or "archive.zip!member"
    student: str | None
    assignment: str | None
    data: bytes
    error: str | None = None  # set when the file cannot be graded at all

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _regex(pattern: str, assignment: str) -> re.Pattern:
    parts = re.split(r"(\{student\}|\{assignment\}|\{id\}|\{any\})", pattern)
    regex = "".join({"{student}": r"(?P<student>[^/]+?)",
                     "{assignment}": f"(?P<assignment>{assignment}){_RESUBMISSION}",
                     "{id}": r"\d+",
                     "{any}": r"[^/]*?"}.get(part, re.escape(part)) for part in parts)
    return re.compile(f"(?:^|/){regex}$")


def identify(path: str, known: list[str], patterns=DEFAULT_PATTERNS) -> tuple[str, str]:
    """(student, assignment) for a path inside the submissions folder, or SubmissionError."""
    names = "|".join(re.escape(name) for name in sorted(known, key=len, reverse=True))
    for pattern in patterns:
        if names and (match := _regex(pattern, names).search(path)):
            return match["student"], match["assignment"]
    # Say "unknown assignment" rather than "no match" when only the assignment is wrong.
    for pattern in patterns:
        if match := _regex(pattern, r"\d\d_[^/]+?").search(path):
            raise SubmissionError(f"unknown assignment {match['assignment']!r} "
                                  f"(known: {', '.join(known)})")
    raise SubmissionError("file name matches no naming pattern ("
                          + "; ".join(patterns) + ")")


def _skipped(relative: PurePosixPath) -> bool:
    return any(part.startswith(".") or part in _SKIPPED_PARTS for part in relative.parts)


def _files(folder: Path):
    """(label, path for the patterns, bytes) of every file, zip members included."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        if _skipped(relative):
            continue
        if path.suffix.lower() != ".zip":
            yield str(relative), str(relative), path.read_bytes()
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist()):
                    inner = PurePosixPath(member)
                    if member.endswith("/") or _skipped(inner):
                        continue
                    yield (f"{relative}!{member}", str(relative.with_suffix("") / inner),
                           archive.read(member))
        except zipfile.BadZipFile:
            yield str(relative), str(relative), b"PK-not-a-zip"


def discover(folder: Path, known: list[str], patterns=DEFAULT_PATTERNS) -> list[Submission]:
    """Every file in ``folder``, each named or given the reason it cannot be graded."""
    found = []
    for label, path, data in _files(Path(folder)):
        try:
            if not path.lower().endswith(".ipynb"):
                raise SubmissionError("not a notebook (.ipynb) or a zip of notebooks")
            student, assignment = identify(path, known, patterns)
            parse(data)
            found.append(Submission(label, student, assignment, data))
        except SubmissionError as error:
            found.append(Submission(label, None, None, data, str(error)))
    # Two files for one student and assignment: grading either would be a guess.
    by_key: dict[tuple, list[Submission]] = {}
    for sub in found:
        if not sub.error:
            by_key.setdefault((sub.student, sub.assignment), []).append(sub)
    for (student, assignment), subs in by_key.items():
        if len(subs) > 1:
            for sub in subs:
                sub.error = (f"{len(subs)} files for {student} {assignment} "
                             f"({', '.join(s.label for s in subs)}): keep one")
    return found


# --- normalisation -------------------------------------------------------------------

def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _text(cell) -> str:
    return _source(cell).strip()


def _signature(source: str) -> str | None:
    """The ``def name(`` an exercise cell asks for, to find the answer by its content."""
    match = re.search(r"^(def|class)\s+(\w+)", source, re.M)
    return match and f"{match[1]} {match[2]}"


def parse(data: bytes) -> dict:
    """The notebook's JSON, or SubmissionError saying plainly what is wrong with the file."""
    if not data.strip():
        raise SubmissionError("empty file")
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SubmissionError("not a notebook: binary data, not JSON text") from None
    except json.JSONDecodeError as error:
        raise SubmissionError(f"not a notebook: malformed JSON ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a list of cells "
                              "(an old nbformat 3 file, or another kind of JSON)")
    if any(not isinstance(cell, dict) for cell in notebook["cells"]):
        raise SubmissionError("not a notebook: a cell is not a JSON object")
    return notebook


def normalise(data: bytes, assignment: str, release_dir: Path = RELEASE) -> nbformat.NotebookNode:
    """The release notebook of ``assignment`` with the student's answers and added cells.

    Every cell the student may not change (tests, instructions, setup) comes from the
    release, whatever the submission did to it. Each answer cell is found by its
    grade_id, else by the function it defines, else by its place between cells that
    match the release; cells the student added are kept where they were.
    """
    student = parse(data)["cells"]
    release = nbformat.read(str(release_dir / f"{assignment}.ipynb"), as_version=4)
    ids = {_meta(cell).get("grade_id"): r for r, cell in enumerate(release.cells)}
    locked = {}
    for r, cell in enumerate(release.cells):
        if not _meta(cell).get("solution"):
            locked.setdefault(_text(cell), r)

    # Which release cell each student cell is (None: an answer or an added cell).
    match: list[int | None] = []
    for cell in student:
        r = ids.get(_meta(cell).get("grade_id"))
        if r is not None and release.cells[r].cell_type == cell.get("cell_type"):
            match.append(r)
        else:
            match.append(locked.get(_text(cell)) if _text(cell) else None)

    answers: dict[int, int] = {}  # release answer cell -> student cell
    for s, r in enumerate(match):
        if r is not None and _meta(release.cells[r]).get("solution"):
            answers[r] = s  # the last copy wins, as it would when the notebook runs
    free = [s for s, r in enumerate(match) if r is None]
    for r, cell in enumerate(release.cells):
        if r in answers or not _meta(cell).get("solution"):
            continue
        signature = _signature(_text(cell))
        candidates = [s for s in free if student[s].get("cell_type") == cell.cell_type
                      and signature and signature in _text(student[s])]
        if candidates:
            s = candidates[-1]
        else:  # by place: the nearest (within 3 cells) to where the release cell before it went
            before = [(m, s) for s, m in enumerate(match) if m is not None and m < r]
            anchor = max(before)[1] if before else -1
            near = [s for s in free if abs(s - anchor) <= 3
                    and student[s].get("cell_type") == cell.cell_type]
            s = min(near, key=lambda s: (abs(s - anchor), s < anchor), default=None)
        if s is not None:
            answers[r] = s
            free.remove(s)

    out = copy.deepcopy(release)
    for r, s in answers.items():
        out.cells[r].source = _source(student[s])
    # Added cells go after the release cell of the nearest matched cell above them.
    placed: dict[int, list] = {}
    anchor = -1
    for s, cell in enumerate(student):
        if match[s] is not None:
            anchor = match[s]
        elif s in free and cell.get("cell_type") in ("code", "markdown") and _text(cell):
            placed.setdefault(anchor, []).append(
                nbformat.v4.new_code_cell(_source(cell)) if cell["cell_type"] == "code"
                else nbformat.v4.new_markdown_cell(_source(cell)))
    cells = list(placed.get(-1, []))
    for r, cell in enumerate(out.cells):
        cells.append(cell)
        cells.extend(placed.get(r, []))
    out.cells = cells
    return out
