"""A class's tricks, each graded through nbgrader as a submission: what they earn.

Each test is one kind of gaming a review found (a clever idea spreads through a class in
a day), with its variants as cases. The last grades a "hostile twin" of every notebook:
answers that shadow every builtin the tests use and wreck every argument they are given.
"""
import ast
import hashlib
import math
import re
import time

import nbformat
import pytest

from grader.execute.budget import OVER_BUDGET
from grader.course import CONFIG_FILE, DEFAULT_COURSE, Course, assignments
from grader._cells import HIDDEN_TESTS
from grader.sandbox import hidden_names
from nbtools import (RELEASE, SOLUTIONS, graded_scores, metadata, read, solution_sources, without_solution_markers,
                     student_submission)

pytestmark = pytest.mark.slow

# Builtins the hidden tests call, each made to answer "yes" or "nothing wrong".
SHADOWS = """
def abs(x):
    return 0
def isinstance(*args, **kwargs):
    return True
def all(*args, **kwargs):
    return True
def any(*args, **kwargs):
    return True
def float(*args, **kwargs):
    return 0.0
def len(*args, **kwargs):
    return 0
def tuple(*args, **kwargs):
    return (3, 16, 50, 64)
def set(*args, **kwargs):
    return {"attention", "loss_increase", "first_half_increase", "is_induction_head"}
"""
WRECK = """
def _wreck(args, kwargs):
    import torch
    for arg in [*args, *kwargs.values()]:
        if hasattr(arg, "parameters"):
            for p in arg.parameters():
                p.data.zero_()
        if hasattr(arg, "param_groups"):
            for group in arg.param_groups:
                group["lr"] = 0.0
        if isinstance(arg, torch.Tensor) and arg.is_floating_point():
            arg.zero_()
        if isinstance(arg, torch.Generator):
            arg.manual_seed(0)
        if isinstance(arg, (list, dict)):
            arg.clear()
    torch.manual_seed(0)
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.api.config.SandboxStudentCode.timeout = 5
    return course


def _answer_names(assignment: str) -> dict[str, list[str]]:
    """The names each answer code cell of the source binds (its functions, its recap answers)."""
    cells = read(SOLUTIONS / f"{assignment}.ipynb").cells
    return {metadata(c)["grade_id"]: sorted(_bound(c.source)) for c in cells
            if c.cell_type == "code" and metadata(c).get("solution")}


def _bound(source: str) -> set:
    from grader.sandbox._names import bound
    return bound(ast.parse(source).body)


def _twin(assignment: str) -> nbformat.NotebookNode:
    answers = {}
    for grade_id, names in _answer_names(assignment).items():
        body = [SHADOWS, WRECK]
        for name in names:
            if name.startswith("recap_"):
                body.append(f"{name} = 0")
            else:
                body.append(f"def {name}(*args, **kwargs):\n    _wreck(args, kwargs)\n    return {math.log(64)}\n")
        answers[grade_id] = "\n".join(body)
    return student_submission(assignment, answers=answers)


@pytest.mark.parametrize("assignment", ["02_qk_ov_circuits", "03_train_induction_model", "06_ablation"])
def test_shadowing_a_builtin_earns_nothing(course, tmp_path, assignment):
    """The answers left undone, and every builtin the tests use shadowed in an added cell
    (and in the first answer cell): the shadows stay in the student's own processes."""
    notebook = student_submission(assignment, solved=False)
    notebook.cells.insert(3, nbformat.v4.new_code_cell(SHADOWS))
    first = next(c for c in notebook.cells if metadata(c).get("solution") and c.cell_type == "code")
    first.source = SHADOWS + "\n" + first.source
    scores, _ = graded_scores(course, tmp_path, assignment, "shadow", notebook)
    assert set(scores.values()) == {0.0}, scores


@pytest.mark.parametrize("assignment", assignments())
def test_a_hostile_twin_of_every_notebook_earns_nothing(course, tmp_path, assignment):
    """Every answer shadows every builtin the tests use; every function wrecks each
    argument it is handed (models zeroed, learning rates zeroed, tensors zeroed, generators
    reseeded, lists cleared, the global seed reset) and returns ln 64."""
    scores, _ = graded_scores(course, tmp_path, assignment, "twin", _twin(assignment))
    assert set(scores.values()) == {0.0}, scores


def test_copying_a_classmate_or_filling_the_disk_earns_nothing(course, tmp_path):
    """While grading runs, a student function looks for the grading command among the
    processes, reads a classmate's notebook where the class lies, the solutions, the
    default course's sources (made by `release`, hidden tests in), the grader's code, the
    kernel's connection file and the environment, and writes gigabytes to its scratch:
    it finds nothing, and what it wrote stays within 64 MiB, in memory, gone after."""
    assignment = "01_logit_lens"
    classmate = tmp_path / "class" / f"alice_{assignment}.ipynb"
    classmate.parent.mkdir()
    classmate.write_text(nbformat.writes(student_submission(assignment)))
    looker = f"""
import glob, os, tempfile
def residual_stack(cache):
    found = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        if not path.startswith(f"/proc/{{os.getpid()}}/"):
            found.append(open(path, "rb").read()[:80])
    for path in [{str(classmate)!r}, {str(SOLUTIONS / f"{assignment}.ipynb")!r},
                 {str(DEFAULT_COURSE / "source" / assignment / f"{assignment}.ipynb")!r},
                 {str(CONFIG_FILE)!r},  # (the grader's own code, beside its default course)
                 *glob.glob(os.path.expanduser("~/.local/share/jupyter/runtime/*.json"))]:
        try:
            found.append(open(path).read()[:80])
        except OSError:
            pass
    found += [name for name in os.environ if "NBGRADER" in name or "JPY" in name or "CONNECTION" in name]
    written = 0
    try:
        with open(os.path.join(tempfile.gettempdir(), "fill"), "wb") as handle:
            for _ in range(2048):
                written += handle.write(bytes(1 << 20))
                handle.flush()
    except OSError as error:
        found.append(f"stopped at {{written >> 20}} MiB: {{error.strerror}}")
    raise ValueError(f"found: {{found}}")
"""
    free = __import__("shutil").disk_usage("/tmp").free
    scores, grade = graded_scores(course, tmp_path, assignment, "looker",
                            student_submission(assignment, answers={"residual_stack": looker}))
    assert scores["test_residual_stack"] == 0.0
    message = grade.failures["test_residual_stack"]
    assert message.startswith("ValueError: found: ['stopped at 6"), message  # 63 or 64 MiB: the tmpfs is full
    assert message.endswith(": No space left on device']"), message
    assert __import__("shutil").disk_usage("/tmp").free > free - (256 << 20)  # nothing reached the disk


def test_a_failed_tests_traceback_is_out_of_reach(course, tmp_path):
    """After a test fails, IPython keeps its traceback (whose frames hold the hidden check's
    code and locals) and its text: student code called next finds neither, even encoded."""
    assignment = "01_logit_lens"
    walker = """
import codecs
def logit_lens(model, cache):
    ip = get_ipython()
    found = []
    tb = getattr(ip.InteractiveTB, "tb", None)
    while tb is not None:
        found.append(repr(tb.tb_frame.f_code.co_consts)[:100])
        tb = tb.tb_next
    found.append(repr(getattr(ip, "_last_traceback", None))[:100])
    import sys
    found.append(repr(getattr(sys, "last_value", None)))
    raise ValueError("found: " + codecs.encode(repr(found), "rot13"))
"""
    wrong = "def residual_stack(cache):\n    return cache.accumulated_resid()[:1]\n"
    scores, grade = graded_scores(course, tmp_path, assignment, "walker", student_submission(
        assignment, answers={"residual_stack": wrong, "logit_lens": walker}))
    assert scores["test_residual_stack"] == 0.0 and scores["test_logit_lens"] == 0.0
    message = grade.failures["test_logit_lens"]
    assert message.startswith("ValueError: found: ")
    import codecs
    assert codecs.decode(message.removeprefix("ValueError: found: "), "rot13") == repr(["None", "None"])


def _digests(lines) -> list[str]:
    return sorted({hashlib.sha256(line.strip().encode()).hexdigest() for line in lines if len(line.strip()) >= 20})


def test_nothing_student_code_can_reach_holds_a_hidden_test(course, tmp_path):
    """Student code walks every object it can reach from the kernel's IPython shell (its
    input history and caches, ``_i00``, ``db_input_cache``, ``user_ns_hidden`` and
    ``_last_input_line`` among them), the notebook's namespace and every loaded module, and
    looks for the lines of this notebook's hidden tests and the names only they bind (by
    hash: the walker holds no hidden text): it finds none, though it finds a line of the
    toolkit's docstrings, which shows the walk reaches text. (Until review 8 it found a line
    of an instructor's cell too, and the hidden names, in the cells the kernel ran: the
    kernel's rewritten cells carry them. It finds neither now.)"""
    assignment = "01_logit_lens"
    source = read(SOLUTIONS / f"{assignment}.ipynb")
    hidden = _digests(line for cell in source.cells for block in HIDDEN_TESTS.findall(cell.source)
                      for line in block.splitlines())
    instructor = next(c.source for c in read(RELEASE / f"{assignment}.ipynb").cells
                      if c.cell_type == "code" and metadata(c).get("locked") and not metadata(c).get("grade")
                      and "periodic_tokens(" in c.source)
    ran = _digests([next(line for line in instructor.splitlines() if "periodic_tokens(" in line)])
    import induction_circuits.data
    control = _digests([next(line for line in induction_circuits.data.__doc__.splitlines() if len(line.strip()) >= 20)])
    # The names only hidden tests bind (review 8 read them, and the protected folders, in
    # IPython's last inputs): words, not lines.
    names = sorted({hashlib.sha256(name.encode()).hexdigest()
                    for name in hidden_names([c.source for c in source.cells if c.cell_type == "code"])})
    assert names
    walker = f"""
def logit_lens(model, cache):
    import collections, hashlib, re, sys, time, types
    hidden, control, names, ran = set({hidden!r}), set({control!r}), set({names!r}), set({ran!r})
    wanted = hidden | control | ran
    found, seen, queue, start = set(), set(), collections.deque([get_ipython(), globals(), sys.modules]), time.monotonic()
    def lines(text):
        for line in text[:1 << 20].splitlines():
            line = line.strip()
            if len(line) >= 20 and hashlib.sha256(line.encode()).hexdigest() in wanted:
                found.add(hashlib.sha256(line.encode()).hexdigest())
        if "_" in text:
            for word in re.findall(r"_\\w+", text[:1 << 20]):
                if hashlib.sha256(word.encode()).hexdigest() in names:
                    found.add("name " + hashlib.sha256(word.encode()).hexdigest())
    while queue and len(seen) < 200_000 and time.monotonic() - start < 2:  # (a call may take 5 s here)
        obj = queue.popleft()
        if id(obj) in seen or isinstance(obj, (int, float, complex, bool, type(None))):
            continue
        seen.add(id(obj))
        try:  # (a lazy module's mapping may fail to import what it names: skip it)
            if isinstance(obj, str):
                lines(obj)
            elif isinstance(obj, (bytes, bytearray)):
                lines(bytes(obj[:1 << 20]).decode(errors="ignore"))
            elif isinstance(obj, dict):  # (dict's own methods: a lazy mapping's would import modules)
                queue.extend(dict.keys(obj))
                queue.extend(dict.values(obj))
            elif isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
                queue.extend(obj)
            elif isinstance(obj, types.CodeType):
                queue.extend(obj.co_consts)
            elif isinstance(obj, types.FunctionType):
                queue.extend([obj.__code__, obj.__defaults__, obj.__kwdefaults__])
                for c in obj.__closure__ or ():
                    try:
                        queue.append(c.cell_contents)
                    except ValueError:  # an empty cell
                        pass
            else:
                try:
                    queue.extend(vars(obj).values())
                except TypeError:
                    pass
                for slot in getattr(type(obj), "__slots__", ()):
                    try:
                        queue.append(getattr(obj, slot))
                    except Exception:  # not set, or a lazy module failing to import what it names
                        pass
        except Exception:
            pass
    raise ValueError(f"walked {{len(seen)}}: hidden lines {{len(found & hidden)}}, control line "
                     f"{{len(found & control)}}, a cell's line {{len(found & ran)}}, "
                     f"hidden names {{len([f for f in found if f.startswith('name')])}}")
"""
    scores, grade = graded_scores(course, tmp_path, assignment, "walker",
                                  student_submission(assignment, answers={"logit_lens": walker}))
    assert scores["test_logit_lens"] == 0.0
    message = grade.failures["test_logit_lens"]
    walk = re.fullmatch(r"ValueError: walked (\d+): hidden lines (\d+), control line (\d+), "
                        r"a cell's line (\d+), hidden names (\d+)", message)
    assert walk, message
    walked, hidden_found, control_found, ran_found, names_found = map(int, walk.groups())
    assert walked > 10_000 and control_found == 1, message  # the walk reaches text
    assert ran_found == 0, "the source of a cell the kernel ran is within student code's reach"
    assert hidden_found == 0, f"{hidden_found} lines of the hidden tests are within student code's reach"
    assert names_found == 0, "the hidden tests' names are within student code's reach"


def test_slowness_is_bounded_by_the_notebooks_time_budget(course, tmp_path):
    """Every call sleeps just under the per-call limit: the notebook stops at its budget,
    and the cells after that fail, saying why."""
    assignment = "01_logit_lens"
    sources = solution_sources(read(SOLUTIONS / f"{assignment}.ipynb"))
    slow = {name: "import time\n" + without_solution_markers(sources[name]).replace(
        "):\n", "):\n    time.sleep(4.5)\n", 1) for name in ("residual_stack", "logit_lens", "lens_accuracy")}
    # A budget with room for the kernel and the first cells on a busy machine (the first test
    # calls residual_stack twice: 9 s of sleep), and far less than all the slow calls need.
    course.api.config.BudgetedExecute.budget = 40
    try:
        start = time.monotonic()
        scores, grade = graded_scores(course, tmp_path, assignment, "sleeper",
                                student_submission(assignment, answers=slow))
        took = time.monotonic() - start
    finally:
        course.api.config.BudgetedExecute.budget = 600
    assert took < 80, f"grading took {took:.0f} s"
    assert scores["test_residual_stack"] == 2.0  # correct, slowly, within the budget
    assert scores["test_recap"] == 0.0, (took, scores, grade.failures)  # reached after the budget: not run
    assert any(message.startswith(OVER_BUDGET) for message in grade.failures.values()), grade.failures
