"""The course's grader, on nbgrader: ``python -m grader --help`` (or ``induction-grader``).

Folders by role, in the order a class's work goes through them:
- ``course.py`` (with ``course.toml``, ``nbgrader_config.py``): the nbgrader course: release
  (``solutions/*.py`` -> ``solutions/*.ipynb`` -> ``notebooks/``), generate, autograde one notebook.
- ``intake/``: submissions as they arrive, hostile until read: found, named, rebuilt on the release.
- ``execute/``: how one notebook runs under grading: forked kernels, a time budget.
- ``sandbox/``: student code, kept out of the grading kernel (its own file map and invariants).
- ``batch/``: a class: workers (local, or a Dask cluster), the environment check, ``grade``.
- ``gradebook.py``: the real gradebook (nbgrader's, plus which file each grade came from).
- ``formgrader.py``: hand grading: what graders see in nbgrader's formgrader, and its server.
- ``reports/``: the CSV export, feedback pages, LMS grade imports.
- ``__main__.py``: the command line. ``_cells``, ``_process``, ``_text``: shared small parts.
"""
import sys

# jsonschema, under nbformat, imports rfc3987_syntax when it is installed (jupyter_events
# wants it) for an optional IRI format check, and that builds a parser at import: over a
# second in every grading process. Notebook schemas check no formats: do without it.
sys.modules.setdefault("rfc3987_syntax", None)
