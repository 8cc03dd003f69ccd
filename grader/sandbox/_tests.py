"""Test cells run in a trusted fork, so that the grading kernel never holds a hidden test.

Student code runs in forks of the grading kernel (``_student``), and a fork is a copy of
the kernel's memory: if the kernel ran hidden tests, their text and values would be there
to read. So it never runs them. Under grading, ``grader.sandbox`` writes the test cells'
sources to a file the kernel never reads, and turns each test cell into
``test_cell(globals(), <its index>, <settings>)``. That forks a *test process*: it reads its
cell (and, to define the helpers that earlier test cells defined, their ``def``, ``class``
and ``import`` statements) from the file and runs it, with the instructor's trust and
nothing locked down. A call of student code it makes is not run there: it is sent, its
arguments by value, to the kernel, which runs it in the cell's sandbox fork (one per test
cell, forked from the kernel's clean memory at the cell's first call, ``_student.Session``)
and sends the fork's answer back as it came; the test process reads the answer as any
caller of student code does. When the cell is done, its error (a failed check's message,
which feedback shows anyway), what it printed, the values of the names it binds that later
cells read, and the global random state come back; everything else ends with the process.

What does cross into the kernel, by value, for a call: the arguments, and the names the
test has rebound for it (the reference versions of prerequisite exercises, which the
student's function calls by name). Student code can read those, and only those.
"""
from __future__ import annotations

import ast
import io
import json
import os
import pickle
import sys
from multiprocessing import Pipe

import cloudpickle
import torch

from .._process import die_with_parent
from . import _student
from ._names import bound

_DONE, _CALL, _OUT, _ANSWER, _FAILED = "done", "call", "out", "answer", "failed"


class _Hook:
    """What a student's hook is handed for TransformerLens's HookPoint: its name."""

    def __init__(self, name):
        self.name = name

    def layer(self) -> int:
        return int(self.name.split(".")[1])

    def __repr__(self):
        return f"<hook {self.name}>"


def _hook(value):
    """A HookPoint handed to a student's hook goes as its name (the whole model would go with it)."""
    if type(value).__name__ == "HookPoint" and type(value).__module__.startswith("transformer_lens"):
        return _Hook(getattr(value, "name", None))
    return value


class _Pickler(cloudpickle.Pickler):
    """Everything by value (cloudpickle: functions and classes the test defined too), but the
    kernel's own: its stand-ins for student code, its namespace, and the functions and
    classes of public cells (the test process still shares them with it)."""

    def __init__(self, file, namespace: dict, public: dict):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._namespace, self._public = namespace, public

    def persistent_id(self, obj):
        if isinstance(obj, _student.StudentFunction):
            return ("student", obj._key, obj.__name__)
        if obj is self._namespace:
            return ("namespace",)
        if callable(obj) and not isinstance(obj, torch.nn.Module) and id(obj) in self._public:
            return ("public", self._public[id(obj)])
        return None

    def reducer_override(self, obj):
        # A tensor inside a graph (a hook's activations) cannot be pickled; its value can.
        if isinstance(obj, torch.Tensor) and not obj.is_leaf:
            return _tensor, (obj.detach(),)
        return super().reducer_override(obj)


def _tensor(value):
    return value


def _dumps(value, namespace: dict, public: dict) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, namespace, public).dump(value)
    return buffer.getvalue()


def _loads(data: bytes, namespace: dict):
    """In the kernel: the test process is trusted (it runs the instructor's code only)."""
    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            kind, *rest = pid
            if kind == "student":  # (a stand-in is its key: a new one runs the same code)
                key, name = rest
                return _student.StudentFunction(tuple(key), name, namespace)
            if kind == "namespace":
                return namespace
            return namespace[rest[0]]

    return Unpickler(io.BytesIO(data)).load()


# ---------------------------------------------------------------- in the kernel

def test_cell(namespace: dict, index: int, config: dict) -> None:
    """Run test cell ``index`` in a test process; serve its calls of student code."""
    _student.CONFIG.update(config)
    ours, theirs = Pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            _test_process(namespace, index, theirs)
        finally:
            os._exit(0)
    theirs.close()
    session = _student.Session(lambda: _in_session(namespace))
    try:
        error, values, rng = _serve(ours, namespace, session)
    finally:
        ours.close()
        session.close()
        _student._reap(pid, True)
    namespace.update(values)
    _student._set_rng(rng, encoded=False)
    if error:
        raise _student._exception(*error)


def _serve(channel, namespace: dict, session):
    shown = 0  # the cell's output so far: a test may print what student code returned, capped here
    while True:
        try:
            kind, *message = pickle.loads(channel.recv_bytes(_student.MAX_RESULT))
        except EOFError:
            raise _student.SandboxError("the test cell's process stopped before it finished") from None
        except OSError:  # longer than MAX_RESULT (a huge value student code returned, printed)
            raise _student.SandboxError(f"the test cell sent more than {_student.MAX_RESULT >> 20} MiB") from None
        if kind == _OUT:
            limit = int(_student.CONFIG["output"])
            if shown < limit:
                text = message[0][:limit - shown]
                sys.stdout.write(text + (f"\n... (output cut at {limit} characters)\n" if len(text) < len(message[0]) else ""))
            shown += len(message[0])
        elif kind == _DONE:
            error, values, rng = message
            return error, _loads(values, namespace), rng
        else:
            key, name, payload = message
            try:
                answer = (_ANSWER, session.call(pickle.dumps((key, name, payload)), name))
            except Exception as error:  # noqa: BLE001  (out of time, or the fork died: the call's failure)
                answer = (_FAILED, type(error).__name__, str(error))
            channel.send_bytes(pickle.dumps(answer))


def _in_session(namespace: dict):
    """In the cell's sandbox fork (``_student.Session``), locked down: what runs each call the
    test process sent. Every call starts from the names as the kernel had them (what an
    earlier call bound is unbound again), with the names the test rebound for it (the
    reference versions of prerequisites) and the test's random state."""
    _student._scrub(namespace)
    pristine = dict(namespace)

    def handle(request: bytes) -> dict:
        key, name, payload = pickle.loads(request)
        namespace.clear()
        namespace.update(pristine)
        args, kwargs, changing, rebound, rng = _loads(payload, namespace)
        named = {**dict(enumerate(args)), **kwargs}
        namespace.update(rebound)
        _student._set_rng(rng, encoded=False)
        function = _student.StudentFunction(tuple(key), name, namespace)
        return _student._run_call(function, args, kwargs, {k: named[k] for k in changing})

    return handle


# ---------------------------------------------------------------- in the test process

class _Relay(io.TextIOBase):
    """The test process's output, sent to the kernel to print in the cell."""

    def __init__(self, channel):
        self._channel = channel

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._channel.send_bytes(pickle.dumps((_OUT, str(text))))
        return len(text)


def _test_process(namespace: dict, index: int, channel) -> None:
    die_with_parent()
    sys.stdout = sys.stderr = _Relay(channel)
    shell = _student._shell()
    if shell is not None:  # display() would write to the kernel's sockets, not fork-safe: as text
        shell.display_pub.publish = lambda data, *a, **k: sys.stdout.write(str(data.get("text/plain", "")) + "\n")
    public = {id(value): name for name, value in namespace.items() if callable(value)}
    snapshot = dict(namespace)
    with open(_student.CONFIG["tests"], encoding="utf-8") as handle:
        cells = json.load(handle)
    _student.delegate(lambda function, args, kwargs, changing:
                      _call(channel, namespace, public, snapshot, function, args, kwargs, changing))
    error = None
    try:
        for earlier in cells[:index]:
            _define(namespace, earlier["source"], snapshot)
        cell = cells[index]
        source = shell.transform_cell(cell["source"]) if shell is not None else cell["source"]
        exec(compile(source, f"<test cell {cell['grade_id']}>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001  (a failed check: the cell's error)
        error = _student._describe_error(exc)  # (capped: its message may quote what student code returned)
    values = {name: namespace[name] for name in cells[index]["keeps"] if name in namespace
              and namespace[name] is not snapshot.get(name)}
    sys.stdout.flush()
    channel.send_bytes(pickle.dumps((_DONE, error, _dumps(values, namespace, public), _student._rng())))


def _define(namespace: dict, source: str, snapshot: dict) -> None:
    """An earlier test cell's helpers: its top-level def, class and import statements that
    bind names no public cell binds (so never a stand-in's name, nor a restored one)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    keep = [s for s in tree.body if isinstance(s, _student.REPLAYABLE) and not bound([s]) & snapshot.keys()]
    try:
        exec(compile(ast.Module(keep, []), "<earlier test cell>", "exec"), namespace)
    except Exception:  # noqa: BLE001  (that cell showed its error already)
        pass


def _call(channel, namespace, public, snapshot, function, args, kwargs, changing) -> dict:
    """A call of student code from the test process: run by the kernel; its fork's answer.
    The public names the test rebound go with it (a prerequisite's reference version)."""
    rebound = {name: value for name, value in namespace.items()
               if name in snapshot and value is not snapshot[name]}
    args, kwargs = tuple(map(_hook, args)), {key: _hook(value) for key, value in kwargs.items()}
    rng = _student._rng()
    payload = _dumps((args, kwargs, list(changing), rebound, rng), namespace, public)
    sys.stdout.flush()
    channel.send_bytes(pickle.dumps((_CALL, function._key, function.__name__, payload)))
    kind, *answer = pickle.loads(channel.recv_bytes())
    if kind == _FAILED:
        raise (TimeoutError if answer[0] == "TimeoutError" else _student.SandboxError)(answer[1])
    return _student.read_answer(answer[0], function.__name__)
