"""Grading kernels forked from a warm template (``grader.execute.kernels``): the notebook sees what
a kernel started for it alone would show."""
import os
import signal
import time
from unittest import mock

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.execute import kernels
from grader.execute.kernels import WarmExecute

# What a notebook can see of its kernel. `wave`: a module no kernel loads unless told to.
PROBE = ("import os, sys, random\n"
         "print(os.getpid(), os.getppid(), os.getcwd(), os.environ.get('LATE'), os.environ.get('EARLY'),\n"
         "      'wave' in sys.modules, 'wave' in dir(), _dh[-1], get_ipython().starting_dir,\n"
         "      random.random(), sep='|')\n")


@pytest.fixture(autouse=True)
def no_template_left():
    kernels.stop_template()
    yield
    kernels.stop_template()


def _run(folder, preload=("wave",), fork=True, **env) -> dict:
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell(PROBE)])
    with mock.patch.dict(os.environ, env):
        WarmExecute(fork=fork, preload=list(preload), per_kernel_env=["LATE"], kernel_name="python3",
                    timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    cell = nb.cells[0]
    pid, parent, cwd, late, early, loaded, bound, history, start, rand = cell.outputs[0].text.strip().split("|")
    return {"pid": int(pid), "parent": int(parent), "random": rand,
            "seen": {"cwd": cwd, "late": late, "early": early, "loaded": loaded == "True", "bound": bound == "True",
                     "history": history, "start": start, "count": cell.execution_count}}


def _seen(folder, late, early, loaded=True) -> dict:
    """What a kernel started for this notebook alone shows."""
    return {"cwd": str(folder), "late": late, "early": early, "loaded": loaded, "bound": False,
            "history": str(folder), "start": str(folder), "count": 1}


def _template_pid() -> int:
    assert kernels._template is not None
    return kernels._template._process.pid


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_notebooks_get_fresh_forks_of_one_template_with_their_own_folder_and_values(tmp_path):
    first = _run(tmp_path / "one", LATE="a", EARLY="x")
    template = _template_pid()
    assert first["parent"] == template and first["seen"] == _seen(tmp_path / "one", "a", "x")
    second = _run(tmp_path / "two", LATE="b", EARLY="x")
    assert second["parent"] == template and second["pid"] != first["pid"]
    assert second["seen"] == _seen(tmp_path / "two", "b", "x")
    third = _run(tmp_path / "three", EARLY="x")  # a late value this notebook has not: gone
    assert third["parent"] == template and third["seen"] == _seen(tmp_path / "three", "None", "x")
    assert len({first["random"], second["random"], third["random"]}) == 3  # not the template's state
    assert _gone(first["pid"]) and _gone(second["pid"])  # each stopped after its notebook


def test_a_kernel_the_template_cannot_be_gets_a_template_that_fits(tmp_path):
    _run(tmp_path / "one", LATE="a", EARLY="x")
    template = _template_pid()
    # EARLY is not late: a library may read it as it loads, so this template does not fit.
    other = _run(tmp_path / "two", LATE="a", EARLY="y")
    assert other["parent"] == _template_pid() != template and _gone(template)
    assert other["seen"] == _seen(tmp_path / "two", "a", "y")
    template = _template_pid()
    # Nor does one started with other preloaded modules.
    bare = _run(tmp_path / "three", preload=(), LATE="a", EARLY="y")
    assert bare["parent"] == _template_pid() != template and _gone(template)
    assert bare["seen"] == _seen(tmp_path / "three", "a", "y", loaded=False)  # `wave` came from the preload


def test_a_dead_template_is_replaced_and_none_is_left_behind(tmp_path):
    _run(tmp_path / "one", LATE="a", EARLY="x")
    dead = _template_pid()
    os.kill(dead, signal.SIGKILL)
    kernels._template._process.wait(timeout=10)
    after = _run(tmp_path / "two", LATE="a", EARLY="x")
    assert after["parent"] == _template_pid() != dead
    assert after["seen"] == _seen(tmp_path / "two", "a", "x")
    last = _template_pid()
    kernels.stop_template()
    assert kernels._template is None and _gone(last)


def test_without_forking_each_kernel_is_a_process_of_its_own(tmp_path):
    alone = _run(tmp_path / "one", fork=False, LATE="a", EARLY="x")
    assert alone["parent"] == os.getpid() and kernels._template is None
    assert alone["seen"] == _seen(tmp_path / "one", "a", "x")


def test_a_forked_kernel_is_watched_and_stopped_through_its_pidfd(tmp_path):
    from jupyter_core.utils import run_sync

    executor = WarmExecute(preload=[], kernel_name="python3", timeout=60)
    executor.nb, executor.resources = new_notebook(), {"metadata": {"path": str(tmp_path)}}
    km = executor.create_kernel_manager()
    run_sync(executor.async_start_new_kernel)()
    pid = km.provisioner.pid
    assert isinstance(km.provisioner.process, kernels.ForkedKernel) and run_sync(km.is_alive)()
    os.kill(pid, signal.SIGKILL)
    assert _gone(pid)
    deadline = time.monotonic() + 10
    while run_sync(km.is_alive)() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not run_sync(km.is_alive)()
    run_sync(km.shutdown_kernel)(now=True)  # nothing left to stop: no error


def test_a_forked_kernels_cpu_time_adds_up_to_the_grading_process(tmp_path):
    """As a child's does (the benchmark's CPU figures rest on it): the template reaps its forks."""
    import resource
    import subprocess
    import sys

    code = ("from nbformat.v4 import new_code_cell, new_notebook\n"
            "from grader.execute.kernels import WarmExecute, stop_template\n"
            "nb = new_notebook(cells=[new_code_cell('import time\\nt = time.process_time()\\n"
            "while time.process_time() - t < 2: pass')])\n"
            f"WarmExecute(preload=[], kernel_name='python3', timeout=60).preprocess(nb, {{'metadata': {{'path': {str(tmp_path)!r}}}}})\n"
            "stop_template()\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   cwd=os.path.dirname(os.path.dirname(kernels.__file__)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime >= 2.0
