"""Submissions as they arrive, before nbgrader sees them: hostile until read.

- ``incoming``: finding the files in a folder or an LMS's zip, within size limits checked
  before anything is read; naming each one's student and assignment from naming patterns
  (``DEFAULT_PATTERNS``) and the LMS's ids; reading the JSON (``parse``).
- ``rebuild``: the release notebook with the student's answers in it (``normalise``), what
  nbgrader grades whatever the student did to the test cells; ``preprocessor``: the same as
  autograde's first step (``RebuildOnRelease``), so ``nbgrader autograde`` by hand does it too.
"""
from .incoming import DEFAULT_PATTERNS, Submission, SubmissionError, discover, identify, student_name, zip_owner
from .rebuild import normalise

__all__ = ["DEFAULT_PATTERNS", "Submission", "SubmissionError", "discover", "identify", "normalise",
           "student_name", "zip_owner"]
