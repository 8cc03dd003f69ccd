"""nbgrader settings for the Induction Circuits course.

``grader.course`` loads this file for every nbgrader run it makes, so running
nbgrader by hand from a course folder (``grader/course`` by default) with
``--config grader/nbgrader_config.py`` grades the same way, but for one thing: nbgrader checks
a submission's metadata before any of these steps, so by hand a file with forged nbgrader
metadata stops the run (``grade`` rebuilds every file before nbgrader sees it).
"""
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from grader.execute.budget import BudgetedExecute
from grader.intake.preprocessor import RebuildOnRelease
from grader.sandbox import RestoreStudentCode, SandboxStudentCode

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "induction-circuits"
# Student code never runs in the grading kernel: each student cell becomes a stand-in
# that runs it in a locked-down fork (grader/sandbox/), and gets its source back after.
steps = Autograde.class_traits()["autograde_preprocessors"].default()
at = steps.index(Execute)
c.Autograde.autograde_preprocessors = steps[:at] + [SandboxStudentCode, BudgetedExecute, RestoreStudentCode] + steps[at + 1:]
# Before nbgrader's own sanitizing (which puts the hidden tests back into the test cells), the
# submission rebuilt on the release (grader/intake/): by hand as under `grade`.
c.Autograde.sanitize_preprocessors = [RebuildOnRelease] + Autograde.class_traits()["sanitize_preprocessors"].default()
# Kernels are forks of a template that imported the heavy libraries (grader/execute/kernels.py): torch, TransformerLens,
# the toolkit, the four that TransformerBridge imports the first time it builds a model
# (2.5 s), and what every notebook's kernel imports next: pyplot (0.15 s; the template sets
# the backend ipykernel would first) and the sandbox's kernel side. (Not ipykernel's debugger,
# 0.04 s: imported outside a kernel, it prints a warning about frozen modules on the worker's stderr.)
c.WarmExecute.preload = ["torch", "transformer_lens", "induction_circuits.model", "induction_circuits.training",
                         "transformer_lens.model_bridge.supported_architectures", "accelerate",
                         "torch.distributed.elastic", "torch._dynamo", "matplotlib.pyplot",
                         "induction_circuits.plotting", "induction_circuits.views", "grader.sandbox._tests"]
# Where notebook 3 saves its model: read when a notebook saves or loads one, so a kernel
# forked from the template may be given another value than the template started with.
c.WarmExecute.per_kernel_env = ["INDUCTION_CIRCUITS_HOME"]
# What a call of student code may change in the objects it is handed, by the exercise's
# parameter names ("random state": the global generators). A call gets its arguments as
# copies in effect: nothing else it changes reaches the grading kernel.
c.SandboxStudentCode.changes = {"train_step": ["model", "optimizer"],
                                "make_repeated_batch": ["generator", "random state"]}
# Per call of student code (a stuck call fails that call; the cell goes on)...
c.SandboxStudentCode.timeout = 60
# ...and per cell: nothing in a notebook legitimately runs longer (training is cut
# short under nbgrader), and an endless loop must not hold up the class...
c.Execute.timeout = 180
# ...and per notebook (grader/execute/budget.py): an honest one grades in seconds; one whose every
# call sleeps just under the per-call limit stops here, with the points it earned so far.
c.BudgetedExecute.budget = 600
# A kernel imports the libraries before it answers (c.WarmExecute.preload): give its start
# the time a cell gets, not nbclient's 60 s, on a machine busy grading.
c.Execute.startup_timeout = 180
# Once the last cell has run the kernel has nothing more to give: stop it at once. Asked
# to exit, a kernel that has loaded torch takes 1 s or more (graded ones, 2.5 s and then
# SIGTERM), and nbclient waits for it.
c.Execute.shutdown_kernel = "immediate"
# torch and tqdm warnings go to stderr, and nbgrader scores a graded cell with
# any stderr output as failed: drop stderr text from graded cells. Errors are
# separate outputs and still fail the cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
# Keep a runaway print from bloating the graded notebook and the feedback.
c.LimitOutput.max_lines = 200
# A written question's marking guide (model answer and rubric) sits in a "### BEGIN MARK
# SCHEME" region of the question's own cell, which is read-only (locked): the release leaves
# it out, and autograde puts the locked cell back whole, so graders see it in the formgrader.
# nbgrader wants such regions in task cells only; a locked cell is restored all the same.
c.ClearMarkScheme.enforce_metadata = False
