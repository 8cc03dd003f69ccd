"""Hand grading in nbgrader's formgrader: graded notebooks where it reads them, and the
command that opens it.

``grade`` grades each submission in a worker's own course; ``place`` puts the graded
notebook where the formgrader looks, ``autograded/<student>/<assignment>/<assignment>.ipynb``
in the real course, beside its gradebook rows. What a grader's browser shows of it is made
inert first (``inert``): nbgrader's formgrade page renders markdown and rich outputs as they
are, on the Jupyter server's own origin, where a student's ``<script>`` would act as the
grader. Student markdown becomes sanitised HTML (an allow-list of tags, through bleach; a
pasted PNG or JPEG re-encoded by us) and outputs keep only text and raster images; the
instructor's cells are nbgrader's own copies.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from html import escape
from pathlib import Path

import nbformat

from ._cells import is_locked, solution_sources

SHOWN_OUTPUTS = ("text/plain", "image/png", "image/jpeg")
ATTACHMENT = re.compile(r"!\[([^\]]*)\]\(\s*<?attachment:([^)\s>]+)>?[^)]*\)")
MAX_IMAGE = 4 << 20  # base64 characters of one pasted image shown to graders
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "code",
         "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
         "span", "div", "del", "sup", "sub"}


def graded_path(course_root: Path, student: str, assignment: str) -> Path:
    """Where nbgrader's formgrader reads a graded notebook (its ``autograded`` folder)."""
    root = Path(course_root).resolve() / "autograded"
    path = root / student / assignment / f"{assignment}.ipynb"
    if student in ("", ".", "..") or os.sep in student or "\0" in student or path.parent.parent.parent != root:
        raise ValueError(f"a student name that is not one folder: {student!r}")
    return path


def _inert_markdown(source: str, attachments: dict | None = None) -> str:
    import bleach
    from nbconvert.filters import markdown2html

    # A pasted image (a cell attachment, PNG or JPEG) is shown as an image we write ourselves,
    # put in after the sanitiser, from its decoded bytes; any other reference to an attachment
    # becomes its name in brackets.
    images: dict[str, str] = {}
    nonce = secrets.token_hex(16)  # (a student cannot write the placeholder where an image would run)

    def image(match: re.Match) -> str:
        key = f"image{nonce}{len(images)}x"
        images[key] = _image_tag(match[1], (attachments or {}).get(match[2]))
        return key

    source = ATTACHMENT.sub(image, source)
    try:
        html = bleach.clean(markdown2html(source), tags=_TAGS, attributes={"a": ["href", "title"]},
                            protocols={"http", "https", "mailto"}, strip=True, strip_comments=True)
    except Exception:  # noqa: BLE001  (markdown the renderer cannot read: shown as text)
        html = f"<pre>{escape(source)}</pre>"
    for key, tag in images.items():
        html = html.replace(key, tag)
    # One line, so that the page's own markdown pass keeps it as one HTML block (a blank
    # line would end the block); inside <pre>, &#10; is still a line break.
    return '<div class="student-markdown">' + html.replace("\n", "&#10;") + "</div>"


def _image_tag(alt: str, attachment) -> str:
    for mime in ("image/png", "image/jpeg"):
        data = attachment.get(mime) if isinstance(attachment, dict) else None
        if isinstance(data, str) and len(data) <= MAX_IMAGE:
            try:
                clean = base64.b64encode(base64.b64decode(data, validate=True)).decode()
            except ValueError:
                continue
            return f'<img alt="{escape(alt)}" src="data:{mime};base64,{clean}">'
    return f"[{escape(alt or 'image')}]"


def _inert_output(output) -> None:
    if output.get("output_type") in ("display_data", "execute_result"):
        data = output.get("data", {})
        dropped = sorted(set(data) - set(SHOWN_OUTPUTS))
        for mime in dropped:
            del data[mime]
        if not data:
            data["text/plain"] = f"(an output of type {', '.join(dropped)}: not shown to graders)"
        output["metadata"] = {}


def inert(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The graded notebook as a grader's browser may show it: nothing in it runs there."""
    notebook = nbformat.from_dict(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        attachments = cell.pop("attachments", None)
        if cell.cell_type == "markdown" and not is_locked(cell):
            cell.source = _inert_markdown(cell.source, attachments)
        elif cell.cell_type == "raw":
            cell.cell_type, cell.source = "markdown", _inert_markdown(f"```\n{cell.source}\n```")
            cell.pop("outputs", None)
        for output in cell.get("outputs", []):
            _inert_output(output)
    return notebook


def view(graded: bytes) -> nbformat.NotebookNode:
    """The formgrader's copy of a graded notebook (its JSON, as the worker graded it)."""
    return inert(nbformat.reads(graded.decode("utf-8"), as_version=4))


def place(course_root: Path, student: str, assignment: str, notebook: nbformat.NotebookNode) -> Path:
    """Put a formgrader's copy where the formgrader reads it, replacing the copy of an
    earlier grading in one step: never a stale or half-written copy."""
    target = graded_path(course_root, student, assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".part", delete=False,
                                     encoding="utf-8") as handle:
        nbformat.write(notebook, handle)
    os.replace(handle.name, target)
    return target


def answers(notebook: nbformat.NotebookNode | Path) -> dict[str, str]:
    """grade_id -> the student's answer, as shown, in each answer cell of a formgrader's copy
    (a hand grade outlives a regrade only for an answer that has not changed)."""
    if isinstance(notebook, Path):
        if not notebook.exists():
            return {}
        notebook = nbformat.read(str(notebook), as_version=4)
    return solution_sources(notebook)


def write_config(course_root: Path, db_url: str) -> Path:
    """The course's own ``nbgrader_config.py``, which the formgrader reads from the folder it
    starts in: where the course and its gradebook are."""
    root = Path(course_root).resolve()
    # nbgrader's exchange (for handing out on a JupyterHub) is unused here, but the formgrader
    # checks it on every page and logs a critical error when the system-wide one is missing.
    (root / "exchange").mkdir(exist_ok=True)
    path = root / "nbgrader_config.py"
    path.write_text("# Written by `python -m grader formgrade`: where the formgrader finds the course.\n"
                    "c = get_config()  # noqa: F821\n"
                    f"c.CourseDirectory.root = {str(root)!r}\n"
                    f"c.CourseDirectory.db_url = {db_url!r}\n"
                    'c.CourseDirectory.course_id = "induction-circuits"\n'
                    f"c.Exchange.root = {str(root / 'exchange')!r}\n", encoding="utf-8")
    path.chmod(0o600)  # a PostgreSQL URL may hold a password
    return path


def command(course_root: Path, port: int | None = None, browser: bool = True) -> list[str]:
    """The JupyterLab that serves the formgrader on the course (it opens on the formgrader)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    args = [str(jupyter) if jupyter.exists() else shutil.which("jupyter") or "jupyter", "lab",
            f"--ServerApp.root_dir={Path(course_root).resolve()}",
            "--ServerApp.default_url=/formgrader",
            # Defence in depth: rich outputs sanitised by nbconvert too, where its templates do.
            "--HTMLExporter.sanitize_html=True",
            # (its "debug" panel tries to print the whole server's config, and warns it cannot)
            "--FormgradeExtension.debug=False"]
    if port:
        args.append(f"--ServerApp.port={port}")
    if not browser:
        args.append("--no-browser")
    if os.geteuid() == 0:  # a container's root (Colab, CI): Jupyter refuses it unless told
        args.append("--allow-root")
    return args


def open_formgrader(course, port: int | None = None, browser: bool = True) -> int:
    """``python -m grader formgrade``: JupyterLab with the formgrader, until Ctrl-C."""
    write_config(course.root, course.db_url)
    try:
        return subprocess.call(command(course.root, port, browser), cwd=course.root)
    except KeyboardInterrupt:
        return 0
