"""Grading kernels started ahead of the notebook that needs them (``grader.kernels``):
the notebook sees what a kernel started for it alone would show."""
import os
import signal
import time
from unittest import mock

import pytest
from jupyter_core.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook

from grader import kernels
from grader.kernels import WarmExecute

# What a notebook can see of its kernel. `wave`: a module no kernel loads unless told to.
PROBE = ("import os, sys\n"
         "print(os.getpid(), os.getcwd(), os.environ.get('LATE'), os.environ.get('EARLY'),\n"
         "      'wave' in sys.modules, 'wave' in dir(), _dh[-1], get_ipython().starting_dir, sep='|')\n")


@pytest.fixture(autouse=True)
def no_spare_left():
    kernels.stop_spare()
    yield
    kernels.stop_spare()


def _run(folder, preload=("wave",), **env) -> dict:
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell(PROBE)])
    with mock.patch.dict(os.environ, env):
        WarmExecute(spare=True, preload=list(preload), late_env=["LATE"], kernel_name="python3",
                    timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    cell = nb.cells[0]
    pid, cwd, late, early, loaded, bound, history, start = cell.outputs[0].text.strip().split("|")
    return {"pid": int(pid), "cwd": cwd, "late": late, "early": early, "loaded": loaded == "True",
            "bound": bound == "True", "history": history, "start": start, "count": cell.execution_count}


def _seen(folder, late, early) -> dict:
    """What a kernel started for this notebook alone shows, besides its pid."""
    return {"cwd": str(folder), "late": late, "early": early, "loaded": True, "bound": False,
            "history": str(folder), "start": str(folder), "count": 1}


def _spare_pid() -> int:
    assert kernels._spare is not None
    return kernels._spare.km.provisioner.pid


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_next_notebook_takes_the_spare_kernel_and_sees_its_own_folder_and_values(tmp_path):
    first = _run(tmp_path / "one", LATE="a", EARLY="x")
    assert {k: v for k, v in first.items() if k != "pid"} == _seen(tmp_path / "one", "a", "x")
    spare = _spare_pid()
    assert spare != first["pid"]
    second = _run(tmp_path / "two", LATE="b", EARLY="x")
    assert second["pid"] == spare  # started while the first notebook ran
    assert {k: v for k, v in second.items() if k != "pid"} == _seen(tmp_path / "two", "b", "x")
    spare = _spare_pid()
    third = _run(tmp_path / "three", EARLY="x")  # a late value this notebook has not: gone
    assert third["pid"] == spare
    assert {k: v for k, v in third.items() if k != "pid"} == _seen(tmp_path / "three", "None", "x")


def test_a_spare_started_otherwise_is_stopped_and_a_new_kernel_started(tmp_path):
    _run(tmp_path / "one", LATE="a", EARLY="x")
    spare = _spare_pid()
    # EARLY is not late: a kernel may read it as it starts, so the spare does not fit.
    other = _run(tmp_path / "two", LATE="a", EARLY="y")
    assert other["pid"] != spare and _gone(spare)
    assert {k: v for k, v in other.items() if k != "pid"} == _seen(tmp_path / "two", "a", "y")
    spare = _spare_pid()
    # Nor does one started with other preloaded modules.
    bare = _run(tmp_path / "three", preload=(), LATE="a", EARLY="y")
    assert bare["pid"] != spare and _gone(spare)
    assert not bare["loaded"]  # so the others had `wave` only because they preloaded it


@pytest.mark.parametrize("seen", [True, False])
def test_a_spare_that_died_is_replaced_and_none_is_left_behind(tmp_path, seen):
    _run(tmp_path / "one", LATE="a", EARLY="x")
    dead = _spare_pid()
    os.kill(dead, signal.SIGKILL)
    km = kernels._spare.km
    if seen:  # found dead when it is taken
        deadline = time.monotonic() + 10
        while run_sync(km.is_alive)() and time.monotonic() < deadline:
            time.sleep(0.05)
    else:  # or, dying just as it is taken, only when the notebook starts using it

        async def alive():
            return True
        km.is_alive = alive
    after = _run(tmp_path / "two", LATE="a", EARLY="x")
    assert after["pid"] != dead
    assert {k: v for k, v in after.items() if k != "pid"} == _seen(tmp_path / "two", "a", "x")
    last = _spare_pid()
    kernels.stop_spare()
    assert kernels._spare is None and _gone(last)
