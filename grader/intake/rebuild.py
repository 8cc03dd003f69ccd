"""A submission rebuilt on the release: what nbgrader grades.

``normalise`` turns whatever the student handed in (a Colab save, test cells edited,
deleted, duplicated, reordered or stripped of their metadata) into the release notebook
with the student's answers in it, so nbgrader grades it as if the test cells were intact.
``parse`` reads the file first, refusing what would stop a reader (nesting, size).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from .._cells import grade_id, metadata
from ..course import RELEASE
from .incoming import MAX_IMAGES, parse


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _text(cell) -> str:
    return _source(cell).strip()


def _signature(source: str) -> str | None:
    """The ``def name(`` an exercise cell asks for, to find the answer by its content."""
    match = re.search(r"^(def|class)\s+(\w+)", source, re.M)
    return match and f"{match[1]} {match[2]}"


def _images(cell) -> dict:
    """The PNG and JPEG images pasted into a markdown cell (its attachments), within a size
    budget: what a written answer may carry besides its text."""
    found, budget = {}, MAX_IMAGES
    attachments = cell.get("attachments")
    for name, bundle in (attachments.items() if isinstance(attachments, dict) else ()):
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        kept = {mime: data for mime, data in bundle.items()
                if mime in ("image/png", "image/jpeg") and isinstance(data, str) and len(data) <= budget}
        if kept:
            budget -= sum(map(len, kept.values()))
            found[name] = kept
    return found


def normalise(data: bytes, assignment: str, release_dir: Path = RELEASE) -> nbformat.NotebookNode:
    """The release notebook of ``assignment`` with the student's answers and added cells,
    from the file's bytes (``rebuild``)."""
    release = nbformat.read(str(release_dir / f"{assignment}.ipynb"), as_version=4)
    return rebuild(parse(data)["cells"], release)


def rebuild(student: list, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The ``release`` notebook with the answers and added cells of ``student`` (its cells).

    Every cell the student may not change (tests, instructions, setup) comes from the
    release, whatever the submission did to it. Each answer cell is found by its
    grade_id, else by the function it defines, else by its place between cells that
    match the release; cells the student added are kept where they were.
    """
    ids = {metadata(cell).get("grade_id"): r for r, cell in enumerate(release.cells)}
    locked = {}
    for r, cell in enumerate(release.cells):
        if not metadata(cell).get("solution"):
            locked.setdefault(_text(cell), r)

    # Which release cell each student cell is (None: an answer or an added cell).
    match: list[int | None] = []
    for cell in student:
        r = ids.get(grade_id(cell))
        if r is not None and release.cells[r].cell_type == cell.get("cell_type"):
            match.append(r)
        else:
            match.append(locked.get(_text(cell)) if _text(cell) else None)

    answers: dict[int, int] = {}  # release answer cell -> student cell
    for s, r in enumerate(match):
        if r is not None and metadata(release.cells[r]).get("solution"):
            answers[r] = s  # the last copy wins, as it would when the notebook runs
    free = [s for s, r in enumerate(match) if r is None]
    for r, cell in enumerate(release.cells):
        if r in answers or not metadata(cell).get("solution"):
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
        if out.cells[r].cell_type == "markdown" and _images(student[s]):
            out.cells[r].attachments = _images(student[s])
    # Added cells go after the release cell of the nearest matched cell above them.
    placed: dict[int, list] = {}
    anchor = -1
    for s, cell in enumerate(student):
        if match[s] is not None:
            anchor = match[s]
        elif s in free and cell.get("cell_type") in ("code", "markdown") and _text(cell):
            placed.setdefault(anchor, []).append(
                nbformat.v4.new_code_cell(_source(cell)) if cell["cell_type"] == "code"
                else nbformat.v4.new_markdown_cell(_source(cell), **({"attachments": _images(cell)} if _images(cell) else {})))
    cells = list(placed.get(-1, []))
    for r, cell in enumerate(out.cells):
        cells.append(cell)
        cells.extend(placed.get(r, []))
    out.cells = cells
    return out
