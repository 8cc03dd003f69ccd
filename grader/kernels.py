"""Grading kernels that start before they are needed.

A notebook's kernel spends seconds starting and importing torch and TransformerLens
(TransformerBridge imports more, lazily, the first time it builds a model) before the
notebook's own work begins. ``WarmExecute`` is nbgrader's Execute with two changes:

- every kernel imports the ``preload`` modules as it starts, so that the libraries are
  loaded before any cell runs (nothing is bound in the notebook's namespace);
- with ``spare`` on (a batch worker, grading one notebook after another), the kernel for
  the next notebook is started as soon as this one's is, and warms up on the other core
  while this notebook runs. The next notebook takes it if it was started exactly as a new
  kernel would be (same command, same environment except ``late_env``); it is then given
  the notebook's folder and ``late_env`` values before any cell runs. Otherwise it is shut
  down and a new kernel started.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.utils import ensure_async, run_sync
from nbgrader.preprocessors import Execute
from traitlets import Bool, List, Unicode


@dataclass
class _Spare:
    km: object
    launch: tuple  # what it was started with, besides late_env: (kernel name, arguments, env)


_spare: _Spare | None = None
# Run in a spare kernel as its notebook takes it (in a namespace of its own: the notebook's
# gets nothing): the notebook's folder, also as IPython's directory history, and late_env.
ARRIVE = """
import os, pathlib
os.chdir(cwd)
for name, value in late.items():
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
get_ipython().starting_dir = os.getcwd()
get_ipython().history_manager.dir_hist[:] = [pathlib.Path.cwd()]
"""
# A kernel dies with the process that started it, even one killed by SIGKILL whose kernels
# a subreaper (systemd --user) adopts: ipykernel's own watch only starts after the preload.
DIE_WITH_PARENT = "__import__('ctypes').CDLL(None).prctl(1, 9);"  # PR_SET_PDEATHSIG, SIGKILL


_kernels = itertools.count()
SOCKET_PATH_MAX = 107  # bytes in a Unix socket's path (sun_path, less its final NUL)


@functools.cache
def _sockets() -> str:
    """A private folder for the grading kernels' sockets, removed at exit: in /tmp itself
    where there is one (a Unix socket's path has room for 107 bytes; TMPDIR may be deep)."""
    folder = tempfile.mkdtemp(prefix="grader-kernels-", dir="/tmp" if os.path.isdir("/tmp") else None)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _stop(spare: _Spare) -> None:
    try:
        run_sync(spare.km.shutdown_kernel)(now=True)
    except Exception as error:  # noqa: BLE001
        logging.getLogger(__name__).warning("could not stop a spare grading kernel: %s", error)


@atexit.register
def stop_spare() -> None:
    """Shut down the kernel kept for the next notebook, if any."""
    global _spare
    if _spare is not None:
        spare, _spare = _spare, None
        _stop(spare)


class WarmExecute(Execute):
    preload = List(Unicode(), help="Modules every grading kernel imports as it starts").tag(config=True)
    spare = Bool(False, help="Start the next notebook's kernel while this one runs").tag(config=True)
    late_env = List(Unicode(), help="Environment variables read only when used, not as the kernel "
                    "starts: a spare kernel started with other values is given this notebook's").tag(config=True)
    _arrival = None  # (folder, late_env values) to give the spare kernel this notebook takes
    _launch = None  # (kernel name, folder, environment) for a new kernel, should the spare fail

    def create_kernel_manager(self):
        """A kernel, started: the spare if it fits, else a new one; and, with ``spare`` on,
        a new spare. (Called by nbclient's synchronous setup_kernel, as nbgrader runs it:
        every kernel manager here lives on this thread's event loop.)"""
        global _spare
        cwd = os.path.abspath(self.resources.get("metadata", {}).get("path") or os.getcwd())
        env = dict(os.environ)
        late = {name: env.get(name) for name in self.late_env}
        # The kernel nbclient would choose: configured, else the notebook's.
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or ""
        launch = (name, tuple(self._arguments()), tuple(sorted((k, v) for k, v in env.items() if k not in late)))
        spare, _spare = _spare, None
        if spare is not None and not (spare.launch == launch and run_sync(spare.km.is_alive)()):
            _stop(spare)
            spare = None
        self.km = self._start(name, cwd, env) if spare is None else spare.km
        self._arrival = None if spare is None else (cwd, late)
        self._launch = (name, cwd, env)
        if self.spare:
            # Started with this notebook's folder and values; the next gives it its own (_arrive).
            try:
                _spare = _Spare(self._start(name, cwd, env), launch)
            except Exception as error:  # noqa: BLE001  (this notebook is graded all the same)
                self.log.warning("could not start a spare grading kernel: %s", error)
        return self.km

    def _arguments(self) -> list[str]:
        preload = [f"--IPKernelApp.exec_lines=__import__('importlib').import_module({name!r});"
                   for name in self.preload]  # (the ';' keeps the module from being shown)
        history = [f"--HistoryManager.hist_file={self.ipython_hist_file}"]  # as nbclient starts kernels
        if any(a.startswith("--HistoryManager.hist_file") for a in self.extra_arguments):
            history = []
        first = [f"--IPKernelApp.exec_lines={DIE_WITH_PARENT}"] if sys.platform.startswith("linux") else []
        return [*self.extra_arguments, *history, *first, *preload]

    async def _async_start(self, name: str, cwd: str, env: dict):
        names = {"kernel_name": name} if name else {}
        km = self.kernel_manager_class(config=self.config, **names)  # (as nbclient makes them)
        # Unix sockets in a folder of this process's, not TCP on localhost: no port any local
        # process may connect to, and no "running over TCP without encryption" warning.
        # (A prefix per kernel: a spare started at once would otherwise pick the same sockets.)
        prefix = os.path.join(_sockets(), f"k{next(_kernels)}")
        if len(os.fsencode(prefix)) < SOCKET_PATH_MAX - 8:  # (and "-<port>" after it)
            km.transport, km.ip = "ipc", prefix
        await ensure_async(km.start_kernel(extra_arguments=self._arguments(), cwd=cwd, env=env))
        return km

    _start = run_sync(_async_start)

    async def async_start_new_kernel_client(self):
        if self._arrival is None:
            return await super().async_start_new_kernel_client()
        arrival, self._arrival = self._arrival, None
        try:
            kc = await super().async_start_new_kernel_client()
            await self._arrive(kc, *arrival)
            return kc
        except Exception as error:  # noqa: BLE001  (the spare died, say): a new kernel, as without one
            self.log.warning("the spare grading kernel failed (%s): starting a new one", error)
            with contextlib.suppress(Exception):  # (nbclient may have stopped them already)
                await ensure_async(self.kc.stop_channels())
            with contextlib.suppress(Exception):
                await ensure_async(self.km.shutdown_kernel(now=True))
            self.kc = None
            self.km = await self._async_start(*self._launch)
            return await super().async_start_new_kernel_client()

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _arrive(self, kc, cwd: str, late: dict) -> None:
        """Make a spare kernel what a new one started for this notebook would be (ARRIVE)."""
        code = f"exec({ARRIVE!r}, {{'cwd': {cwd!r}, 'late': {late!r}}})"
        reply = await self.async_wait_for_reply(kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"the grading kernel could not be set up for {Path(cwd).name}")
