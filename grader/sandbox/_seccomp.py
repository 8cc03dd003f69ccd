"""A seccomp filter for a sandbox fork, through libseccomp (``pyseccomp``, whose interface is
libseccomp's own Python bindings'): the Linux kernel itself refuses, even to native code (C
extensions), what Python's audit hooks can only refuse to Python code: new processes,
programs, signals to other processes, sockets (io_uring too, which opens and connects
sockets without the socket system calls), tracing, reading or rescheduling other processes,
namespaces and mounts (``_mounts`` set the fork's filesystem up just before), and what two
forks of one user could share behind the filesystem's back (System V IPC, POSIX message
queues, keyrings). libseccomp knows each
architecture's system call numbers; a call from another architecture's ABI kills the fork.

Elsewhere than Linux, or without libseccomp, the audit hook (``_jail``) is the only guard.
"""
from __future__ import annotations

import errno
import os
import platform

try:
    import pyseccomp as seccomp
except (ImportError, OSError):  # not Linux, or no libseccomp on this machine
    seccomp = None

REFUSED = ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
           "tkill", "pidfd_send_signal", "pidfd_open", "pidfd_getfd", "socket", "connect", "bind",
           "socketpair", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree",
           "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
           "name_to_handle_at", "open_by_handle_at",
           # io_uring does in the kernel what the calls above are refused for (its IORING_OP_SOCKET
           # and _CONNECT opened TCP connections past this filter): no rings at all.
           "io_uring_setup", "io_uring_enter", "io_uring_register",
           # Shared by every process of the machine (or of one user), not by the filesystem view:
           # a queue, segment or key one fork leaves is there for the next student's fork.
           "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl",
           "shmget", "shmat", "shmctl", "mq_open", "mq_unlink", "add_key", "request_key", "keyctl",
           # A file in memory, outside the noexec scratch: native code could be loaded from it.
           "memfd_create",
           # Other processes' memory, files and counters.
           "kcmp", "perf_event_open")
# Allowed only with 0 as their first argument: this process itself. Aimed at any other pid,
# they renice, pin, starve (SCHED_IDLE), limit or move the pages of another process of the same
# user (the grading kernel, its template, another fork). (libseccomp compares an argument once
# per rule, so the fork's own pid as a number is refused too: libraries pass 0.)
OWN_PID = ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr", "prlimit64",
           "move_pages", "migrate_pages")
CLONE_THREAD = 0x10000
PRIO_PROCESS, IOPRIO_WHO_PROCESS = 0, 1


def known(names) -> list[str]:
    """The calls this libseccomp knows, of ``names``. One it does not know (a call newer than
    it, such as io_uring's in an old libseccomp) cannot be refused by name, and naming it would
    fail the whole filter: the other rules still stand without it."""
    return [name for name in names if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) != -1]


def install() -> bool:
    """Filter this process (and threads it starts later); False where it is unsupported.
    clone is allowed for threads only (clone3, which a filter cannot inspect, says ENOSYS,
    and libc falls back to clone); kill, tgkill and sigqueue only to this process itself."""
    if seccomp is None or platform.system() != "Linux":
        return False
    refuse = seccomp.ERRNO(errno.EPERM)
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in known(REFUSED):
            rules.add_rule(refuse, name)
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, os.getpid()))
        for name in known(OWN_PID):
            rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, 0))
        # setpriority and ioprio_set: (which, who); only "this process" (PRIO_USER or
        # PRIO_PGRP would reach every process of the user or group).
        for name, which in (("setpriority", PRIO_PROCESS), ("ioprio_set", IOPRIO_WHO_PROCESS)):
            rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, which))
            rules.add_rule(refuse, name, seccomp.Arg(1, seccomp.NE, 0))
        rules.load()  # (libseccomp sets no_new_privs first, as a filter requires)
    except (OSError, RuntimeError, ValueError):
        return False
    return True
