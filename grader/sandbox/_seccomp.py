"""A seccomp filter for a sandbox fork, through libseccomp (``pyseccomp``, whose interface is
libseccomp's own Python bindings'): the Linux kernel itself refuses, even to native code (C
extensions), what Python's audit hooks can only refuse to Python code: new processes,
programs, signals to other processes, sockets, tracing other processes, namespaces and
mounts (``_mounts`` set the fork's filesystem up just before). libseccomp knows each
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
           "name_to_handle_at", "open_by_handle_at")
CLONE_THREAD = 0x10000


def install() -> bool:
    """Filter this process (and threads it starts later); False where it is unsupported.
    clone is allowed for threads only (clone3, which a filter cannot inspect, says ENOSYS,
    and libc falls back to clone); kill and tgkill only to this process itself."""
    if seccomp is None or platform.system() != "Linux":
        return False
    refuse = seccomp.ERRNO(errno.EPERM)
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in REFUSED:
            rules.add_rule(refuse, name)
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        for name in ("kill", "tgkill"):
            rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, os.getpid()))
        rules.load()  # (libseccomp sets no_new_privs first, as a filter requires)
    except (OSError, RuntimeError, ValueError):
        return False
    return True
