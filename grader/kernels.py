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
import os
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.utils import ensure_async, run_sync
from nbgrader.preprocessors import Execute
from traitlets import Bool, List, Unicode


@dataclass
class _Spare:
    km: object
    launch: tuple  # what it was started with, besides late_env: (kernel name, arguments, env)
    late: dict  # its late_env values


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
get_ipython().history_manager.dir_hist[:] = [pathlib.Path(cwd)]
"""


def _stop(spare: _Spare) -> None:
    try:
        run_sync(spare.km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001  (already gone)
        pass


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
    _launch = None  # (folder, environment) to start a new kernel with, should the spare fail

    def create_kernel_manager(self):
        """A kernel, started: the spare if it fits, else a new one (then a new spare)."""
        global _spare
        cwd = self.resources.get("metadata", {}).get("path") or os.getcwd()
        env = dict(os.environ)
        late = {name: env.get(name) for name in self.late_env}
        launch = (self.kernel_name, tuple(self._arguments()),
                  tuple(sorted((k, v) for k, v in env.items() if k not in late)))
        spare, _spare = _spare, None
        if spare is not None and not (spare.launch == launch and run_sync(spare.km.is_alive)()):
            _stop(spare)
            spare = None
        km = self._start(cwd, env) if spare is None else spare.km
        self._arrival = None if spare is None else (cwd, late)
        self._launch = (cwd, env)
        if self.spare:
            # Started here, with this notebook's folder and values; the next notebook
            # gives it its own (see _arrive).
            _spare = _Spare(self._start(cwd, env), launch, late)
        self.km = km
        return km

    def _arguments(self) -> list[str]:
        preload = [f"--IPKernelApp.exec_lines=__import__('importlib').import_module({name!r});"
                   for name in self.preload]  # (the ';' keeps the module from being shown)
        history = [f"--HistoryManager.hist_file={self.ipython_hist_file}"]  # as nbclient starts kernels
        if any(a.startswith("--HistoryManager.hist_file") for a in self.extra_arguments):
            history = []
        return [*self.extra_arguments, *history, *preload]

    async def _async_start(self, cwd: str, env: dict):
        names = {"kernel_name": self.kernel_name} if self.kernel_name else {}
        km = self.kernel_manager_class(config=self.config, **names)  # (as nbclient makes them)
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
        except Exception:  # noqa: BLE001  (the spare died, say): a new kernel, as without one
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
