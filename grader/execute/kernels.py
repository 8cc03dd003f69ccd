"""Grading kernels forked from a warm template.

A notebook's kernel spends seconds starting Python and importing torch and TransformerLens
(TransformerBridge imports more, lazily, the first time it builds a model) before the
notebook's own work begins. ``WarmExecute`` is nbgrader's Execute with its kernels started
another way: a *template* process (one per grading process, started with its first kernel)
imports ipykernel and the ``preload`` modules and then runs nothing of any notebook; every
kernel is a fork of it. The fork runs the kernel command jupyter_client built
(``python -m ipykernel_launcher -f <connection file> ...``) in the notebook's folder and
environment, so it starts in milliseconds, with the libraries loaded and their memory
shared, and holds nothing of any notebook graded before.

A fork is taken only if it can be what a new process would be: the same Python, preload and
environment (except ``per_kernel_env``: variables read only when used, set in the fork before
anything runs, such as the folder notebook 3 saves its model in). Otherwise, or if the
template cannot fork (not Linux, no pidfd), the kernel starts as a process of its own, with
the same preload. The grading process watches each forked kernel through a pidfd (the
template's child, not its own), which a reused process id cannot fool.
"""
from __future__ import annotations

import atexit
import functools
import itertools
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from nbgrader.preprocessors import Execute
from traitlets import Bool, List, Unicode

# A kernel dies with the process that started it, even one killed by SIGKILL whose kernels
# a subreaper (systemd --user) adopts: ipykernel's own watch only starts after the preload.
DIE_WITH_PARENT = "__import__('grader._process', fromlist=['_']).die_with_parent();"
TEMPLATE = "from grader.execute._template import serve; serve()"  # (argv: its socket, the preload)
LAUNCHER = ["-m", "ipykernel_launcher"]
SOCKET_PATH_MAX = 107  # bytes in a Unix socket's path (sun_path, less its final NUL)
_kernels = itertools.count()
log = logging.getLogger(__name__)


@functools.cache
def _sockets() -> str:
    """A private folder for the grading kernels' sockets, removed at exit: in /tmp itself
    where there is one (a Unix socket's path has room for 107 bytes; TMPDIR may be deep)."""
    folder = tempfile.mkdtemp(prefix="grader-kernels-", dir="/tmp" if os.path.isdir("/tmp") else None)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class ForkedKernel:
    """A forked kernel as jupyter_client's LocalProvisioner handles a ``Popen``: watched and
    signalled through its pidfd. (Not this process's child: its exit status is not known,
    only that it exited.)"""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int):
        self.pid, self._pidfd, self.returncode = pid, pidfd, None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = 0
            os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
        return self.poll()

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _fits(env: dict, per_kernel) -> tuple:
    """What a kernel's environment must share with the template's: all but the per-kernel values
    and jupyter_client's per-kernel ones."""
    return tuple(sorted((k, v) for k, v in env.items() if k not in per_kernel and not k.startswith("JPY_")))


class Template:
    """The warm process kernels are forked from."""

    def __init__(self, python: str, preload: tuple, env: dict, per_kernel: tuple, cwd: str):
        self.key = (python, preload, _fits(env, per_kernel))
        ours, theirs = socket.socketpair()
        self._channel = ours
        self._process = subprocess.Popen([python, "-c", TEMPLATE, str(theirs.fileno()), *preload],
                                         env=env, cwd=cwd, pass_fds=[theirs.fileno()],
                                         stdin=subprocess.DEVNULL)
        theirs.close()

    def fork(self, argv: list[str], env: dict, cwd: str) -> ForkedKernel | None:
        """A kernel running ``argv`` (ipykernel_launcher's arguments), or None if the template
        could not start it."""
        self._channel.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n")
        message, fds, _, _ = socket.recv_fds(self._channel, 32, 1)
        if not message.startswith(b"k") or not fds:
            return None
        return ForkedKernel(int(message[1:]), fds[0])

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        self._channel.close()  # its loop ends; it exits
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


_template: Template | None = None


@atexit.register
def stop_template() -> None:
    """Stop the template (its kernels are stopped by their own managers)."""
    global _template
    if _template is not None:
        template, _template = _template, None
        template.stop()


def _forkable(python: str) -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds") \
        and os.path.realpath(python) == os.path.realpath(sys.executable)


def _forked_kernel(argv: list[str], env: dict, cwd: str, preload: tuple, per_kernel: tuple) -> ForkedKernel | None:
    """A kernel forked from the template (started, or started again, to fit), or None."""
    global _template
    python, *args = argv
    if args[:2] != LAUNCHER or not _forkable(python):
        return None
    key = (python, preload, _fits(env, per_kernel))
    if _template is not None and (_template.key != key or not _template.alive()):
        stop_template()
    if _template is None:
        _template = Template(python, preload, env, per_kernel, cwd)
    try:
        return _template.fork(args[2:], env, cwd)
    except OSError as error:  # the template died: a kernel of its own
        log.warning("could not fork a grading kernel (%s): starting one of its own", error)
        stop_template()
        return None


@functools.cache
def _forking(manager_class: type) -> type:
    """``manager_class`` with its kernels forked from the template when they can be."""

    class ForkingKernelManager(manager_class):
        preload: tuple = ()
        per_kernel: tuple = ()

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw):
            env = dict(kw.get("env") or os.environ)
            if not kw.get("independent"):
                env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it
            kernel = _forked_kernel(kernel_cmd, env, str(kw.get("cwd") or os.getcwd()), self.preload, self.per_kernel)
            if kernel is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = kernel, kernel.pid, kernel.pid
            provisioner.cwd = kw.get("cwd")
            self._reconcile_connection_info(provisioner.connection_info)

    return ForkingKernelManager


class WarmExecute(Execute):
    preload = List(Unicode(), help="Modules every grading kernel imports as it starts").tag(config=True)
    fork = Bool(True, help="Fork kernels from a warm template process (Linux), rather than "
                "start each as a process of its own").tag(config=True)
    per_kernel_env = List(Unicode(), help="Environment variables read only when used, not as the kernel "
                         "starts: each kernel forked from the template may have its own values").tag(config=True)

    def create_kernel_manager(self):
        """nbclient's, with the forking manager and the kernel's arguments (``_arguments``)."""
        self.kernel_name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or ""
        manager_class = _forking(self.kernel_manager_class) if self.fork else self.kernel_manager_class
        self.km = manager_class(config=self.config, **({"kernel_name": self.kernel_name} if self.kernel_name else {}))
        self.km.preload, self.km.per_kernel = tuple(self.preload), tuple(self.per_kernel_env)
        self.extra_arguments = [*self.extra_arguments,
                                *(a for a in self._arguments() if a not in self.extra_arguments)]
        # Unix sockets in a folder of this process's, not TCP on localhost: no port any local
        # process may connect to, and no "running over TCP without encryption" warning.
        prefix = os.path.join(_sockets(), f"k{next(_kernels)}")
        if len(os.fsencode(prefix)) < SOCKET_PATH_MAX - 8:  # (and "-<port>" after it)
            self.km.transport, self.km.ip = "ipc", prefix
        return self.km

    def _arguments(self) -> list[str]:
        preload = [f"--IPKernelApp.exec_lines=__import__('importlib').import_module({name!r});"
                   for name in self.preload]  # (the ';' keeps the module from being shown)
        return [f"--IPKernelApp.exec_lines={DIE_WITH_PARENT}", *preload]
