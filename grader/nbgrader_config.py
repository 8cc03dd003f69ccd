"""nbgrader settings for the Induction Circuits course.

``grader.course`` loads this file for every nbgrader run it makes, so running
nbgrader by hand from a course folder (``grader/course`` by default) with
``--config grader/nbgrader_config.py`` behaves the same way.
"""
c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "induction-circuits"
# Per cell: nothing in a notebook legitimately runs longer (training is cut
# short under nbgrader), and an endless loop must not hold up the class.
c.Execute.timeout = 180
# torch and tqdm warnings go to stderr, and nbgrader scores a graded cell with
# any stderr output as failed: drop stderr text from graded cells. Errors are
# separate outputs and still fail the cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
# Keep a runaway print from bloating the graded notebook and the feedback.
c.LimitOutput.max_lines = 200
