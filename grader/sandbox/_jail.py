"""Locks a forked child down before it runs student code (never used in the trusted kernel).

An audit hook (which nothing can remove once added) refuses processes, sockets,
ctypes, writes outside the child's scratch folder, reads of the course and repository
(sources, hidden tests, the gradebook, other students' work), and the introspection
that reaches the trusted kernel's frames. Resource limits bound memory, CPU time,
file sizes and threads.

Renicing, pinning or rescheduling another process (``os.setpriority``, ``os.sched_*``)
raises no audit event: the seccomp filter (``_seccomp``) refuses those unless aimed at
the fork itself.
"""
from __future__ import annotations

import os
import re
import resource
import signal
import sys

DENIED = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
          "os.forkpty", "os.kill", "os.killpg", "signal.pthread_kill", "socket.", "ctypes.",
          "sys.addaudithook", "sys._current_frames", "gc.get_objects", "gc.get_referrers",
          "gc.get_referents", "sqlite3.", "resource.setrlimit", "resource.prlimit", "os.setuid",
          "os.chroot")
# C modules whose functions start processes or send signals without an audit event of their
# own: already loaded, their functions are disarmed below; loading a fresh copy is refused.
NATIVE = {"_posixsubprocess", "_ctypes", "posix", "_signal", "_thread"}
DISARM = {"_posixsubprocess": ["fork_exec"], "posix": ["pidfd_open"], "os": ["pidfd_open"],
          "signal": ["pidfd_send_signal"], "_signal": ["pidfd_send_signal"], "subprocess": ["_fork_exec"]}
WRITES = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
          "os.symlink", "os.truncate", "os.utime", "os.removexattr", "os.setxattr")
LISTINGS = ("os.listdir", "os.scandir")
PROC = re.compile(r"^/proc/[^/]+/(mem|environ|fd|fdinfo|map_files|maps|root|cwd|task|exe)(/|$)")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# Threads a fork may run at once (its main thread and student code's among them): far more
# than torch's pool takes (OMP_NUM_THREADS=1 under grading), far fewer than would wear out
# the machine's process table (a fork may not start processes, but threads are tasks too).
THREADS = 256


class Rules:
    def __init__(self, scratch: str, protected: list[str], readable: list[str]):
        self.scratch = os.path.realpath(scratch)
        self.protected = [os.path.realpath(p) for p in protected]
        self.readable = [os.path.realpath(p) for p in readable]

    @staticmethod
    def _under(path: str, root: str) -> int:
        """Length of ``root`` if ``path`` is inside it, else -1: the longest match wins."""
        return len(root) if path == root or path.startswith(root.rstrip("/") + "/") else -1

    def may_read(self, path: str) -> bool:
        if PROC.match(path):
            return False
        deny = max((self._under(path, root) for root in self.protected), default=-1)
        allow = max((self._under(path, root) for root in self.readable + [self.scratch]), default=-1)
        return deny < 0 or allow > deny

    def may_write(self, path: str) -> bool:
        return path == os.devnull or self._under(path, self.scratch) >= 0


def _path(value) -> str | None:
    if isinstance(value, int):
        return None  # an already open descriptor: only the child's own pipes are left open
    return os.path.realpath(os.fsdecode(value))


def install(rules: Rules, memory_bytes: int, cpu_seconds: int) -> None:
    """Call from the child's main thread (signal handlers can only be set there)."""
    _limits(memory_bytes, cpu_seconds)
    # Path checks use os.path.realpath, which itself audits nothing: no recursion.

    _disarm()
    _cap_threads()

    def hook(event: str, args: tuple) -> None:
        if event.startswith(DENIED):
            raise PermissionError(f"graded code may not use {event}")
        if event == "import" and str(args[0]).split(".")[0] in NATIVE:
            raise PermissionError(f"graded code may not load {args[0]}")
        if event == "open":
            path, mode, flags = args
            path = _path(path)
            if path is None:
                return
            writes = bool(mode and set(str(mode)) & set("wax+")) or bool((flags or 0) & WRITE_FLAGS)
            if writes and not rules.may_write(path) or not writes and not rules.may_read(path):
                raise PermissionError(f"graded code may not {'write' if writes else 'read'} {path}")
        elif event in WRITES:
            for value in args[:2] if event in ("os.rename", "os.link", "os.symlink") else args[:1]:
                path = _path(value)
                if path is not None and not rules.may_write(path):
                    raise PermissionError(f"graded code may not change {path}")
        elif event in LISTINGS and args and args[0] is not None:
            path = _path(args[0])
            if path is not None and not rules.may_read(path):
                raise PermissionError(f"graded code may not list {path}")

    sys.addaudithook(hook)


def _disarm() -> None:
    def refuse(*args, **kwargs):
        raise PermissionError("graded code may not start processes or send signals")

    for module, names in DISARM.items():
        for name in names:
            if module in sys.modules and hasattr(sys.modules[module], name):
                setattr(sys.modules[module], name, refuse)


def _cap_threads() -> None:
    """Python threads beyond ``THREADS`` fail to start, as when the kernel refuses one. The
    kernel's own cap (RLIMIT_NPROC, below) holds for native threads too, but Linux never
    applies it to root: this one holds for ``threading`` whoever runs the grader. (A copy of
    ``_thread`` made by hand gets past it; as root, only the memory limit, through threads'
    stacks, and the time limit then bound threads.)"""
    import _thread
    import threading

    start = _thread.start_new_thread
    stale = _thread._count()  # (after a fork, it still counts the kernel's threads, gone here)

    def capped(function, args, kwargs=None):
        if _thread._count() - stale >= THREADS - 1:  # (and the main thread)
            raise RuntimeError(f"can't start new thread: graded code may run {THREADS} threads at most")
        return start(function, args, kwargs or {})

    _thread.start_new_thread = _thread.start_new = capped
    if getattr(threading, "_start_new_thread", None) is start:
        threading._start_new_thread = capped


def address_space(pid) -> int:
    """Bytes of address space process ``pid`` (or "self") has mapped (what RLIMIT_AS limits)."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))


def _limits(memory_bytes: int, cpu_seconds: int) -> None:
    mapped = address_space("self")  # torch has mapped a lot already: allow on top of it
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_bytes, mapped + memory_bytes))
    used = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime)
    resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, used + cpu_seconds + 1))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file fails to write; no kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    # Threads, native ones too: RLIMIT_NPROC counts a user's tasks in their user namespace,
    # so only in one of the fork's own (a grader run unprivileged, see ``_mounts``) does it
    # count this fork's threads alone (elsewhere it would count every process of the user).
    from . import _mounts
    if _mounts.own_user_namespace:
        resource.setrlimit(resource.RLIMIT_NPROC, (THREADS, THREADS))
