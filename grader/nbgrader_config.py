"""nbgrader settings for the Induction Circuits course.

``grader.course`` loads this file for every nbgrader run it makes, so running
nbgrader by hand from a course folder (``grader/course`` by default) with
``--config grader/nbgrader_config.py`` behaves the same way.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for `grader.sandbox`

from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402

from grader.sandbox import RestoreStudentCode, SandboxStudentCode  # noqa: E402

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "induction-circuits"
# Student code never runs in the grading kernel: each student cell becomes a stand-in
# that runs it in a locked-down fork (grader/sandbox.py), and gets its source back after.
steps = Autograde.class_traits()["autograde_preprocessors"].default()
at = steps.index(Execute)
c.Autograde.autograde_preprocessors = steps[:at] + [SandboxStudentCode, Execute, RestoreStudentCode] + steps[at + 1:]
# Per call of student code (a stuck call fails that call; the cell goes on)...
c.SandboxStudentCode.timeout = 60
# ...and per cell: nothing in a notebook legitimately runs longer (training is cut
# short under nbgrader), and an endless loop must not hold up the class.
c.Execute.timeout = 180
# torch and tqdm warnings go to stderr, and nbgrader scores a graded cell with
# any stderr output as failed: drop stderr text from graded cells. Errors are
# separate outputs and still fail the cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
# Keep a runaway print from bloating the graded notebook and the feedback.
c.LimitOutput.max_lines = 200
