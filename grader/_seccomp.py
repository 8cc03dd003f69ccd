"""A seccomp filter for a sandbox fork: the Linux kernel itself refuses, even to native code
(C extensions), what Python's audit hooks can only refuse to Python code: new processes,
programs, signals to other processes, sockets, tracing other processes, namespaces and
mounts (``grader._mounts`` set the fork's filesystem up just before).

x86-64 Linux only; elsewhere the audit hook (``grader._jail``) is the only guard.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform

# x86-64 system call numbers.
REFUSED = {57: "fork", 58: "vfork", 59: "execve", 322: "execveat", 101: "ptrace",
           310: "process_vm_readv", 311: "process_vm_writev", 200: "tkill",
           424: "pidfd_send_signal", 434: "pidfd_open", 438: "pidfd_getfd", 41: "socket",
           42: "connect", 49: "bind", 53: "socketpair", 272: "unshare", 308: "setns",
           165: "mount", 166: "umount2", 155: "pivot_root", 161: "chroot", 428: "open_tree",
           429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount", 433: "fspick",
           442: "mount_setattr", 303: "name_to_handle_at", 304: "open_by_handle_at"}
CLONE, CLONE3, KILL, TGKILL = 56, 435, 62, 234
CLONE_THREAD = 0x10000
AUDIT_ARCH_X86_64 = 0xC000003E
LOAD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|..|K, BPF_RET|K
ALLOW, KILL_PROCESS = 0x7FFF0000, 0x80000000
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (ARG0: its low 32 bits)


def _refuse(code: int = errno.EPERM) -> int:
    return 0x00050000 | code  # SECCOMP_RET_ERRNO


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Instruction))]


def program(pid: int) -> list[tuple[int, int, int, int]]:
    """BPF: refuse REFUSED; clone only for threads; kill and tgkill only to ``pid`` itself."""
    code = [(LOAD, 0, 0, ARCH), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, KILL_PROCESS),
            (LOAD, 0, 0, NR), (JGE, 0, 1, 0x40000000), (RET, 0, 0, _refuse())]  # no x32 calls
    for number in REFUSED:
        code += [(JEQ, 0, 1, number), (RET, 0, 0, _refuse())]
    code += [(JEQ, 0, 1, CLONE3), (RET, 0, 0, _refuse(errno.ENOSYS))]  # threads fall back to clone
    code += [(JEQ, 0, 4, CLONE), (LOAD, 0, 0, ARG0), (JSET, 0, 1, CLONE_THREAD),
             (RET, 0, 0, ALLOW), (RET, 0, 0, _refuse())]
    for number in (KILL, TGKILL):
        code += [(JEQ, 0, 4, number), (LOAD, 0, 0, ARG0), (JEQ, 0, 1, pid),
                 (RET, 0, 0, ALLOW), (RET, 0, 0, _refuse())]
    return code + [(RET, 0, 0, ALLOW)]


def install() -> bool:
    """Filter this process (and threads it starts later); False where it is unsupported."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    code = program(os.getpid())
    instructions = (_Instruction * len(code))(*[_Instruction(c, jt, jf, k) for c, jt, jf, k in code])
    prog = _Program(len(code), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, which a filter requires
        return False
    return libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, MODE_FILTER
