"""Test cells run in a test process forked from the kernel (``grader.sandbox._tests``).

Driven in this process, as the grading kernel would: the test cells' sources are in a file
the kernel side never reads, and each test cell's calls of student code come back here,
to run in sandbox forks of this process.
"""
import json
import os
import time

import pytest
import torch

from grader.sandbox import _student, _tests
from test_sandbox import cell, ns  # noqa: F401  (ns: the fixture)


@pytest.fixture
def run(ns, tmp_path):  # noqa: F811
    """``run(*sources, keeps=...)``: run each test cell in turn, as the kernel does."""
    def run(*sources, keeps=()):
        path = tmp_path / "tests.json"
        path.write_text(json.dumps([{"grade_id": f"test_{i}", "source": source, "keeps": list(keeps)}
                                    for i, source in enumerate(sources)]))
        for index in range(len(sources)):
            _tests.test_cell(ns, index, {"tests": str(path)})
    return run


def test_a_test_cell_prints_fails_and_keeps_only_what_later_cells_read(ns, run, capsys):
    ns["model_name"] = "toy"
    run("print('checking', model_name)\nshown = 1\nscratch = 2\nmodel_name = 'changed'\n", keeps=["shown"])
    assert capsys.readouterr().out == "checking toy\n"
    assert ns["shown"] == 1 and "scratch" not in ns and ns["model_name"] == "toy"
    with pytest.raises(AssertionError, match="^expected 3, got 2$"):
        run("assert 1 + 1 == 3, 'expected 3, got 2'\n")


def test_calls_of_student_code_run_in_a_fork_of_the_kernel_with_the_tests_rebound_names(ns, run):
    cell(ns, "def helper():\n    return 'the student'\ndef answer():\n    return helper()\n", exports=["helper", "answer"])
    run("assert answer() == 'the student'\n"
        "helper = lambda: 'the reference'\n"  # a hidden test's reference version of a prerequisite
        "assert answer() == 'the reference', answer()\n")
    assert ns["helper"]() == "the student"  # nothing the test rebound stays


def test_helpers_an_earlier_test_cell_defined_are_there_and_nothing_else_of_it(ns, run):
    cell(ns, "def answer(x):\n    return x + 1\n")
    run("def _reference(x):\n    return x + 1\nanswer = _reference\nimport math\n",
        "assert _reference(1) == answer(1) == 2 and math.pi > 3\n"
        "assert not isinstance(answer, type(_reference)), 'the student s own: the rebinding is not replayed'\n")


def test_arguments_go_by_value_and_only_declared_changes_come_back(ns, run):
    cell(ns, "import torch\n"
             "def step(model, tokens):\n    with torch.no_grad():\n        model.weight.add_(1.0)\n        tokens.zero_()\n"
             "    return model\n"
             "def meddle(model):\n    with torch.no_grad():\n        model.weight.zero_()\n")
    _student.CONFIG["changes"] = {"step": ["model", 0]}  # (by name and position, as the grader declares)
    run("import torch\n"
        "layer = torch.nn.Linear(2, 2)\nbefore = layer.weight.detach().clone()\ntokens = torch.ones(3)\n"
        "assert step(layer, tokens) is layer, 'an argument returned comes back as the caller s own object'\n"
        "assert torch.equal(layer.weight, before + 1), 'a declared change comes back'\n"
        "assert torch.equal(tokens, torch.ones(3)), 'an undeclared one does not'\n"
        "meddle(layer)\nassert torch.equal(layer.weight, before + 1)\n")


def test_student_code_starts_from_the_tests_random_state_and_gives_back_its_own(ns, run):
    cell(ns, "import torch\ndef draw():\n    return torch.rand(3)\n")
    _student.CONFIG["changes"] = {"draw": ["random state"]}
    torch.manual_seed(0)
    run("import torch\ntorch.manual_seed(7)\nexpected = torch.rand(3)\nafter = torch.rand(3)\n"
        "torch.manual_seed(7)\nassert torch.equal(draw(), expected)\nassert torch.equal(torch.rand(3), after)\n")
    generator = torch.Generator().manual_seed(7)
    torch.rand(6, generator=generator)  # the test process drew 6 numbers since its last seed
    assert torch.equal(torch.rand(2), torch.rand(2, generator=generator)), "the test's random state comes back"


def test_a_hook_gets_its_hook_points_name_and_its_tensor_comes_back_by_value(ns, run):
    cell(ns, "def ablate(z, hook):\n    z[:, 0] = 0.0\n    return z, hook.name, hook.layer()\n")
    run("import torch\nfrom transformer_lens.hook_points import HookPoint\n"
        "point = HookPoint()\npoint.name = 'blocks.1.attn.hook_z'\n"
        "z = torch.ones(2, 2, requires_grad=True) * 2\n"
        "out, name, layer = ablate(z, point)\n"
        "assert name == 'blocks.1.attn.hook_z' and layer == 1\n"
        "assert torch.equal(out, torch.tensor([[0.0, 2.0], [0.0, 2.0]])) and torch.equal(z, torch.full((2, 2), 2.0))\n")


def test_what_a_test_cell_prints_or_raises_about_a_huge_answer_is_capped(ns, run, capsys):
    """A review returned a 60 MB string where a test's message quotes the answer: the graded
    notebook came out at 120 MB. A test cell's output and its error are capped as student
    code's own are."""
    cell(ns, "def answer():\n    return 'A' * 5_000_000\n")
    with pytest.raises(AssertionError) as raised:
        run("print(answer())\nassert answer() == 'B', f'expected B, got {answer()}'\n")
    assert len(str(raised.value)) < 2 * _student.CONFIG["message"]
    out = capsys.readouterr().out
    assert len(out) < 2 * _student.CONFIG["output"] and out.endswith("characters)\n")


COUNTER = ("import os, sys\n"
           "def visit():\n"
           "    sys.visits = getattr(sys, 'visits', 0) + 1  # state no exercise declares\n"
           "    return os.getpid(), sys.visits\n")


def test_a_test_cell_s_calls_share_one_fork_and_the_next_cell_gets_a_fresh_one(ns, run, monkeypatch):
    """One sandbox fork per test cell (``_student.Session``), not one per call: a later call
    finds what earlier calls of the same cell left, as in the student's own kernel; another
    cell starts from the kernel's clean memory again."""
    cell(ns, COUNTER)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    run("first = [visit() for _ in range(4)]\n"
        "assert len({pid for pid, _ in first}) == 1, first\n"
        "assert [n for _, n in first] == [1, 2, 3, 4], first\n",
        "again = visit()\nassert again[1] == 1 and again[0] != first[0][0], (again, first)\n",
        keeps=["first"])
    assert len(forks) == 4, "two test processes and one sandbox fork for each of their cells"


def test_every_call_starts_from_the_kernel_s_names_and_the_test_s_rebound_ones(ns, run):
    cell(ns, "def helper():\n    return 'the student'\n"
             "def rebind():\n    global helper, scratch\n    helper = scratch = None\n"
             "def answer():\n    return helper(), 'scratch' in globals()\n",
         exports=["helper", "rebind", "answer"])
    run("rebind()\nassert answer() == ('the student', False), answer()\n"
        "helper = lambda: 'the reference'\nassert answer() == ('the reference', False), answer()\n"
        "del helper\nassert answer() == ('the student', False), answer()\n")


def test_a_call_that_ends_its_fork_or_runs_out_of_time_costs_only_that_call(ns, run, tmp_path):
    cell(ns, COUNTER + "import time\ndef die():\n    os._exit(3)\ndef hang():\n    time.sleep(30)\n")
    path = tmp_path / "tests.json"
    source = ("before = visit()\n"
              "try:\n    die()\nexcept Exception as error:\n    died = str(error)\n"
              "try:\n    hang()\nexcept TimeoutError as error:\n    hung = str(error)\n"
              "after = visit()\n"
              "assert 'stopped the process' in died and 'exited with status 3' in died, died\n"
              "assert 'did not finish within 1 s' in hung, hung\n"
              "assert after[1] == 1 and after[0] != before[0], (before, after)\n")
    path.write_text(json.dumps([{"grade_id": "test_0", "source": source, "keeps": []}]))
    start = time.monotonic()
    _tests.test_cell(ns, 0, {"tests": str(path), "timeout": 1})
    assert time.monotonic() - start < 10


def test_a_call_has_the_memory_and_time_of_a_fork_of_its_own_whatever_earlier_calls_used(ns, run, monkeypatch):
    """A session's fork is replaced once its calls have used ``SESSION_MEMORY`` (or
    ``SESSION_CPU``): a later call is never left with less than a fork of its own has."""
    cell(ns, COUNTER + "def hoard():\n    sys.hoard = bytearray(300 << 20)\n")
    run("one = visit()\nhoard()\ntwo = visit()\n"
        "assert two == (two[0], 1) and two[0] != one[0], (one, two)\n")
    monkeypatch.setattr(_student, "SESSION_CPU", -1)  # every call counts as having used too much
    run("pids = {visit()[0] for _ in range(3)}\nassert len(pids) == 3, pids\n")


def test_each_call_s_output_is_shown_as_it_answers(ns, run, capsys):
    cell(ns, "def say(word):\n    print(word)\n    return word\n")
    run("say('one')\nprint('the test')\nsay('two')\n")
    assert capsys.readouterr().out == "one\nthe test\ntwo\n"


def test_garbage_on_the_session_s_pipes_costs_only_that_cell_s_calls(ns, tmp_path):
    """Student code can write anything to the fork's pipes (forged or torn answers, endless
    output, during and after its call): the kernel never waits past a call's time limit,
    and the next cell's calls run as ever."""
    cell(ns, COUNTER + "import threading\n"
                       "def spam():\n"
                       "    def forever():\n"
                       "        while True:\n"
                       "            for fd in range(1, 20):\n"
                       "                try:\n"
                       "                    os.write(fd, b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02{}' * 1000)\n"
                       "                except OSError:\n"
                       "                    pass\n"
                       "    threading.Thread(target=forever, daemon=True).start()\n"
                       "    return 1\n")
    path = tmp_path / "tests.json"
    sources = ["outcomes = []\nfor function in (spam, visit, visit):\n"
               "    try:\n        outcomes.append(function())\n    except Exception as error:\n"
               "        outcomes.append(type(error).__name__)\n",
               "assert visit()[1] == 1\n"]
    path.write_text(json.dumps([{"grade_id": f"test_{i}", "source": source, "keeps": []}
                                for i, source in enumerate(sources)]))
    start = time.monotonic()
    try:
        _tests.test_cell(ns, 0, {"tests": str(path), "timeout": 1})
    except Exception:  # noqa: BLE001  (whatever the garbage made of this cell: its own failure)
        pass
    assert time.monotonic() - start < 3 * 3 + 5, "three calls, each within its 1 s limit"
    _tests.test_cell(ns, 1, {"tests": str(path), "timeout": 1})


def test_every_call_of_a_cell_has_the_whole_scratch_disk(ns, run):
    """Review 7: a correct answer that left a 12 MB file in its scratch folder failed its
    test cell's sixth call with 'No space left on device' (the cell's calls share a fork)."""
    cell(ns, "import os, tempfile\n"
             "def leave(megabytes):\n"
             "    handle = tempfile.NamedTemporaryFile(delete=False)\n"
             "    handle.write(bytes(megabytes << 20))\n    handle.close()\n"
             "    return sorted(os.listdir(tempfile.gettempdir()))\n")
    run("seen = [leave(20) for _ in range(5)]\n"
        "assert all(len(files) == 1 for files in seen), seen\n")


def test_the_hidden_tests_names_are_not_in_a_fork(ns, run):
    """Review 7 read the names of hidden tests' helpers from the runtime's own settings."""
    cell(ns, "import sys\ndef peek():\n    return list(sys.modules['grader.sandbox._student'].CONFIG['hidden'])\n")
    _student.CONFIG["hidden"] = ["_secret_reference"]
    assert ns["peek"]() == []
    run("assert peek() == [], peek()\n")
    assert _student.CONFIG["hidden"] == ["_secret_reference"], "the kernel keeps them"


def test_a_large_answer_comes_whole(ns, run):
    """Review 7: the framed answer was joined again at every 64 KiB read, quadratic in its
    size (a 60 MiB answer cost 15-20 s of the kernel's CPU; read in place now)."""
    cell(ns, "import torch\ndef big():\n    return torch.arange(15 << 20, dtype=torch.float32)\n")  # 60 MiB
    run("import torch\nassert torch.equal(big(), torch.arange(15 << 20, dtype=torch.float32))\n")


def test_a_tree_too_deep_to_delete_costs_no_answer(ns, run):
    """Review 8: emptying a scratch folder 3,000 folders deep raised RecursionError in the
    fork, which lost the call's (correct) answer."""
    cell(ns, COUNTER + "import tempfile\n"
             "def deep():\n"
             "    os.chdir(tempfile.gettempdir())\n"
             "    fd = os.open('.', os.O_RDONLY)\n"
             "    for _ in range(3000):  # (by descriptor: the audit hook reads each path given)\n"
             "        os.mkdir('d', dir_fd=fd)\n"
             "        inner = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
             "        os.close(fd)\n        fd = inner\n"
             "    return os.getpid()\n")
    run("pid = deep()\nassert visit()[0] == pid, 'the fork is still there'\n")


def test_the_scratch_folder_holds_a_bounded_number_of_files(ns, run):
    """Review 8: empty files take no disk, but each is the machine's memory: 30 s of them
    grew it by 1.5 GB. The scratch folder holds at most ``_mounts.FILES``."""
    from grader.sandbox import _mounts
    cell(ns, "import os, tempfile\n"
             "def flood():\n"
             "    folder = tempfile.gettempdir()\n"
             f"    for n in range({_mounts.FILES} + 100):\n"
             "        try:\n            open(os.path.join(folder, str(n)), 'w').close()\n"
             "        except OSError as error:\n            return n, error.errno\n"
             "    return n, None\n")
    run(f"import errno\ncreated, why = flood()\nassert {_mounts.FILES} - 10 < created < {_mounts.FILES} and why == errno.ENOSPC, (created, why)\n")
