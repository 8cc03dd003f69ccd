"""Submissions as they arrive: finding them in a folder or zip, naming them, reading them.

``discover`` walks a folder of loose notebooks and zip files (nested folders are fine)
and maps each file to a student and an assignment through naming patterns, within size
limits checked before anything is read; ``parse`` reads a notebook's JSON, refusing what
would stop a reader.
"""
from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


# Tried in order on the end of each file's path inside the folder (a zip counts as a
# folder named after it); the first that matches names the student and the assignment.
# {student} and {assignment} are what they say, {id} is digits an LMS adds (the first is
# kept as the student's id in the LMS, for its grade import), {any} is anything within one
# path component. A resubmission suffix ("-1", " (2)") is allowed
# after the assignment. What a student names themselves (a file name inside a folder or
# after an LMS's prefix) says only which assignment it is, never whose: the patterns that
# read the student from a folder come first, and take any file name ending in an assignment.
DEFAULT_PATTERNS = (
    "{student}_{id}_assignsubmission_file_/{any}{assignment}.ipynb",  # Moodle, folders
    "{student}/{assignment}/{any}.ipynb",                            # nbgrader's own: what `collect` leaves
    "{student}/{any}{assignment}.ipynb",                             # a folder per student
    "{student}_late_{id}_{id}_{any}{assignment}.ipynb",              # Canvas, late
    "{student}_{id}_{id}_{any}{assignment}.ipynb",                   # Canvas
    "{student}_{id}_assignsubmission_file_{any}{assignment}.ipynb",  # Moodle, flat
    "{student}_{assignment}.ipynb",                                  # the course's own naming
)
_RESUBMISSION = r"(?:-\d+| \(\d+\))?"
# Intake limits: whatever lies past them is reported, never read whole.
MAX_NOTEBOOK = 64 << 20   # bytes of one notebook (a loose file or a zip member)
MAX_ZIP = 256 << 20       # bytes of one zip file
MAX_MEMBERS = 500         # entries in one zip
MAX_UNZIPPED = 512 << 20  # bytes read out of one zip, all members together
MAX_DEPTH = 64            # JSON nesting in a notebook (nbformat itself needs about 10)
MAX_CELLS = 2000          # cells in a notebook (a release has under 100)
MAX_NAME = 64             # characters of a student's name
MAX_IMAGES = 4 << 20      # base64 characters of the images pasted into one markdown cell
# Characters of code in all a notebook's code cells (a release has under 60,000): reading which
# names a cell uses takes the grader about 2 s of CPU a megabyte of code, before any budget.
MAX_CODE = 2 << 20
_NAME = re.compile(r"[^\W_][\w .'()-]*")
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
    lms_id: str | None = None  # the student's id in the LMS, from its file names (Canvas, Moodle)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _regex(pattern: str, assignment: str) -> re.Pattern:
    """A pattern whose folder names the student matches from the top of the graded folder,
    with any folders between it and the file: the outermost folder that names a student
    decides, so a folder inside one student's folder cannot name another. Other patterns
    match the end of the path."""
    ids = itertools.count()

    def piece_regex(piece: str) -> str:
        if piece == "{id}":  # the first names the student in the LMS; later ones, its submission
            return r"(?P<lms_id>\d+)" if next(ids) == 0 else r"\d+"
        return {"{student}": r"(?P<student>[^/]+?)",
                "{assignment}": f"(?P<assignment>{assignment}){_RESUBMISSION}",
                "{any}": r"[^/]*?"}.get(piece, re.escape(piece))

    def part(text: str) -> str:
        return "".join(map(piece_regex, re.split(r"(\{student\}|\{assignment\}|\{id\}|\{any\})", text)))

    head, _, last = pattern.rpartition("/")
    if "{student}" in head:
        return re.compile(f"^{part(head)}/(?:[^/]+/)*?{part(last)}$")
    return re.compile(f"(?:^|/){part(pattern)}$")


def _any_assignment(known: list[str]) -> str:
    """A regex alternation of the assignments' names, longest first (so none hides another)."""
    return "|".join(re.escape(name) for name in sorted(known, key=len, reverse=True))


def identify(path: str, known: list[str], patterns=DEFAULT_PATTERNS) -> tuple[str, str]:
    """(student, assignment) for a path inside the submissions folder, or SubmissionError."""
    return _identify(path, known, patterns)[:2]


def _lms_id(match: re.Match) -> str | None:
    return match.groupdict().get("lms_id")


def _in_folder(pattern: str) -> bool:
    return "{student}" in pattern.rpartition("/")[0]


def _first(matches):
    """The match whose student's name ends first: an LMS puts its prefix (name, ids) at the
    left of a file name, and the rest is what the student named the file, so a pattern whose
    {student} would reach into that part (`mallory_9_8_x_late_1_2_...`) loses to the one that
    stops at the LMS's own prefix. (Ties: the pattern tried first.)"""
    return min(matches, key=lambda found: (len(found[1]["student"]), found[0]), default=(0, None))[1]


def _identify(path: str, known: list[str], patterns) -> tuple[str, str, str | None]:
    names = _any_assignment(known)
    if names:
        # A pattern with a folder first: the outermost folder that names a student decides.
        for pattern in patterns:
            if _in_folder(pattern) and (match := _regex(pattern, names).search(path)):
                return student_name(match["student"]), match["assignment"], _lms_id(match)
        found = [(i, match) for i, pattern in enumerate(patterns) if not _in_folder(pattern)
                 if (match := _regex(pattern, names).search(path))]
        if match := _first(found):
            return student_name(match["student"]), match["assignment"], _lms_id(match)
    # Say "unknown assignment" rather than "no match" when only the assignment is wrong.
    for pattern in patterns:
        if match := _regex(pattern, r"\d\d_[^/]+?").search(path):
            raise SubmissionError(f"unknown assignment {match['assignment']!r} "
                                  f"(known: {', '.join(known)})")
    raise SubmissionError("file name matches no naming pattern ("
                          + "; ".join(patterns) + ")")


def zip_owner(path: str, patterns=DEFAULT_PATTERNS) -> str:
    """The student a zip file belongs to (see ``_zip_owner``)."""
    return _zip_owner(path, patterns)[0]


def _zip_owner(path: str, patterns) -> tuple[str, str | None]:
    """The student a zip file belongs to, and their LMS id if its name carries one, read from its own path only: the folder it is in
    (``{student}/...``, Moodle's folders), an LMS's prefix to its name (a pattern with
    ``{id}``, Canvas), or else, at the top of the graded folder, its own name. What is
    inside a zip (its members' names) never says whose it is: one student's zip cannot
    speak for another."""
    prefixed = []
    for i, pattern in enumerate(patterns):
        head, _, last = pattern.rpartition("/")
        if "{student}" in head:
            if match := _regex(f"{head}/{{any}}.zip", "").search(path):
                return student_name(match["student"]), _lms_id(match)
        elif "{id}" in last and "{student}" in last:
            form = pattern.replace("{assignment}", "{any}").removesuffix(".ipynb") + ".zip"
            if match := _regex(form, "").search(path):
                prefixed.append((i, match))
    if match := _first(prefixed):
        return student_name(match["student"]), _lms_id(match)
    if match := re.fullmatch(rf"(?P<student>[^/]+?){_RESUBMISSION}\.zip", path, re.I):
        return student_name(match["student"]), None
    raise SubmissionError("a zip inside a folder must be in a folder, or carry a prefix, that "
                          "names its student (" + "; ".join(patterns) + ")")


def _member_assignment(name: str, known: list[str]) -> str:
    """Which assignment a zip member is: its file name ends with the assignment's name."""
    base = PurePosixPath(name).name
    names = _any_assignment(known)
    if names and (match := re.search(rf"(?P<assignment>{names}){_RESUBMISSION}\.ipynb$", base)):
        return match["assignment"]
    raise SubmissionError(f"the file name names no assignment (known: {', '.join(known)})")


def student_name(name: str) -> str:
    """A name as the course knows a student: from an allow-list of characters (letters and
    digits of any script, space, and ``_ . ' ( ) -``), starting with a letter or digit, at
    most ``MAX_NAME`` long, its spaces collapsed. A name is printed, exported, shown in
    nbgrader's formgrader (whose pages put it into HTML and scripts as it is) and used as a
    folder: a name with anything else in it is reported, never used."""
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not _NAME.fullmatch(name):
        raise SubmissionError("a student name may hold only letters, digits, spaces and _ . ' ( ) -, "
                              "starting with a letter or digit: rename the file or its folder")
    if len(name) > MAX_NAME:
        raise SubmissionError(f"a student name of {len(name)} characters (at most {MAX_NAME})")
    return name


def _skipped(relative: PurePosixPath) -> bool:
    """Not a submission: a system's own files (macOS's __MACOSX, Jupyter's checkpoints, hidden
    folders and files), but for a hidden notebook or zip, which is reported (``_hidden``)."""
    return any(part.startswith(".") or part in _SKIPPED_PARTS for part in relative.parts) and not _hidden(relative)


def _hidden(relative: PurePosixPath) -> bool:
    return (relative.name.startswith(".") and relative.suffix.lower() in (".ipynb", ".zip")
            and not any(part.startswith(".") or part in _SKIPPED_PARTS for part in relative.parts[:-1]))


def _unsafe(name: str) -> bool:
    """A zip member's name that would point outside the zip if extracted."""
    name = name.replace("\\", "/")
    return name.startswith("/") or bool(re.match(r"[A-Za-z]:", name)) or ".." in name.split("/")


def _capped(handle, cap: int, what: str) -> bytes:
    data = handle.read(cap + 1)
    if len(data) > cap:
        raise SubmissionError(f"{what} is larger than {cap >> 20} MiB: not read")
    return data


def _entries_in_folder(root: Path):
    """(path relative to ``root``, a reader, or an error) for every file below it; links
    are never followed (a link could point at a classmate's file or a solution)."""
    found = []
    for folder, dirs, files in os.walk(root):  # (never into a linked folder)
        base = Path(folder)
        links = [d for d in dirs if (base / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if d not in links)
        for name in files + links:
            path = base / name
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if not _skipped(relative):
                found.append((relative, path))
    for relative, path in sorted(found):
        info = path.lstat()
        if _hidden(relative):
            yield str(relative), None, "a hidden file (its name starts with a dot): not read"
        elif stat.S_ISLNK(info.st_mode):
            yield str(relative), None, "a symbolic link: not followed"
        elif not stat.S_ISREG(info.st_mode):
            yield str(relative), None, "not a regular file"
        else:
            yield str(relative), functools.partial(_read_file, path), None


def _read_file(path: Path, cap: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return _capped(handle, cap, "the file")


def _entries_in_zip(archive: zipfile.ZipFile):
    """(member path, a reader, or an error) for every file in a zip, within the limits."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise SubmissionError(f"a zip of {len(infos)} files (at most {MAX_MEMBERS}): not read")
    budget = MAX_UNZIPPED

    def read(info, cap: int) -> bytes:
        nonlocal budget
        cap = min(cap, budget)
        if info.file_size > cap:
            raise SubmissionError(f"it unzips to {info.file_size} bytes (at most {cap}): not read")
        try:
            with archive.open(info) as handle:
                data = _capped(handle, cap, "it")
        except SubmissionError:
            raise
        except Exception as error:  # noqa: BLE001  (damaged, encrypted, unknown compression...)
            raise SubmissionError(f"could not be unzipped ({type(error).__name__}: {error})") from None
        budget -= len(data)
        return data

    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename
        if _unsafe(name):
            yield name, None, "an absolute or '..' path inside the zip: not read"
        elif _hidden(PurePosixPath(name)):
            yield name, None, "a hidden file (its name starts with a dot): not read"
        elif not _skipped(PurePosixPath(name)):
            yield name, functools.partial(read, info), None


def _open_zip(read) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(read(MAX_ZIP)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise SubmissionError("not a zip file, or a damaged one") from None


def _submissions(entries, known: list[str], patterns, prefix: str = ""):
    """A Submission for every entry: notebooks named by their paths, each zip one student's."""
    for path, read, error in entries:
        label = prefix + path
        try:
            if error:
                raise SubmissionError(error)
            if path.lower().endswith(".zip"):
                student, lms_id = _zip_owner(path, patterns)
                archive = _open_zip(read)
                yield from _zip_submissions(archive, student, lms_id, known, label)
                continue
            if not path.lower().endswith(".ipynb"):
                raise SubmissionError("not a notebook (.ipynb) or a zip of notebooks")
            student, assignment, lms_id = _identify(path, known, patterns)
            data = read(MAX_NOTEBOOK)
            parse(data)
            yield Submission(label, student, assignment, data, lms_id=lms_id)
        except SubmissionError as problem:
            yield Submission(label, None, None, b"", str(problem))


def _zip_submissions(archive: zipfile.ZipFile, student: str, lms_id: str | None, known: list[str],
                     label: str):
    try:
        entries = list(_entries_in_zip(archive))
    except SubmissionError as problem:
        yield Submission(label, None, None, b"", str(problem))
        return
    for name, read, error in entries:
        member = f"{label}!{name}"
        try:
            if error:
                raise SubmissionError(error)
            if name.lower().endswith(".zip"):
                raise SubmissionError("a zip inside a zip is not opened: hand in the notebooks themselves")
            if not name.lower().endswith(".ipynb"):
                raise SubmissionError("not a notebook (.ipynb)")
            assignment = _member_assignment(name, known)
            data = read(MAX_NOTEBOOK)
            parse(data)
            yield Submission(member, student, assignment, data, lms_id=lms_id)
        except SubmissionError as problem:
            yield Submission(member, None, None, b"", str(problem))


def discover(source: Path, known: list[str], patterns=DEFAULT_PATTERNS,
             graded_ids: dict | None = None) -> list[Submission]:
    """Every file in ``source`` (a folder, or an LMS's download of a whole class as one zip),
    each named, or given the reason it cannot be graded. ``graded_ids``: (student,
    assignment) -> LMS id of what the gradebook holds already."""
    source = Path(source)
    prefix = "" if source.is_dir() else f"{source.name}!"
    if not prefix:
        found = list(_submissions(_entries_in_folder(source), known, patterns))
    else:  # the instructor's own class download: its members are the folder's files
        try:
            archive = _open_zip(functools.partial(_read_file, source))
            found = list(_submissions(_entries_in_zip(archive), known, patterns, prefix))
        except SubmissionError as problem:
            found = [Submission(source.name, None, None, b"", str(problem))]
    graded_ids = graded_ids or {}
    _tell_apart(found, graded_ids)
    # Names that differ only in case (here, or from the gradebook): one student twice, or two
    # that cannot be told apart; on a case-insensitive disk, their folders would be one.
    spellings: dict[str, set] = {}
    for student in {student for student, _ in graded_ids} | {sub.student for sub in found if not sub.error}:
        spellings.setdefault(student.casefold(), set()).add(student)
    for sub in found:
        if not sub.error and len(spellings[sub.student.casefold()]) > 1:
            sub.error = (f"names that differ only in case ({', '.join(sorted(spellings[sub.student.casefold()]))}), "
                         "here or in the gradebook: rename the files or folders so that each student has one name")
    # Two files for one student and assignment: grading either would be a guess.
    by_key: dict[tuple, list[Submission]] = {}
    for sub in found:
        if not sub.error:
            by_key.setdefault((sub.student, sub.assignment), []).append(sub)
    for (student, assignment), subs in by_key.items():
        if len(subs) > 1:
            hint = (" (a zip is one student's: to grade a class's download, give `grade` the "
                    "zip itself, or unzip it)" if any("!" in s.label.removeprefix(prefix) for s in subs)
                    else " (a folder is one student's: to grade a folder of files an LMS named, "
                    "give `grade` that folder)")
            for sub in subs:
                sub.error = (f"{len(subs)} files for {student} {assignment} "
                             f"({', '.join(s.label for s in subs)}): keep one{hint}")
    return found


def _tell_apart(found: list[Submission], graded_ids: dict) -> None:
    """One name (up to case) with two LMS ids in one assignment: different people the LMS
    named alike (two Jane Does). The one the gradebook knows by that name and id keeps the
    name (and the hand grades given to it); each other is known by name and id,
    ``Jane Doe [<id>]`` (brackets, which no student's name holds), in every assignment, as
    the LMS's grade import knows them. (Moodle's ids differ between assignments: only within
    one do they tell people apart.)"""
    ids: dict[tuple, set] = {}
    for sub in found:
        if not sub.error and sub.lms_id:
            ids.setdefault((sub.student.casefold(), sub.assignment), set()).add(sub.lms_id)
    alike = {student for (student, _), seen in ids.items() if len(seen) > 1}
    known = {(student, lms_id) for (student, _), lms_id in graded_ids.items() if lms_id}
    for sub in found:
        if not sub.error and sub.lms_id and sub.student.casefold() in alike and (sub.student, sub.lms_id) not in known:
            sub.student = f"{sub.student} [{sub.lms_id}]"


def _depth(tree) -> int:
    """How deeply JSON containers nest in ``tree`` (without recursing, whatever the depth)."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                todo.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse(data: bytes) -> dict:
    """The notebook's JSON, or SubmissionError saying plainly what is wrong with the file."""
    if not data.strip():
        raise SubmissionError("empty file")
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SubmissionError("not a notebook: binary data, not JSON text") from None
    except RecursionError:
        raise SubmissionError(f"not a notebook: JSON nested more than {MAX_DEPTH} deep") from None
    except ValueError as error:  # malformed, or a number too long to read
        raise SubmissionError(f"not a notebook: malformed JSON ({str(error)[:200]})") from None
    if _depth(notebook) > MAX_DEPTH:
        raise SubmissionError(f"not a notebook: JSON nested more than {MAX_DEPTH} deep")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a list of cells "
                              "(an old nbformat 3 file, or another kind of JSON)")
    if len(notebook["cells"]) > MAX_CELLS:
        raise SubmissionError(f"a notebook of {len(notebook['cells'])} cells (at most {MAX_CELLS}): not read")
    code = 0
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            raise SubmissionError("not a notebook: a cell is not a JSON object")
        source = cell.get("source", "")
        if not (isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise SubmissionError("not a notebook: a cell's source is not text")
        if cell.get("cell_type") == "code":
            code += len(source) if isinstance(source, str) else sum(map(len, source))
    if code > MAX_CODE:
        raise SubmissionError(f"a notebook with {code:,} characters of code (at most {MAX_CODE:,}): not read")
    return notebook
