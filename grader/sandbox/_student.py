"""Student code in the grading kernel, kept out of it (imported by the kernel, never by students).

Under grading, ``grader.sandbox`` replaces each student-written cell with a call to
``student_cell``. This kernel only parses the code. The names it defines are bound to
``StudentFunction`` stand-ins (functions, classes, other callables) or to values
computed by running the cell in a forked child and carried back as plain data
(``_wire``). Calling a stand-in forks the kernel; the child locks itself down
(its own read-only filesystem view, ``_mounts``; a seccomp filter,
``_seccomp``; an audit hook and resource limits, ``_jail``), forgets what
student code must not see (``_scrub``), re-creates the student's functions from their
sources, calls the real one on the (forked) arguments in a fresh thread and sends back
the result and what it changed in place. A test cell's calls (``_tests``) run instead one
after another in one such child, its ``Session``. Nothing a child does reaches this process
except that data.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import gc
import io
import os
import random
import re
import selectors
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import torch

from .._process import die_with_parent
from . import _jail, _mounts, _seccomp, _wire
from ._names import DEFINITIONS, RANDOM_STATE, bound as _bound

CONFIG = {"timeout": 60.0, "memory": 4 << 30, "output": 10_000, "message": 1_000,
          "protected": [], "readable": [], "hidden": [], "fixed": [], "exports": [], "changes": {},
          "disk": 64 << 20}
# The environment variables student code sees: none of the grader's (NBGRADER_EXECUTION, the
# kernel's connection, the course's folders), only what libraries look up.
KEPT_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "MPLBACKEND", "MPLCONFIGDIR", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "TMPDIR",
            "INDUCTION_CIRCUITS_MAX_STEPS")
REPLAYABLE = (*DEFINITIONS, ast.Import, ast.ImportFrom)
HISTORY = re.compile(r"_i+\d*|_+\d*|_[iod]h|In|Out")
MAX_RESULT = 64 << 20  # bytes one fork may send back (a graded result is kilobytes)...
MAX_RECEIVED = 1 << 30  # ...and all of this notebook's forks together: the kernel keeps some
_received = [0]
_IN_CHILD = False
_DELEGATE = None  # in a test process (``_tests``): who runs its calls of student code
_REALIZED: dict = {}  # in a child: (cell, name) -> the student's real object


class SandboxError(RuntimeError):
    """Student code crashed, ran out of time or memory, or returned something unreadable."""


@dataclass
class _Cell:
    key: int
    full: object  # the whole cell, compiled
    replay: object  # its def, class and import statements only, compiled
    names: set = field(default_factory=set)  # names bound to stand-ins
    runs_all: bool = False  # a stand-in needs the whole cell run (e.g. f = make_f())


_CELLS: list[_Cell] = []
# Values student cells bound under names no exercise asks for (helpers, constants): kept here,
# outside the tests' namespace, and handed only to the children that run student code.
_PRIVATE: dict = {}


class StudentFunction:
    """Stands in for a student's callable; calling it runs the real one in a sandbox."""

    def __init__(self, key: tuple, name: str, namespace: dict):
        self._key, self._namespace = key, namespace
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        if _IN_CHILD:
            if self._key not in _REALIZED:
                raise NameError(f"{self.__name__} could not be defined")
            return _REALIZED[self._key](*args, **kwargs)
        return _call(self, args, kwargs)

    def __repr__(self):
        return f"<{self.__name__}: student code, run sandboxed>"


def student_cell(namespace: dict, source: str, config: dict) -> None:
    """Stand in for one student cell: parse it here, run it only in a child."""
    CONFIG.update(config)
    shell = _shell()
    if shell is not None:
        source = shell.transform_cell(source)  # %magics and !commands become plain calls
    filename = f"<student cell {len(_CELLS) + 1}>"
    tree = ast.parse(source, filename)  # a syntax error fails this cell, as it would unsandboxed
    replay = [s for s in tree.body if isinstance(s, REPLAYABLE) and not _star_import(s)]
    other = [s for s in tree.body if s not in replay]
    rebound = _bound(other)
    replayed = _bound(replay) - rebound  # bound here by def, class and import alone
    cell = _Cell(len(_CELLS), compile(tree, filename, "exec"),
                 compile(ast.Module(replay, []), filename, "exec"))
    _CELLS.append(cell)
    for name in _bound(tree.body):
        _PRIVATE.pop(name, None)  # rebound here: whatever it held before is gone
    for statement in replay:
        for name in _bound([statement]) & replayed:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                if _may_bind(name):
                    _bind_import(namespace, statement, name)
            else:
                _stand_in(namespace, cell, name)
    if not other:
        return
    outcome = read_answer(_fork(lambda: _run_cell(namespace, cell), "this cell"), "this cell")
    for name, node in outcome.get("values", {}).items():
        if name in replayed or name in CONFIG["fixed"]:
            continue
        if node[0] == "callable":
            _stand_in(namespace, cell, name)
            cell.runs_all = True  # made by running code (f = make_f()): replaying defs is not enough
        else:
            try:
                (namespace if _may_bind(name) else _PRIVATE)[name] = _wire.decode(node)
            except Exception:  # noqa: BLE001  (whatever the child sent)
                cell.runs_all = True  # kept inside: student functions get it by re-running the cell
    if outcome.get("error"):
        raise _exception(*outcome["error"])


def display_cell(namespace: dict, source: str, config: dict) -> None:
    """Stand in for an instructor's cell that only shows something and calls student code
    (``grader.sandbox.display_cells``): run it whole in one fork, where its calls of student
    code are plain calls, instead of one fork per call. Nothing it binds comes back (nothing
    later reads it), only the global random state. If it fails there, say because the
    sandbox refuses what the cell does, it runs here instead, as any instructor's cell does."""
    CONFIG.update(config)
    shell = _shell()
    code = compile(shell.transform_cell(source) if shell is not None else source, "<cell>", "exec")
    relayed = io.StringIO()
    try:  # (out of time, it fails: here, its calls would each take as long)
        with contextlib.redirect_stdout(relayed):
            outcome = read_answer(_fork(lambda: _run_display(namespace, code), "this cell"), "this cell")
    except SandboxError:
        outcome = {"error": True}
    if outcome.get("error"):
        exec(code, namespace)
    else:
        _set_rng(outcome["rng"])  # as the cell's calls would have advanced it, run from here
        sys.stdout.write(relayed.getvalue())


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _star_import(statement) -> bool:
    return isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names)


def _may_bind(name: str) -> bool:
    """Only the names the exercises ask for (the functions, the recap answers) cross from
    student code into the tests' namespace. Helpers, imports, shadows of builtins
    (``def abs``), other top-level values all stay in the student's own processes; the
    instructor's names (``torch``, ``model``, ``make_model``...) stay the instructor's."""
    return name in CONFIG["exports"] and name not in CONFIG["fixed"]


def _stand_in(namespace: dict, cell: _Cell, name: str) -> None:
    cell.names.add(name)
    if _may_bind(name):
        namespace[name] = StudentFunction((cell.key, name), name, namespace)


def _bind_import(namespace: dict, statement, name: str) -> None:
    """Bind library modules and objects the kernel already loaded; import nothing new here."""
    for alias in statement.names:
        if (alias.asname or alias.name).split(".")[0] != name:
            continue
        if isinstance(statement, ast.Import):
            module = alias.name if alias.asname else name
            if module in sys.modules:
                namespace[name] = sys.modules[module]
        elif statement.level == 0 and statement.module in sys.modules:
            if alias.name in vars(sys.modules[statement.module]):
                namespace[name] = vars(sys.modules[statement.module])[alias.name]


# ---------------------------------------------------------------- parent side of a call

def _call(function: StudentFunction, args: tuple, kwargs: dict):
    named = {**dict(enumerate(args)), **kwargs}
    # Only what the exercise declares it changes comes back (``c.SandboxStudentCode.changes``):
    # the arguments named there, and the global random state if "random state" is.
    declared = CONFIG["changes"].get(function.__name__, [])
    changing = {key: arg for key, arg in named.items() if key in declared}
    if _DELEGATE is not None:
        outcome = _DELEGATE(function, args, kwargs, changing)
    else:
        outcome = read_answer(run_in_fork(function, args, kwargs, changing), function.__name__)
    if outcome.get("error"):
        raise _exception(*outcome["error"])
    _apply(changing, outcome["changes"])
    if RANDOM_STATE in declared:
        _set_rng(outcome["rng"])
    try:
        return _wire.decode(outcome["result"], named)
    except Exception as error:  # noqa: BLE001  (whatever the child sent)
        raise SandboxError(f"{function.__name__} returned something the grader cannot read: {error}") from None


def delegate(runner) -> None:
    """In a test process: calls of student code go to ``runner`` (the kernel), not a fork of this."""
    global _DELEGATE
    _DELEGATE = runner


def run_in_fork(function: StudentFunction, args: tuple, kwargs: dict, changing: dict) -> bytes:
    """A call of student code in a sandbox fork of this kernel: the fork's answer, unread."""
    return _fork(lambda: _run_call(function, args, kwargs, changing), function.__name__)


def read_answer(data: bytes, what: str) -> dict:
    try:
        return _wire.loads(data)
    except Exception:
        raise SandboxError(f"{what} returned something the grader cannot read") from None


def _apply(named: dict, changes: dict) -> None:
    """Copy what the call changed in its arguments into this kernel's objects."""
    with torch.no_grad():
        for key, (kind, *data) in changes.items():
            arg = named[key]
            if kind == "tensor":
                arg.copy_(_wire.decode(data[0]))
            elif kind == "generator":
                arg.set_state(data[0])
            elif kind == "optimizer":
                arg.load_state_dict(_wire.decode(data[0]))
            elif kind == "module":
                params, buffers = dict(arg.named_parameters()), dict(arg.named_buffers())
                for name, (value, grad) in data[0].items():
                    params[name].copy_(value)
                    params[name].grad = grad
                for name, value in data[1].items():
                    buffers[name].copy_(value)


def _set_rng(states: dict, encoded: bool = True) -> None:
    """Set the global random states given (as ``_rng`` gives them: ``encoded`` for ``_wire``)."""
    read = _wire.decode if encoded else (lambda state: state)
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "random" in states:
        random.setstate(read(states["random"]))
    if "numpy" in states:
        sys.modules["numpy"].random.set_state(read(states["numpy"]))


def _exception(kind: str, message: str) -> BaseException:
    cls = getattr(builtins, kind, None)
    if (isinstance(cls, type) and issubclass(cls, Exception)
            and cls.__module__ == "builtins" and kind not in ("SystemExit", "KeyboardInterrupt")):
        try:
            return cls(message)
        except TypeError:
            pass
    return RuntimeError(f"{kind}: {message}")


def _fork(job, what: str) -> bytes:
    """Run ``job`` in a locked-down fork of this kernel and return its payload, unread."""
    timeout = float(CONFIG["timeout"])
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    scratch = tempfile.mkdtemp(prefix="grader-sandbox-")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the child never returns into the kernel's code
        try:
            _child(job, result_w, output_w, scratch)
        finally:
            os._exit(0)
    os.close(result_w)
    os.close(output_w)
    try:
        data, output, timed_out = _collect(result_r, output_r, time.monotonic() + timeout)
    except BaseException:  # e.g. the cell's own timeout interrupts the kernel: end the child too
        _reap(pid, True)
        raise
    finally:
        os.close(result_r)
        os.close(output_r)
        shutil.rmtree(scratch, ignore_errors=True)
    return _outcome(data, output, timed_out, _reap(pid, timed_out or bool(data)), what)


def _outcome(data: bytes, output: bytes, timed_out: bool, status: int, what: str) -> bytes:
    """Show what a call printed (capped); its answer, or why there is none."""
    limit = int(CONFIG["output"])
    if output:
        text = output[:limit].decode(errors="replace")
        sys.stdout.write(text + (f"\n... (output cut at {limit} bytes)\n" if len(output) > limit else ""))
    if timed_out:
        raise TimeoutError(f"{what} did not finish within {float(CONFIG['timeout']):g} s")
    if not data:
        raise SandboxError(f"{what} stopped the process before returning ({_describe(status)})")
    return data


# A session's fork is replaced by a fresh one, before a call, once the calls it ran used more
# than these: each call then has at least the CPU time and memory a fork of its own would.
SESSION_CPU = 5  # seconds
SESSION_MEMORY = 256 << 20  # bytes of address space


class Session:
    """The calls of student code one test cell makes, run one after another in one sandbox
    fork of this kernel rather than a fork each (``_tests``): a fork of a kernel that has
    imported torch costs tens of ms of CPU, and a test cell may call student code a dozen
    times. Each call's request and answer are framed on pipes; each call has its own time
    limit and output cap, as in a fork of its own. The fork starts from this kernel's clean
    memory, forked at the cell's first call; a later call starts from what the cell's earlier
    calls left in it (as in the student's own kernel, where every call leaves its state), never
    from another cell's or another student's. A call that times out or kills the fork ends the
    session: the next call gets a fresh fork.

    ``handler`` is called in the fork, once it is locked down, and returns what answers one
    request there (bytes in, a ``_wire`` payload's value out)."""

    def __init__(self, handler):
        self._handler = handler
        self._pid, self._fds, self._scratch, self._mapped = None, [], "", 0

    def call(self, request: bytes, what: str) -> bytes:
        if self._pid is not None and os.waitpid(self._pid, os.WNOHANG)[0]:
            self._pid = None  # it ended between calls (reaped now: not to be killed)
            self.close()
        if self._pid is not None and self._spent():
            self.close()
        if self._pid is None:
            self._start()
        deadline = time.monotonic() + float(CONFIG["timeout"])
        try:
            if _write_all(self._request_w, len(request).to_bytes(8, "big") + request, deadline):
                data, output, timed_out = _collect(self._result_r, self._output_r, deadline, framed=True)
            else:  # the fork is gone, or out of time before it read the request
                data, output, timed_out = b"", b"", time.monotonic() >= deadline
        except BaseException:
            self.close()
            raise
        status = 0
        if timed_out or not data:
            status = _reap(self._pid, timed_out)
            self._pid = None
            self.close()
        return _outcome(data, output, timed_out, status, what)

    def close(self) -> None:
        """End the fork (if any): killed, and reaped later."""
        if self._pid is not None:
            _reap(self._pid, True)
            self._pid = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _start(self) -> None:
        request_r, self._request_w = os.pipe()
        self._result_r, result_w = os.pipe()
        self._output_r, output_w = os.pipe()
        self._scratch = tempfile.mkdtemp(prefix="grader-sandbox-")
        self._mapped = _jail.address_space(os.getpid())
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _session_child(self._handler, request_r, result_w, output_w, self._scratch)
            finally:
                os._exit(0)
        self._pid = pid
        for fd in (request_r, result_w, output_w):
            os.close(fd)
        os.set_blocking(self._request_w, False)
        self._fds = [self._request_w, self._result_r, self._output_r]

    def _spent(self) -> bool:
        """Whether the calls so far used more than ``SESSION_CPU`` or ``SESSION_MEMORY``
        (or the fork cannot be read: then it is replaced too)."""
        try:
            with open(f"/proc/{self._pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            grown = _jail.address_space(self._pid) - self._mapped
        except (OSError, ValueError, IndexError):
            return True
        return cpu > SESSION_CPU or grown > SESSION_MEMORY


def _write_all(fd: int, data: bytes, deadline: float) -> bool:
    """Write ``data`` to a non-blocking pipe by ``deadline``; False if the reader is gone or
    time ran out first."""
    view = memoryview(data)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_WRITE)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return False
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                return False
    return True


def _collect(result_r: int, output_r: int, deadline: float, framed: bool = False) -> tuple[bytes, bytes, bool]:
    """Read the result and (capped) output until both pipes close or time runs out; or, if
    ``framed`` (a session's), until one whole answer (its length, then itself) has come."""
    chunks, output, size = [], bytearray(), 0
    framed_data, expected = bytearray(), None
    with selectors.DefaultSelector() as selector:
        selector.register(result_r, selectors.EVENT_READ)
        selector.register(output_r, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"", bytes(output), True
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 1 << 20)
                if not chunk:
                    selector.unregister(key.fd)
                    if framed and key.fd == result_r:
                        return b"", bytes(output), False  # the fork died before it answered
                elif key.fd == output_r:
                    if len(output) <= int(CONFIG["output"]):
                        output += chunk
                else:
                    size += len(chunk)
                    _received[0] += len(chunk)
                    if size > MAX_RESULT + 8:
                        raise SandboxError(f"the result is larger than {MAX_RESULT >> 20} MiB")
                    if _received[0] > MAX_RECEIVED:
                        raise SandboxError(f"student code has sent back more than {MAX_RECEIVED >> 20} MiB "
                                           "in this notebook: nothing more is taken")
                    if not framed:
                        chunks.append(chunk)
                        continue
                    framed_data += chunk  # (in place: a large answer comes 64 KiB a read)
                    if expected is None and len(framed_data) >= 8:
                        expected = int.from_bytes(framed_data[:8], "big") + 8
                        if expected > MAX_RESULT + 8:
                            raise SandboxError(f"the result is larger than {MAX_RESULT >> 20} MiB")
                    if expected is not None and len(framed_data) >= expected:
                        if len(framed_data) > expected:
                            raise SandboxError("the sandbox sent more than its answer")
                        return bytes(framed_data[8:]), _drain(output_r, output), False
    return b"".join(chunks), bytes(output), False


def _drain(output_r: int, output: bytearray) -> bytes:
    """What a session's fork printed before it answered: in its pipe already (read while
    there is some, up to the cap; never waiting, as more may never come)."""
    with selectors.DefaultSelector() as selector:
        selector.register(output_r, selectors.EVENT_READ)
        while len(output) <= int(CONFIG["output"]) and selector.select(0):
            more = os.read(output_r, 1 << 20)
            if not more:
                break
            output += more
    return bytes(output)


_DYING: list[int] = []  # killed children not yet reaped


def _reap(pid: int, done: bool) -> int:
    """The child's exit status; 0 if it was ``done`` (answered, or out of time): then it is
    killed and reaped later, as tearing down a fork of a large kernel takes tens of ms."""
    for dying in list(_DYING):
        if os.waitpid(dying, os.WNOHANG)[0]:
            _DYING.remove(dying)
    if not done:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                return status
            time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    if done:
        _DYING.append(pid)
        return 0
    return os.waitpid(pid, 0)[1]


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        why = {signal.SIGKILL: "killed: out of memory or time?", signal.SIGXCPU: "out of CPU time",
               signal.SIGSEGV: "segmentation fault"}.get(sig, signal.Signals(sig).name)
        return f"signal {sig}, {why}"
    return f"it exited with status {os.waitstatus_to_exitcode(status)}"


# ---------------------------------------------------------------- the child

def _child(job, result_w: int, output_w: int, scratch: str) -> None:
    failed = _lock_down([result_w], output_w, scratch, int(CONFIG["memory"]), int(CONFIG["timeout"]) + 5)
    _send(result_w, failed or _in_thread(job))
    for fd in (result_w, 1, 2):  # the parent reads until these close: not until this exits
        os.close(fd)


def _session_child(handler, request_r: int, result_w: int, output_w: int, scratch: str) -> None:
    failed = _lock_down([request_r, result_w], output_w, scratch, int(CONFIG["memory"]) + SESSION_MEMORY,
                        int(CONFIG["timeout"]) + 5 + SESSION_CPU)
    handle = None
    if not failed:
        try:
            handle = handler()
        except BaseException as error:  # noqa: BLE001
            failed = _wire.dumps({"error": _describe_error(error)})
    while True:
        header = _read_exactly(request_r, 8)
        request = header and _read_exactly(request_r, int.from_bytes(header, "big"))
        if request is None:
            return  # the kernel closed the session
        data = failed or _in_thread(lambda: handle(request))
        _empty(scratch)  # each call has the whole disk a fork of its own would
        _send(result_w, len(data).to_bytes(8, "big") + data)


def _empty(folder: str) -> None:
    """Delete what is in ``folder`` (never following a link out of it). A file still open
    (in a thread student code left running) keeps its space until it is closed, and a tree
    too deep for ``rmtree`` stays (as the student's own leftovers)."""
    with contextlib.suppress(OSError, RecursionError):
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_STREAM = None  # a child's own stdout: its output pipe


def _lock_down(kept: list[int], output_w: int, scratch: str, memory: int, cpu: int) -> bytes | None:
    """Lock this child down (the filesystem, system calls, audit hook, limits) and leave it
    only the descriptors ``kept`` and its output on 1 and 2. None, or, if locking down failed,
    the answer that says why."""
    global _IN_CHILD, _STREAM
    _IN_CHILD = True
    die_with_parent()  # (the kernel)
    _mounts.isolate(scratch, CONFIG["readable"], CONFIG["protected"], int(CONFIG["disk"]))
    _seccomp.install()
    gc.disable()  # a collection would touch, and so copy, every page of the kernel's memory
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(output_w, 1)
    os.dup2(output_w, 2)
    # Only the pipes kept stay open: not the kernel's sockets, nor any file it holds.
    start = 3
    for fd in sorted(kept):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, os.sysconf("SC_OPEN_MAX"))
    _STREAM = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, errors="replace")
    sys.stdout = sys.stderr = _STREAM
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    for name in [n for n in os.environ if n not in KEPT_ENV and not n.startswith("LC_")]:
        del os.environ[name]
    try:
        _jail.install(_jail.Rules(scratch, CONFIG["protected"], CONFIG["readable"]), memory, cpu)
    except BaseException as error:  # noqa: BLE001
        return _wire.dumps({"error": _describe_error(error)})
    CONFIG["protected"], CONFIG["tests"] = [], ""  # (the rules have the first; nothing here the other)
    return None


def _in_thread(job) -> bytes:
    """Run ``job`` in a fresh thread (student code cannot walk up into the trusted kernel's
    frames); its value, or the error it raised, as a ``_wire`` payload."""
    payload = {}
    # torch's grad and inference modes are per thread: the fresh one gets the kernel's.
    # (Not inference_mode(False): that turns grad on.)
    grad = torch.is_grad_enabled()
    inference = torch.inference_mode() if torch.is_inference_mode_enabled() else contextlib.nullcontext()

    def run():
        try:
            torch.set_grad_enabled(grad)
            with inference:
                result = job()
            payload["data"] = _wire.dumps(result)
        except BaseException as error:  # noqa: BLE001  (student code may raise anything)
            payload["data"] = _wire.dumps({"error": _describe_error(error)})

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    _STREAM.flush()
    return payload.get("data", b"")


def _describe_error(error: BaseException) -> tuple[str, str]:
    try:
        message = str(error)
    except Exception:  # noqa: BLE001
        message = "(the exception's message could not be shown)"
    limit = int(CONFIG["message"])
    if len(message) > limit:
        message = message[:limit] + f"... ({len(message) - limit} more characters)"
    return type(error).__name__, message


def _scrub(namespace: dict) -> None:
    """Forget, in this child only, what student code must not see: hidden tests' names,
    and the cell history (which holds the hidden tests' source)."""
    for name in list(namespace):
        if name in CONFIG["hidden"] or HISTORY.fullmatch(name):
            del namespace[name]
    CONFIG["hidden"] = []  # the names themselves too (review 7 raised them into feedback)
    shell = _shell()
    if shell is not None:
        history = shell.history_manager
        history.input_hist_parsed[:] = []
        history.input_hist_raw[:] = []
        history.output_hist.clear()
        # The last three inputs and the database's write caches (filled even with the
        # database off): the kernel's rewritten cells, settings and all (review 8).
        history._i00 = history._i = history._ii = history._iii = ""
        history.db_input_cache[:] = []
        history.db_output_cache[:] = []
        history.output_hist_reprs.clear()
        # The same inputs as pushed into the namespace, in its record of what it started with.
        for name in [n for n in shell.user_ns_hidden if HISTORY.fullmatch(n)]:
            del shell.user_ns_hidden[name]
        shell._last_input_line = ""
        # The last error's traceback (its frames hold a failed test's locals) and its text.
        for handler in (getattr(shell, "InteractiveTB", None), getattr(shell, "SyntaxTB", None)):
            if handler is not None and hasattr(handler, "tb"):
                handler.tb = None
        shell._last_traceback = None
        # The request being run (its code: the calling test cell) and the last cell run.
        shell.parent_header = {}
        shell.last_execution_result = shell.displayhook.exec_result = None
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            # A fresh context, with the request's variables present but empty: display and
            # widgets (tqdm.auto) look them up and fail on a missing one.
            context = contextvars.Context()
            for name, empty in (("_shell_parent", {}), ("_shell_parent_ident", b"")):
                if hasattr(kernel, name):
                    context.run(getattr(kernel, name).set, empty)
            kernel._shell_context = context
            kernel._control_parent = {}
    import asyncio.tasks  # the running request's coroutine, whose frame holds its code
    asyncio.tasks._current_tasks.clear()
    asyncio.tasks._all_tasks.clear()
    import linecache
    for name in [n for n in linecache.cache if not os.path.isabs(n) or "ipykernel" in n]:
        del linecache.cache[name]
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)


def _realize(namespace: dict, cells: list[_Cell]) -> None:
    """Re-create the student's functions from their sources in this child's namespace.

    Whatever this kernel bound deliberately (a hidden test's reference version of a
    prerequisite, say) stays bound: only stand-ins are replaced by the real objects.
    """
    _scrub(namespace)
    namespace.update({name: value for name, value in _PRIVATE.items() if name not in namespace})
    trusted = dict(namespace)
    quiet = sys.stdout
    sys.stdout = sys.stderr = open(os.devnull, "w")
    try:
        for cell in cells:
            try:
                exec(cell.full if cell.runs_all else cell.replay, namespace)
            except Exception:  # noqa: BLE001  (the notebook run showed this error already)
                pass
            for name in cell.names:
                if name in namespace and not isinstance(namespace[name], StudentFunction):
                    _REALIZED[(cell.key, name)] = namespace[name]
    finally:
        sys.stdout = sys.stderr = quiet
    for name, value in trusted.items():
        namespace[name] = _REALIZED.get(value._key, value) if isinstance(value, StudentFunction) else value


def _run_cell(namespace: dict, cell: _Cell) -> dict:
    _realize(namespace, _CELLS[:cell.key])
    before = dict(namespace)
    error = None
    try:
        exec(cell.full, namespace)
    except BaseException as exc:  # noqa: BLE001
        error = _describe_error(exc)
    values = {}
    for name, value in namespace.items():
        if name.startswith("__") or before.get(name, _run_cell) is value:
            continue
        try:
            values[name] = _wire.encode(value)
        except _wire.Undecodable:
            values[name] = ("undecodable",)
    return {"values": values, "error": error}


def _run_display(namespace: dict, code) -> dict:
    _realize(namespace, _CELLS)
    rng = _rng()
    try:
        exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001  (the kernel runs the cell again and shows it)
        return {"error": _describe_error(exc)}
    return {"error": None, "rng": _rng(since=rng)}


def _run_call(function: StudentFunction, args: tuple, kwargs: dict, changing: dict) -> dict:
    _realize(function._namespace, _CELLS)
    if function._key not in _REALIZED:
        raise NameError(f"{function.__name__} could not be defined (see the error in its cell)")
    versions, rng = _versions(changing), _rng()
    result = _REALIZED[function._key](*args, **kwargs)
    try:
        # An argument returned comes back as the caller's own object; a tensor whose changes
        # do not come back comes back by value (a hook's ``z``, zeroed in place and returned).
        returned = {key: arg for key, arg in {**dict(enumerate(args)), **kwargs}.items()
                    if key in changing or not isinstance(arg, torch.Tensor)}
        encoded = _wire.encode(result, returned)
    except _wire.Undecodable as error:
        raise TypeError(f"{function.__name__}: {error}") from None
    return {"result": encoded, "changes": _changes(changing, versions), "rng": _rng(since=rng), "error": None}


def _tensors(module) -> dict:
    return {("p", n): p for n, p in module.named_parameters()} | {("b", n): b for n, b in module.named_buffers()}


def _state(tensor):
    grad = tensor.grad
    return (id(tensor), tensor._version, id(grad), None if grad is None else grad._version)


def _versions(named: dict) -> dict:
    versions = {}
    for key, arg in named.items():
        if isinstance(arg, torch.Tensor):
            versions[key] = arg._version
        elif isinstance(arg, torch.nn.Module):
            versions[key] = {k: _state(t) for k, t in _tensors(arg).items()}
    return versions


def _changes(named: dict, versions: dict) -> dict:
    """What the call changed in its arguments, in place: the caller sees it too."""
    changes = {}
    for key, arg in named.items():
        if isinstance(arg, torch.Tensor) and arg._version != versions[key]:
            changes[key] = ("tensor", _wire.encode(arg))
        elif isinstance(arg, torch.nn.Module):
            changed = {k: t for k, t in _tensors(arg).items() if versions[key].get(k) != _state(t)}
            if changed:
                params = {n: (t.detach().clone(), None if t.grad is None else t.grad.detach().clone())
                          for (kind, n), t in changed.items() if kind == "p"}
                buffers = {n: t.detach().clone() for (kind, n), t in changed.items() if kind == "b"}
                changes[key] = ("module", params, buffers)
        elif isinstance(arg, torch.optim.Optimizer):
            changes[key] = ("optimizer", _wire.encode(arg.state_dict()))
        elif isinstance(arg, torch.Generator):
            changes[key] = ("generator", arg.get_state())
    return changes


def _rng(since: dict | None = None) -> dict:
    """The global random states (only those changed ``since``): the caller's advance too."""
    states = {"torch": torch.get_rng_state(), "random": random.getstate()}
    if "numpy" in sys.modules:
        states["numpy"] = sys.modules["numpy"].random.get_state(legacy=False)
    if since is None:
        return states
    return {k: v if k == "torch" else _wire.encode(v) for k, v in states.items() if not _same(v, since[k])}


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a).__module__ == "numpy":
        return bool((a == b).all())
    return a == b
