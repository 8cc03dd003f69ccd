"""``RebuildOnRelease``: intake's rebuild as an nbgrader preprocessor, the first of autograde's
sanitizing steps (before nbgrader puts the hidden tests back into the test cells)."""
from __future__ import annotations

import os

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .rebuild import rebuild


class RebuildOnRelease(NbGraderPreprocessor):
    """The submission rebuilt on the course's release (``rebuild``), as ``grade`` and ``check``
    rebuild it before nbgrader reads it: ``nbgrader autograde`` run by hand on collected
    submissions then grades the same notebook. (Rebuilding a rebuilt notebook changes nothing.)
    Not before nbgrader's own check of the file's metadata, though, which runs first: by hand,
    a notebook with forged nbgrader metadata stops nbgrader's run (``grade`` reads every file
    itself, so it never reaches nbgrader as handed in)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        folder = CourseDirectory(config=self.config).format_path("release", ".", info["assignment"])
        release = nbformat.read(os.path.join(folder, f"{info['notebook']}.ipynb"), as_version=4)
        return rebuild(nb.cells, release), resources
