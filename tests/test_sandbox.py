"""Student code cannot decide its own grade: it runs only in locked-down forks.

The first tests drive the kernel-side runtime (``grader.sandbox._student``) directly in this
process, as the grading kernel would; the last ones grade tampering submissions of
the real notebooks through ``Course.autograde`` and assert every cell's score.
"""
import ast
import errno
import hashlib
import math
import os
import sys
import time

import nbformat
import numpy
import pytest
import torch

from grader.sandbox import _student
from grader.sandbox._names import bound
from grader.course import Course, assignments
from nbtools import SOLUTIONS, graded_scores, read, student_submission

LIMITS = {"timeout": 5, "memory": 1 << 30, "protected": [str(SOLUTIONS.parent)],
          "readable": [str(SOLUTIONS.parent / "utils"), sys.prefix, sys.base_prefix],
          "hidden": ["_secret_reference"]}


@pytest.fixture
def ns(monkeypatch):
    """A fresh notebook namespace with the runtime's per-notebook state reset."""
    monkeypatch.setattr(_student, "_CELLS", [])
    monkeypatch.setattr(_student, "_PRIVATE", {})
    monkeypatch.setattr(_student, "CONFIG", dict(_student.CONFIG))
    return {"torch": torch, "math": math, "numpy": numpy, "__builtins__": __builtins__}


def cell(namespace, source, **config):
    """Run ``source`` as a student cell; unless ``exports`` says otherwise, every name it
    binds is one an exercise asks for (the allow-list has tests of its own)."""
    exports = config.pop("exports", None)
    if exports is None:
        exports = sorted(bound(ast.parse(source).body))
    _student.student_cell(namespace, source, {**LIMITS, **config,
                                              "exports": [*_student.CONFIG["exports"], *exports]})


def test_functions_become_stand_ins_and_values_come_back(ns):
    cell(ns, "import math\nanswer = 'b'\nscale = torch.arange(3.0) * 2\n"
             "def double(x):\n    return x * scale\nhalve = lambda x: x / 2\n")
    assert isinstance(ns["double"], _student.StudentFunction)
    assert isinstance(ns["halve"], _student.StudentFunction)
    assert ns["answer"] == "b" and torch.equal(ns["scale"], torch.tensor([0.0, 2.0, 4.0]))
    assert torch.equal(ns["double"](torch.ones(3)), torch.tensor([0.0, 2.0, 4.0]))
    assert ns["halve"](3) == 1.5


def test_student_code_sees_the_libraries_variables_and_none_of_the_graders(ns, monkeypatch):
    """The training cap (the toolkit's knob, set by the grader) reaches student code, so a
    display cell that trains is cut short too; nbgrader's and the kernel's variables do not."""
    monkeypatch.setenv("INDUCTION_CIRCUITS_MAX_STEPS", "5")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    cell(ns, "import os\ndef seen():\n    return {k: v for k, v in os.environ.items() if k.isupper()}\n")
    seen = ns["seen"]()
    assert seen["INDUCTION_CIRCUITS_MAX_STEPS"] == "5"
    assert "NBGRADER_EXECUTION" not in seen and "JPY_PARENT_PID" not in seen
    assert set(seen) <= set(_student.KEPT_ENV), set(seen) - set(_student.KEPT_ENV)


def test_tampering_in_student_code_never_reaches_the_kernel(ns):
    import builtins
    cell(ns, """
import builtins, math, sys
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
builtins.AssertionError = type("Quiet", (Exception,), {})
__builtins__["__import__"] if isinstance(__builtins__, dict) else None
sys.excepthook = lambda *a: None
def wrong(x):
    torch.allclose = lambda *a, **k: True
    builtins.print = lambda *a, **k: None
    return x + 1
""")
    assert ns["wrong"](1) == 2
    assert not torch.allclose(torch.zeros(1), torch.ones(1))
    assert not numpy.allclose(0, 1) and not math.isclose(0, 1)
    assert builtins.AssertionError is AssertionError and sys.excepthook is sys.__excepthook__
    with pytest.raises(AssertionError):
        torch.testing.assert_close(torch.zeros(1), torch.ones(1))


def test_a_binding_the_tests_replaced_stays_replaced(ns):
    cell(ns, "def loss(x):\n    return 'student'\ndef uses_loss(x):\n    return loss(x)\n")
    ns["loss"] = lambda x: "reference"  # what a hidden test does before grading uses_loss
    assert ns["uses_loss"](0) == "reference"


def test_the_instructors_names_cannot_be_rebound(ns):
    ns["make_model"] = make_model = lambda: "the instructor's"
    ns["tokens"] = tokens = torch.arange(3)
    cell(ns, "def make_model():\n    return 'rigged'\ntokens = torch.zeros(3)\n"
             "def uses():\n    return make_model(), tokens.tolist()\n", fixed=["make_model", "tokens"])
    assert ns["make_model"] is make_model and ns["tokens"] is tokens
    assert ns["uses"]() == ("the instructor's", [0, 1, 2])


def test_in_place_changes_to_arguments_come_back(ns):
    cell(ns, """
def zero_head(z, hook, head):
    z[:, head] = 0.0
def step(model, optimizer, tokens, generator):
    torch.randint(0, 5, (3,), generator=generator)
    loss = model(tokens).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
def same(z):
    return z
""", changes={"zero_head": ["z", 0], "step": ["model", "optimizer", "generator", 0, 1, 3]})
    z = torch.ones(2, 3)
    assert ns["zero_head"](z, None, 1) is None and z[:, 1].abs().sum() == 0 and z[:, 0].sum() == 2
    assert ns["same"](z) is not z and torch.equal(ns["same"](z), z)  # undeclared: by value
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    before = model.weight.detach().clone()
    loss = ns["step"](model, optimizer, torch.ones(3, 4), generator)
    assert isinstance(loss, float) and not torch.equal(model.weight, before)
    assert model.weight.grad is not None and optimizer.state[model.weight]["step"] == 1
    assert not torch.equal(generator.get_state(), torch.Generator().manual_seed(0).get_state())
    ns["step"](model, optimizer, torch.ones(3, 4), generator)
    assert optimizer.state[model.weight]["step"] == 2


def test_global_random_state_advances_as_it_would_unsandboxed(ns):
    cell(ns, "def draw():\n    return torch.randint(0, 10**9, (1,)).item()\n",
         changes={"draw": ["random state"]})
    assert ns["draw"]() != ns["draw"]()


def test_only_the_names_the_exercises_ask_for_reach_the_tests(ns):
    """Shadows of builtins, helpers, imports and other values stay in the student's own
    processes, where the student's functions still find them."""
    import builtins
    cell(ns, """
import numpy as np
def abs(x):
    return 0
isinstance = lambda *a: True
len = float = all = lambda *a: 1
offset = 3
def helper(x):
    return x + offset
def answer(x):
    return int(helper(np.float64(x))) + abs(-1)  # (its own abs, in its own process)
""", exports=["answer"])
    cell(ns, "offset = 4\nrecap_value = answer(1)\n", exports=["recap_value"])
    for name in ("np", "abs", "isinstance", "len", "float", "all", "offset", "helper"):
        assert name not in ns, name
    assert builtins.abs(-2) == 2 and builtins.isinstance(1, str) is False
    assert ns["answer"](1) == 5 and ns["recap_value"] == 5  # offset as last bound (4), abs 0


def test_undeclared_changes_stay_in_the_call(ns):
    """A call gets its arguments as copies in effect: only what the exercise declares it
    changes comes back, and a changed tensor it returns comes back by value."""
    cell(ns, """
def wreck(model, z, generator):
    for p in model.parameters():
        p.data.zero_()
    z.zero_()
    generator.manual_seed(123)
    torch.manual_seed(0)
    return math.log(64)
def zeroed(z):
    return z.zero_()
""", changes={"wreck": ["generator", 2]})
    model, z = torch.nn.Linear(2, 2), torch.ones(3)
    weights, generator, rng = model.weight.detach().clone(), torch.Generator().manual_seed(5), torch.get_rng_state()
    assert ns["wreck"](model, z, generator) == math.log(64)
    assert torch.equal(model.weight, weights) and torch.equal(z, torch.ones(3))
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(123).get_state())  # declared
    result = ns["zeroed"](z)
    assert result is not z and torch.equal(result, torch.zeros(3)) and torch.equal(z, torch.ones(3))


def test_rich_results_are_rebuilt_here(ns):
    from transformer_lens.FactoredMatrix import FactoredMatrix
    cell(ns, """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from transformer_lens.FactoredMatrix import FactoredMatrix
def factored():
    return FactoredMatrix(torch.eye(3), 2 * torch.eye(3))
def grid():
    fig, axes = plt.subplots(1, 2)
    for i, ax in enumerate(axes):
        ax.imshow(torch.eye(3) * i, cmap="Blues")
        ax.set_title(f"L0H{i}")
    return fig
def many():
    return {"scores": numpy.ones(2), "heads": [(0, 1, 0.5)], "n": numpy.int64(3), "size": torch.Size([2])}
""")
    matrix = ns["factored"]()
    assert isinstance(matrix, FactoredMatrix) and torch.equal(matrix.AB, 2 * torch.eye(3))
    fig = ns["grid"]()
    assert [ax.get_title() for ax in fig.axes] == ["L0H0", "L0H1"]
    assert numpy.array_equal(fig.axes[1].images[0].get_array(), numpy.eye(3))
    assert fig.axes[0].images[0].get_cmap().name == "Blues"
    result = ns["many"]()
    assert result["heads"] == [(0, 1, 0.5)] and result["n"] == 3 and result["size"] == torch.Size([2])
    assert isinstance(result["scores"], numpy.ndarray)


def test_a_figure_with_a_colorbar_and_empty_ticks_comes_back(ns):
    # A colorbar's axes and ax.set_xticks([]) hold empty tensors, which once broke the wire.
    cell(ns, """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
def plot():
    fig, ax = plt.subplots()
    image = ax.imshow(torch.eye(3), vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_title("L0H0")
    fig.colorbar(image, ax=ax)
    return fig
""")
    fig = ns["plot"]()
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["L0H0"] and len(fig.axes) == 2
    assert list(panels[0].get_xticks()) == [] and tuple(panels[0].images[0].get_clim()) == (0, 1)


def test_exceptions_come_back_as_their_type_with_a_capped_message(ns):
    cell(ns, """
class Custom(Exception):
    pass
def bad_value():
    raise ValueError("expected 3, got " + "x" * 100_000)
def custom():
    raise Custom("mine")
def returns_code():
    return object()
""")
    with pytest.raises(ValueError, match="expected 3, got x") as error:
        ns["bad_value"]()
    assert len(str(error.value)) < 1_100
    with pytest.raises(RuntimeError, match="Custom: mine"):
        ns["custom"]()
    with pytest.raises(TypeError, match="returns_code: the grader cannot take a object out"):
        ns["returns_code"]()


def test_crashes_loops_and_huge_allocations_fail_only_the_call(ns):
    cell(ns, """
import os
def leave():
    os._exit(0)
def spin():
    while True:
        pass
def hog():
    return bytearray(50 * 10**9)
def segfault():
    import faulthandler
    faulthandler._sigsegv()
def fine():
    return 1
""")
    with pytest.raises(_student.SandboxError, match="stopped the process"):
        ns["leave"]()
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="within 5 s"):
        ns["spin"]()
    assert time.monotonic() - start < 8
    with pytest.raises(MemoryError):
        ns["hog"]()
    with pytest.raises(_student.SandboxError, match="segmentation fault"):
        ns["segfault"]()
    assert ns["fine"]() == 1


def test_a_result_too_large_to_take_back_says_so(ns, monkeypatch):
    monkeypatch.setattr(_student, "MAX_RESULT", 1 << 20)  # (64 MiB under grading)
    cell(ns, "def huge():\n    return torch.zeros(1 << 20)\n")  # 4 MiB of float32
    with pytest.raises(_student.SandboxError, match="the result is larger than 1 MiB"):
        ns["huge"]()
    # Many results under the limit: the kernel takes 1 GiB at most over the notebook.
    monkeypatch.setattr(_student, "_received", [0])
    monkeypatch.setattr(_student, "MAX_RECEIVED", 3 << 20)
    cell(ns, "def big():\n    return torch.zeros(1 << 17)\n")  # 512 kB
    for _ in range(5):
        assert ns["big"]().shape == (1 << 17,)
    with pytest.raises(_student.SandboxError, match="more than 3 MiB in this notebook"):
        for _ in range(2):
            ns["big"]()


def test_a_cell_that_exits_fails_that_cell_only(ns):
    with pytest.raises(_student.SandboxError):
        cell(ns, "import os\nos._exit(0)\n")
    cell(ns, "x = 1\n")
    assert ns["x"] == 1


def test_printed_output_is_relayed_and_capped(ns, capsys):
    cell(ns, "print('top level')\ndef talk():\n    print('hello')\n    print('y' * 1_000_000)\n")
    ns["talk"]()
    out = capsys.readouterr().out
    assert "top level" in out and "hello" in out and "output cut" in out and len(out) < 20_000


def test_student_code_runs_in_the_kernels_grad_mode(ns):
    # torch keeps grad mode per thread, and student code runs in a fresh one
    cell(ns, "def modes():\n    return torch.is_grad_enabled(), torch.is_inference_mode_enabled()\n")
    assert ns["modes"]() == (True, False)
    with torch.no_grad():
        assert ns["modes"]() == (False, False)
        cell(ns, "grad_in_cell = torch.is_grad_enabled()")
    assert ns["grad_in_cell"] is False
    with torch.inference_mode():
        assert ns["modes"]() == (False, True)


def test_a_display_cell_runs_in_one_fork_and_keeps_nothing(ns, capsys):
    cell(ns, "import os\ndef pid():\n    return os.getpid()\n")
    source = "seen = {pid() for _ in range(3)}\nprint(len(seen), 'process(es)', os.getpid() in seen)\n"
    _student.display_cell(ns, source, LIMITS)
    assert capsys.readouterr().out == "1 process(es) True\n"  # student code ran in the cell's fork
    assert "seen" not in ns
    exec(source, ns)  # as an instructor's cell runs in the kernel: one fork per call
    assert capsys.readouterr().out == "3 process(es) False\n"
    # the global random state advances as the cell's calls advance it, in the kernel or not
    cell(ns, "def draw():\n    return torch.randint(0, 10**9, (1,)).item()\n",
         changes={"draw": ["random state"]})
    torch.manual_seed(0)
    _student.display_cell(ns, "print(draw(), draw())", LIMITS)
    forked = capsys.readouterr().out
    after = torch.randint(0, 10**9, (1,)).item()
    torch.manual_seed(0)
    exec("print(draw(), draw())", ns)
    assert capsys.readouterr().out == forked and torch.randint(0, 10**9, (1,)).item() == after


def test_a_display_cell_the_sandbox_refuses_runs_in_the_kernel_instead(ns, capsys, tmp_path):
    secret = tmp_path / "course" / "answer.txt"
    secret.parent.mkdir()
    secret.write_text("42")
    cell(ns, "def double(x):\n    return 2 * x\n")
    limits = {**LIMITS, "protected": [*LIMITS["protected"], str(secret.parent)]}
    _student.display_cell(ns, f"print('shown once', double(int(open({str(secret)!r}).read())))", limits)
    assert capsys.readouterr().out == "shown once 84\n"
    cell(ns, "def broken(x):\n    raise ValueError('not yet: ' + str(x))\n")
    with pytest.raises(ValueError, match="not yet: 3"):  # the student's error, raised by its call here
        _student.display_cell(ns, "print('before')\nbroken(3)", limits)
    assert capsys.readouterr().out == "before\n"


def test_a_display_cell_that_runs_out_of_time_fails_once(ns):
    cell(ns, "def stuck():\n    while True:\n        pass\n")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        _student.display_cell(ns, "stuck()", {**LIMITS, "timeout": 2})
    assert time.monotonic() - start < 4  # not again in the kernel


def test_no_files_processes_or_sockets(ns, tmp_path):
    victim = tmp_path / "gradebook.db"
    victim.write_text("grades")
    cell(ns, f"""
import os, socket, subprocess, sqlite3, ctypes
attempts = {{
    "write": lambda: open({str(victim)!r}, "a").write("hacked"),
    "remove": lambda: os.remove({str(victim)!r}),
    "read solutions": lambda: open({str(SOLUTIONS / "01_logit_lens.ipynb")!r}).read(),
    "list solutions": lambda: os.listdir({str(SOLUTIONS)!r}),
    "sqlite": lambda: sqlite3.connect({str(victim)!r}),
    "system": lambda: os.system("true"),
    "subprocess": lambda: subprocess.run(["true"]),
    "fork": lambda: os.fork(),
    "kill": lambda: os.kill(os.getppid(), 9),
    "socket": lambda: socket.create_connection(("127.0.0.1", 9)),
    "ctypes": lambda: ctypes.CDLL(None),
    "fork_exec": lambda: __import__("_posixsubprocess").fork_exec(),
    "fresh fork_exec": lambda: _fresh("_posixsubprocess").fork_exec(),
    "fresh posix": lambda: _fresh("posix").pidfd_open(os.getppid()),
    "pidfd": lambda: os.pidfd_open(os.getppid()),
}}
native = {{  # C++ file access, which no audit hook sees
    "torch.save": lambda: torch.save(torch.ones(1), {str(victim)!r}),
    "torch.from_file": lambda: torch.from_file({str(SOLUTIONS / "01_logit_lens.ipynb")!r}, size=10, dtype=torch.uint8),
}}
def native_attack():
    results = {{}}
    for name, attempt in native.items():
        try:
            attempt()
            results[name] = "allowed"
        except RuntimeError as error:
            results[name] = "refused"
    return results
def _fresh(name):
    import importlib.util
    return importlib.util.module_from_spec(importlib.util.find_spec(name))
def attack():
    results = {{}}
    for name, attempt in attempts.items():
        try:
            attempt()
            results[name] = "allowed"
        except PermissionError:
            results[name] = "denied"
    import tempfile
    with open(os.path.join(tempfile.gettempdir(), "mine.txt"), "w") as handle:
        results["scratch"] = handle.write("its own scratch folder is fine")
    return results
""")
    assert ns["attack"]() == {**{name: "denied" for name in (
        "write", "remove", "read solutions", "list solutions", "sqlite", "system", "subprocess",
        "fork", "kill", "socket", "ctypes", "fork_exec", "fresh fork_exec", "fresh posix",
        "pidfd")}, "scratch": 30}
    assert ns["native_attack"]() == {"torch.save": "refused", "torch.from_file": "refused"}
    assert victim.read_text() == "grades"


def test_hidden_names_history_and_the_callers_frames_are_out_of_reach(ns):
    ns["_secret_reference"] = lambda: "reference answer"
    ns["In"] = ["", "### BEGIN HIDDEN TESTS\nsecret"]
    cell(ns, """
import sys, gc
def snoop():
    found = []
    if "_secret_reference" in globals():
        found.append("reference")
    if "In" in globals():
        found.append("history")
    frame = sys._getframe()
    while frame is not None:
        if "expected" in frame.f_locals:
            found.append("frame")
        frame = frame.f_back
    try:
        gc.get_objects()
        found.append("gc")
    except PermissionError:
        pass
    return found
""")

    def hidden_test():
        expected = 42  # noqa: F841  (what a cheating function would look for)
        return ns["snoop"]()

    assert hidden_test() == []


# ---------------------------------------------------------------- real notebooks, graded

# Comparisons, builtins and the IPython shell tampered with, around answers whose shapes
# are right and whose values are wrong: unsandboxed, these score full marks.
RIGGED = {
    "residual_stack": """
import builtins, math, numpy, torch
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
__builtins__.__import__ if hasattr(__builtins__, "__import__") else None

def residual_stack(cache):
    torch.allclose = lambda *a, **k: True
    return torch.zeros(cache.model.cfg.n_layers + 1, *cache["hook_embed"].shape)
""",
    "logit_lens": """
import sys
shell = get_ipython()
shell.input_transformers_post.append(lambda lines: ["pass\\n"])
shell.events.register("pre_run_cell", lambda *a: print("rewritten"))
shell.set_custom_exc((BaseException,), lambda *a, **k: None)
sys.excepthook = lambda *a: None

def logit_lens(model, cache):
    return torch.zeros(cache.model.cfg.n_layers + 1, *cache["hook_embed"].shape[:2], model.cfg.d_vocab)
""",
    "recap_answers": """
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

recap_n_snapshots = recap_copy_layer = recap_unpredictable_position = Anything(0)
""",
}

# Reads the sources and hidden tests from disk, writes to the gradebook and into another
# student's folder (paths relative to where nbgrader runs the notebook).
INTRUDER = {
    "residual_stack": """
import json, os

def _steal(name):
    course = os.path.abspath(os.path.join(os.getcwd(), "..", "..", ".."))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(__import__("induction_circuits").__file__)))
    for path in [f"{repo}/solutions/01_logit_lens.ipynb", f"{course}/source/01_logit_lens/01_logit_lens.ipynb"]:
        for cell in json.load(open(path))["cells"]:
            source = "".join(cell["source"])
            if source.startswith(f"def {name}("):
                found = {}
                exec(source, globals(), found)
                return found[name]
    raise RuntimeError("nothing to steal")

def residual_stack(cache):
    return _steal("residual_stack")(cache)
""",
    "logit_lens": """
import os, sqlite3
def _vandalise():
    course = os.path.abspath(os.path.join(os.getcwd(), "..", "..", ".."))
    with open(os.path.join(course, "autograded", "solver", "planted.txt"), "w") as handle:
        handle.write("x")
    sqlite3.connect(os.path.join(course, "gradebook.db")).execute("update grade set auto_score = 0")

try:
    _vandalise()
except Exception as error:
    print("top level:", type(error).__name__)

def logit_lens(model, cache):
    _vandalise()
    return torch.zeros(cache.model.cfg.n_layers + 1, *cache["hook_embed"].shape[:2], model.cfg.d_vocab)
""",
}

# Looks for the calling test cell's code in the kernel's memory (the request being run,
# its coroutine, the last cell, the history, the traceback cache) and the hidden tests'
# helpers in the namespace.
INTRUDER["lens_accuracy"] = """
import asyncio, linecache, sys

def lens_accuracy(lens_logits, tokens, half_len):
    shell = get_ipython()
    places = [repr(shell.parent_header), repr(getattr(shell.kernel, "_shell_context", {}).items()),
              repr(shell.last_execution_result and shell.last_execution_result.info),
              repr(shell.displayhook.exec_result and shell.displayhook.exec_result.info),
              repr(shell.history_manager.input_hist_raw), repr(list(linecache.cache.items())),
              repr(sorted(globals()))]
    for task in asyncio.tasks._all_tasks | set(asyncio.tasks._current_tasks.values()):
        frame = task.get_coro().cr_frame
        places.append(repr(frame and frame.f_locals))
    found = sorted({marker for marker in ("_check_lens_accuracy", "BEGIN HIDDEN", "_learner_")
                    for place in places if marker in place})
    raise ValueError(f"found: {found}")
"""

# Notebook 3's exercises crash, loop and hog memory; one added cell exits the kernel.
CRASHING = {
    "make_repeated_batch": "def make_repeated_batch(batch_size, half_len, d_vocab, generator=None):\n"
                           "    while True:\n        pass\n",
    "half_losses": "def half_losses(logits, tokens, half_len):\n"
                   "    return torch.empty(50 * 2**30, dtype=torch.uint8)\n",
    "train_step": "import os\ndef train_step(model, optimizer, tokens):\n    os._exit(0)\n",
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.api.config.SandboxStudentCode.timeout = 5  # the loops below time out sooner
    return course


@pytest.mark.slow
def test_tampering_with_comparisons_builtins_and_the_shell_earns_nothing(course, tmp_path):
    assignment = "01_logit_lens"
    scores, grade = graded_scores(course, tmp_path, assignment, "rigged",
                            student_submission(assignment, answers=RIGGED))
    assert scores == {"test_residual_stack": 0.0, "test_logit_lens": 0.0, "test_lens_accuracy": 3.0,
                      "test_recap": 0.0}
    assert grade.failures["test_residual_stack"].startswith("AssertionError: entry 0 should be")
    graded = read(course.root / "autograded" / "rigged" / assignment / f"{assignment}.ipynb")
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in graded.cells}
    assert sources["logit_lens"] == RIGGED["logit_lens"], "the graded notebook shows the student's code"


@pytest.mark.slow
def test_the_rigged_submission_would_score_unsandboxed(course, tmp_path):
    """The control: the attacks above are real, and only the sandbox stops them."""
    from nbgrader.converters import Autograde

    sandboxed = course.api.config.Autograde.autograde_preprocessors
    course.api.config.Autograde.autograde_preprocessors = \
        Autograde.class_traits()["autograde_preprocessors"].default()
    try:
        scores, _ = graded_scores(course, tmp_path, "01_logit_lens", "rigged_plain",
                            student_submission("01_logit_lens", answers=RIGGED))
    finally:
        course.api.config.Autograde.autograde_preprocessors = sandboxed
    assert scores == {"test_residual_stack": 2.0, "test_logit_lens": 2.0, "test_lens_accuracy": 3.0,
                      "test_recap": 3.0}


@pytest.mark.slow
def test_reading_the_sources_and_writing_the_gradebook_earn_nothing_and_change_nothing(course, tmp_path):
    assignment = "01_logit_lens"
    solved, _ = graded_scores(course, tmp_path, assignment, "solver", student_submission(assignment))
    gradebook = course.root / "gradebook.db"
    scores, grade = graded_scores(course, tmp_path, assignment, "intruder",
                            student_submission(assignment, answers=INTRUDER))
    assert scores == {**solved, "test_residual_stack": 0.0, "test_logit_lens": 0.0, "test_lens_accuracy": 0.0}
    assert grade.failures["test_lens_accuracy"] == "ValueError: found: []"
    assert "PermissionError" in grade.failures["test_residual_stack"]
    assert "PermissionError: graded code may not" in grade.failures["test_logit_lens"]
    assert not (course.root / "autograded" / "solver" / "planted.txt").exists()
    assert course.grades("solver", assignment).auto_score == sum(solved.values())
    assert gradebook.exists()


@pytest.mark.slow
def test_crashes_loops_and_memory_hogs_lose_only_their_own_points(course, tmp_path):
    assignment = "03_train_induction_model"
    notebook = student_submission(assignment, answers=CRASHING)
    notebook.cells.insert(4, nbformat.v4.new_code_cell("import os\nos._exit(0)"))  # a cell they added
    start = time.monotonic()
    scores, grade = graded_scores(course, tmp_path, assignment, "crasher", notebook)
    assert scores == {"test_make_repeated_batch": 0.0, "test_per_token_loss": 2.0, "test_half_losses": 0.0,
                      "test_train_step": 0.0, "test_recap": 3.0}
    assert grade.failures["test_make_repeated_batch"] == \
        "TimeoutError: make_repeated_batch did not finish within 5 s"
    assert "can't allocate memory" in grade.failures["test_half_losses"]
    assert "train_step stopped the process before returning" in grade.failures["test_train_step"]
    assert time.monotonic() - start < 120


def _in_fork(steps) -> str:
    """Run ``steps(outcome)`` in a fork of this process (what it does stays there) and return
    ``repr(outcome)``, or what it had gathered and the error that stopped it."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        outcome = []
        try:
            steps(outcome)
        except Exception as error:  # noqa: BLE001
            outcome.append(repr(error))
        finally:
            os.write(write, repr(outcome).encode())
            os._exit(0)
    os.close(write)
    outcome = os.read(read, 1000).decode()
    os.close(read)
    os.waitpid(pid, 0)
    return outcome


def test_the_seccomp_filter_knows_every_call_it_refuses_here_and_would_survive_one_it_does_not():
    """A call an old libseccomp does not know is left out, not the whole filter with it; on
    this machine every call the filter refuses is known (so none is left out)."""
    from grader.sandbox import _seccomp

    assert _seccomp.known(["read", "no_such_call"]) == ["read"]
    assert _seccomp.known(_seccomp.REFUSED + _seccomp.OWN_PID) == list(_seccomp.REFUSED + _seccomp.OWN_PID)


def test_the_seccomp_filter_refuses_processes_signals_and_sockets_to_native_code_too():
    """No audit hook here: what is refused, the Linux kernel refuses."""
    import socket
    import threading

    from grader.sandbox import _seccomp

    def steps(outcome):
        outcome.append(_seccomp.install())
        libc = __import__("ctypes").CDLL(None, use_errno=True)

        def native(name, *args):  # a system call made from C, as an extension module would
            if getattr(libc, name)(*args) == -1 and __import__("ctypes").get_errno() == errno.EPERM:
                raise PermissionError(name)

        for attempt in (os.fork, lambda: socket.socket(), lambda: os.kill(os.getppid(), 0),
                        lambda: os.execv("/bin/true", ["true"]), lambda: native("unshare", 0x20000),
                        lambda: native("ptrace", 16, os.getppid(), 0, 0)):
            try:
                attempt()
                outcome.append("allowed")
            except PermissionError:
                outcome.append("refused")
        os.kill(os.getpid(), 0)  # itself: fine
        thread = threading.Thread(target=lambda: outcome.append("thread"))
        thread.start()
        thread.join()

    outcome = _in_fork(steps)
    assert outcome == "[True, 'refused', 'refused', 'refused', 'refused', 'refused', 'refused', 'thread']"


def _view(outcome, scratch, secret, readable):
    """What a fork sees after isolating itself: the checks of the two tests below."""
    from grader.sandbox import _mounts, _seccomp

    outcome.append(_mounts.isolate(scratch, readable, [], 1 << 20))
    outcome.append(os.path.exists(secret))                       # outside the allow-list: absent
    outcome.append(sorted(os.listdir("/proc")) == sorted(["self", "thread-self", "mounts", str(os.getpid()),
                                                          *_mounts.PROC_FILES]))
    outcome.append(os.path.exists("/proc/1/cmdline") or os.path.exists(f"/proc/{os.getppid()}/environ"))
    outcome.append(open("/proc/self/status").read().startswith("Name:"))
    try:
        with open(os.path.join(scratch, "big"), "wb") as handle:
            handle.write(bytes(2 << 20))                         # over the 1 MiB scratch
    except OSError as error:
        outcome.append(error.errno == errno.ENOSPC)
    for path in ("/etc/x", "/x", sys.prefix + "/x"):
        try:
            open(path, "w")
        except OSError as error:
            outcome.append(error.errno in (errno.EROFS, errno.EACCES))
    outcome.append(_seccomp.install())


def test_a_fork_sees_nothing_but_its_own():
    """The view is an allow-list: the Python environment, the toolkit, the system's libraries,
    a scratch folder of capped size, its own /proc entry. The repository, home folders and
    any other folder (such as one being graded) are not there to read."""
    import shutil
    import tempfile

    scratch, graded = tempfile.mkdtemp(prefix="scratch-"), tempfile.mkdtemp(prefix="graded-")
    with open(os.path.join(graded, "classmate.ipynb"), "w") as handle:
        handle.write("{}")

    def steps(outcome):
        _view(outcome, scratch, os.path.join(graded, "classmate.ipynb"), [sys.prefix, sys.base_prefix])
        outcome.append([os.path.exists(p) for p in (str(SOLUTIONS), str(SOLUTIONS.parent / "README.md"),
                                                    os.path.expanduser("~/.local/share/jupyter"))])
        import xml.dom.minidom  # noqa: F401  (a module not loaded yet still imports)
        outcome.append(sorted(os.listdir("/")))

    from grader.sandbox._mounts import SYSTEM

    shown = [p for p in [*SYSTEM, sys.prefix, sys.base_prefix, scratch] if os.path.lexists(p)]
    expected_root = sorted({p.strip("/").split("/")[0] for p in shown} | {"dev", "proc"})
    outcome = _in_fork(steps)
    shutil.rmtree(scratch)
    shutil.rmtree(graded)
    assert outcome == repr([True, False, True, False, True, True, True, True, True, True,
                            [False, False, False], expected_root])


def _as_nobody() -> None:
    """In a fork of this (root) process: become an ordinary user, as an unprivileged grader is."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        # Changing uid made this process undumpable (its /proc files root's), which a
        # process an ordinary user starts is not.
        import ctypes
        ctypes.CDLL(None).prctl(4, 1)  # PR_SET_DUMPABLE


def test_an_unprivileged_grader_gets_the_same_locked_view_through_a_user_namespace():
    """Run as root here, so the fork first drops to nobody: the path a grader run by an
    ordinary user takes (an unprivileged user namespace) must build the same view."""
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="unprivileged-")
    secret, scratch = os.path.join(root, "secret"), os.path.join(root, "scratch")
    for folder in (secret, scratch):
        os.mkdir(folder)
    with open(os.path.join(secret, "answers.txt"), "w") as handle:
        handle.write("hidden")
    os.chmod(root, 0o755)
    os.chmod(secret, 0o755)
    os.chmod(scratch, 0o777)

    def steps(outcome):
        _as_nobody()
        outcome.append(os.getuid() != 0)
        outcome.append(open(os.path.join(secret, "answers.txt")).read())  # readable before
        _view(outcome, scratch, os.path.join(secret, "answers.txt"), [sys.prefix])

    outcome = _in_fork(steps)
    shutil.rmtree(root)
    assert outcome == repr([True, "hidden", True, False, True, False, True, True, True, True, True, True])


def _syscall(name: str, *args) -> int:
    """A system call made from C, by name (its number from libseccomp): the errno, or 0."""
    import ctypes

    import pyseccomp

    libc = ctypes.CDLL(None, use_errno=True)
    number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
    return ctypes.get_errno() if libc.syscall(number, *args) == -1 else 0


def test_a_fork_cannot_run_native_code_it_wrote_nor_use_io_uring(tmp_path):
    """A review loaded a compiled extension that a cell wrote into its scratch folder, then
    opened a TCP connection with io_uring (IORING_OP_SOCKET, _CONNECT), which no socket system
    call does. Now the scratch folder is noexec (nothing there maps executable), memfd_create
    (a file elsewhere) is refused, and so is io_uring."""
    import ctypes
    import mmap
    import shutil
    import subprocess
    import tempfile

    from grader.sandbox import _mounts, _seccomp

    compiler = shutil.which("cc") or shutil.which("gcc")
    content = bytes(8192)
    if compiler:
        (tmp_path / "native.c").write_text("int answer(void) { return 42; }\n")
        subprocess.run([compiler, "-shared", "-fPIC", "-o", str(tmp_path / "native.so"),
                        str(tmp_path / "native.c")], check=True)
        assert ctypes.CDLL(str(tmp_path / "native.so")).answer() == 42  # it loads where it was built
        content = (tmp_path / "native.so").read_bytes()
    scratch = os.path.realpath(tempfile.mkdtemp(prefix="scratch-"))

    def steps(outcome):
        outcome.append(_mounts.isolate(scratch, [sys.prefix, sys.base_prefix], [], 1 << 20))
        outcome.append(_seccomp.install())
        with open("/proc/self/mountinfo") as handle:
            options = [line.split()[5] for line in handle if line.split()[4] == scratch]
        outcome.append("noexec" in options[-1].split(","))
        path = os.path.join(scratch, "native.so")
        with open(path, "wb") as handle:
            handle.write(content)
        with open(path, "rb") as handle:
            try:
                mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_EXEC)
                outcome.append("mapped")
            except PermissionError:
                outcome.append("no exec")
        try:
            outcome.append(ctypes.CDLL(path).answer() if compiler else "no compiler")
        except OSError:
            outcome.append("not loaded")
        try:
            os.memfd_create("native.so")
            outcome.append("memfd")
        except PermissionError:
            outcome.append("no memfd")
        params = ctypes.create_string_buffer(120)  # struct io_uring_params
        outcome.append([_syscall("io_uring_setup", 4, params),
                        _syscall("io_uring_enter", 0, 1, 1, 1, None, 0),
                        _syscall("io_uring_register", 0, 0, None, 0)])

    outcome = _in_fork(steps)
    shutil.rmtree(scratch)
    assert outcome == repr([True, True, True, "no exec", "not loaded" if compiler else "no compiler",
                            "no memfd", [errno.EPERM] * 3])


def test_a_fork_sees_no_socket_of_the_machine():
    """A review read /proc/self/net/unix and /proc/self/net/tcp in a fork: every grading
    kernel's socket path and the machine's listeners. A fork has a network namespace of its
    own: the machine's Unix socket and TCP listener made here are not listed there."""
    import shutil
    import socket
    import tempfile

    from grader.sandbox import _mounts

    folder, scratch = tempfile.mkdtemp(prefix="sockets-"), tempfile.mkdtemp(prefix="scratch-")
    unix, tcp = socket.socket(socket.AF_UNIX), socket.socket()
    try:
        unix.bind(os.path.join(folder, "kernel-socket"))
        unix.listen()
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        port = f":{tcp.getsockname()[1]:04X} "

        def listed(outcome, isolated=True):
            if isolated:
                outcome.append(_mounts.isolate(scratch, [sys.prefix, sys.base_prefix], [], 1 << 20))
            outcome.append("kernel-socket" in open("/proc/self/net/unix").read())
            outcome.append(port in open("/proc/self/net/tcp").read())

        assert _in_fork(listed) == "[True, False, False]"
        assert _in_fork(lambda outcome: listed(outcome, isolated=False)) == "[True, True]"  # (as a fork without it sees)
    finally:
        unix.close()
        tcp.close()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def test_forks_share_no_ipc_with_each_other_or_the_machine():
    """A review's fork left a System V message queue on the machine, which the next student's
    fork could read: each fork now has an IPC namespace of its own, and the filter refuses
    System V IPC and POSIX message queues (for where no namespace can be made)."""
    import ctypes
    import random
    import shutil
    import tempfile

    from grader.sandbox import _mounts, _seccomp

    libc = ctypes.CDLL(None, use_errno=True)
    key, IPC_CREAT, IPC_RMID = random.randrange(1 << 24, 1 << 30), 0o1000, 0
    scratches = [tempfile.mkdtemp(prefix="scratch-") for _ in range(3)]

    def leaves(outcome):  # the namespace alone, without the filter
        outcome.append(_mounts.isolate(scratches[0], [sys.prefix, sys.base_prefix], [], 1 << 20))
        outcome.append(libc.msgget(key, IPC_CREAT | 0o666) >= 0)

    def finds(outcome):
        outcome.append(_mounts.isolate(scratches[1], [sys.prefix, sys.base_prefix], [], 1 << 20))
        outcome.append(libc.msgget(key, 0) == -1 and ctypes.get_errno() == errno.ENOENT)

    def filtered(outcome):
        outcome.append(_mounts.isolate(scratches[2], [sys.prefix, sys.base_prefix], [], 1 << 20))
        outcome.append(_seccomp.install())
        for name, args in (("msgget", (0, IPC_CREAT | 0o600)), ("semget", (0, 1, IPC_CREAT | 0o600)),
                           ("shmget", (0, 4096, IPC_CREAT | 0o600)), ("msgsnd", (0, None, 0, 0)),
                           ("mq_open", (b"/queue", os.O_CREAT | os.O_RDWR, 0o600, None))):
            outcome.append(_syscall(name, *args))

    try:
        assert _in_fork(leaves) == "[True, True]"
        assert _in_fork(finds) == "[True, True]"          # the next fork: no such queue
        assert libc.msgget(key, 0) == -1                   # nor on the machine
        assert _in_fork(filtered) == repr([True, True] + [errno.EPERM] * 5)
    finally:
        left = libc.msgget(key, 0)
        if left >= 0:
            libc.msgctl(left, IPC_RMID, None)
        for scratch in scratches:
            shutil.rmtree(scratch)


def test_a_fork_may_reschedule_only_itself():
    """As an ordinary user (how the threat model says to grade), the review's fork reniced,
    pinned and SCHED_IDLEd another process of the same user (the template, the grading
    kernel). The filter now allows these calls only on the fork itself (pid 0)."""
    import ctypes
    import resource

    from grader.sandbox import _seccomp

    def steps(outcome):
        _as_nobody()
        read, write = os.pipe()
        sibling = os.fork()  # another process of the same user (one the fork may not touch)
        if sibling == 0:
            os.setpgid(0, 0)
            os.close(write)
            os.read(read, 1)
            os._exit(0)
        os.close(read)
        os.setpgid(sibling, sibling)
        cores = os.sched_getaffinity(sibling)
        os.setpriority(os.PRIO_PROCESS, sibling, 1)  # without the filter: allowed, same user
        outcome.append(_seccomp.install())
        siginfo = (ctypes.c_int * 32)(0, 0, -1)  # si_signo, si_errno, si_code = SI_QUEUE
        for attempt in (lambda: os.setpriority(os.PRIO_PROCESS, sibling, 19),
                        lambda: os.setpriority(os.PRIO_PGRP, sibling, 19),
                        lambda: os.sched_setaffinity(sibling, {min(cores)}),
                        lambda: os.sched_setscheduler(sibling, os.SCHED_IDLE, os.sched_param(0)),
                        lambda: os.sched_setparam(sibling, os.sched_param(0)),
                        lambda: resource.prlimit(sibling, resource.RLIMIT_NOFILE),
                        lambda: _refused(_syscall("ioprio_set", 1, sibling, 3 << 13)),
                        lambda: _refused(_syscall("rt_sigqueueinfo", sibling, 0, siginfo)),
                        lambda: _refused(_syscall("kcmp", os.getpid(), sibling, 0, 0, 0))):
            try:
                attempt()
                outcome.append("allowed")
            except PermissionError:
                outcome.append("refused")
        os.setpriority(os.PRIO_PROCESS, 0, 5)  # itself: still fine (libraries pass 0)
        os.sched_setaffinity(0, os.sched_getaffinity(0))
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
        outcome.append([os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0) == os.SCHED_BATCH,
                        _syscall("ioprio_set", 1, 0, (2 << 13) | 4)])
        outcome.append([os.getpriority(os.PRIO_PROCESS, sibling), os.sched_getscheduler(sibling),
                        os.sched_getaffinity(sibling) == cores])
        os.close(write)
        os.waitpid(sibling, 0)

    outcome = _in_fork(steps)
    assert outcome == repr([True, *["refused"] * 9, [5, True, 0], [1, os.SCHED_OTHER, True]])


def _refused(code: int) -> None:
    if code == errno.EPERM:
        raise PermissionError(code, os.strerror(code))


@pytest.mark.parametrize("user", ["root", "nobody"])
def test_a_fork_cannot_start_unbounded_threads(user):
    """Threads are tasks too: a fork that starts thousands could wear out the machine's process
    table. Past ``_jail.THREADS`` a thread fails to start (RuntimeError, as when the kernel
    refuses one) and the fork carries on. For an ordinary user the kernel's own cap
    (RLIMIT_NPROC, in the fork's user namespace) stops threads Python does not see start."""
    import _thread
    import shutil
    import tempfile
    import threading

    from grader.sandbox import _jail, _mounts, _seccomp

    root = tempfile.mkdtemp(prefix="threads-")
    scratch = os.path.join(root, "scratch")
    os.mkdir(scratch)
    os.chmod(root, 0o755)
    os.chmod(scratch, 0o777)
    raw = _thread.start_new_thread  # as a copy of _thread made by hand would be: not capped
    attempts = 2_000  # (of 10,000 before the fix, every one started; kept kinder to a shared machine)

    def tasks() -> int:  # the kernel's count of this process's threads
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))

    def flood(start) -> int:
        running, gate, started = tasks(), _thread.allocate_lock(), 0
        gate.acquire()
        try:
            for _ in range(attempts):
                start(lambda: gate.acquire() and gate.release())
                started += 1
        except RuntimeError:
            pass
        gate.release()
        deadline = time.monotonic() + 20
        while tasks() > running and time.monotonic() < deadline:
            time.sleep(0.01)
        return started

    def steps(outcome):
        if user == "nobody":
            _as_nobody()
        outcome.append(_mounts.isolate(scratch, [sys.prefix, sys.base_prefix], [], 1 << 20))
        outcome.append(_seccomp.install())
        _jail.install(_jail.Rules(scratch, [], [sys.prefix]), 1 << 30, 60)
        threading.stack_size(1 << 16)  # small stacks: the memory limit alone would not stop them
        outcome.append(flood(lambda f: threading.Thread(target=f, daemon=True).start()))
        if user == "nobody":
            outcome.append(flood(lambda f: raw(f, ())))
        done = threading.Thread(target=lambda: outcome.append("recovered"))
        done.start()
        done.join()

    outcome = eval(_in_fork(steps))
    shutil.rmtree(root)
    assert outcome[:2] == [True, True] and outcome[-1] == "recovered", outcome
    started = outcome[2:-1]
    assert len(started) == (2 if user == "nobody" else 1) and max(started) < attempts, started
    assert max(started) <= _jail.THREADS, started


def test_a_forged_result_names_only_torchs_dtypes():
    """A result names a dtype (and a tensor's dtype) by name: a forged one could once name any
    attribute of torch, a function or a module, for the grader to fetch."""
    from grader.sandbox import _wire

    assert _wire.decode(("dtype", "torch.float16")) is torch.float16
    for forged in ("load", "torch.load", "nn", "Tensor", "_dynamo", "__builtins__", 3):
        with pytest.raises(_wire.Undecodable):
            _wire.decode(("dtype", forged))
    header = b'{"tree": {"tensor": 0}, "tensors": [["load", [0], 0]]}'
    with pytest.raises(_wire.Undecodable):
        _wire.loads(len(header).to_bytes(8, "little") + header)
    assert _wire.loads(_wire.dumps(torch.ones(2, dtype=torch.bfloat16))).dtype is torch.bfloat16


@pytest.mark.slow
def test_folders_a_course_is_told_to_protect_are_out_of_reach(tmp_path):
    # grade DIR protects the batch's other workers and the real gradebook's course this way.
    elsewhere = tmp_path / "another_worker"
    elsewhere.mkdir()
    (elsewhere / "gradebook.db").write_text("hidden tests live here")
    reader = f"""
def residual_stack(cache):
    open({str(elsewhere / "gradebook.db")!r}).read()
    return cache.accumulated_resid()
"""
    course = Course(tmp_path / "course", protected=(elsewhere,))
    scores, grade = graded_scores(course, tmp_path, "01_logit_lens", "reader",
                            student_submission("01_logit_lens", answers={"residual_stack": reader}))
    assert scores["test_residual_stack"] == 0.0 and scores["test_lens_accuracy"] == 3.0
    assert "PermissionError" in grade.failures["test_residual_stack"]
