"""Grading a class: many submissions, in isolation, in parallel, resumably.

- ``workers``: ``Batch``, which runs each submission in a grading process of its own (a
  local pool, ``Processes``, or a Dask cluster's workers) and knows when one was lost; the
  environment check (``run_checked``).
- ``cluster``: the Dask backend (``grade --scheduler``).
- ``grade``: ``python -m grader grade``: the real gradebook written as results arrive, the summary.
"""
from .grade import grade_folder, record_all
from .workers import PROBE_STUDENT, Batch, BrokenEnvironment, ClusterError, Outcome, solved_submission

__all__ = ["PROBE_STUDENT", "Batch", "BrokenEnvironment", "ClusterError", "Outcome", "grade_folder",
           "record_all", "solved_submission"]
