"""Each sandbox fork gets its own view of the filesystem (a Linux mount namespace):
read-only everywhere except its scratch folder, the protected folders hidden under empty
read-only tmpfs, /dev reduced to null, zero and random, and no capabilities left to undo
it. Unlike the audit hook, this holds for native code too (``torch.save`` writes files
from C++). Linux only; where namespaces are unavailable the audit hook is the only guard.
"""
from __future__ import annotations

import ctypes
import os

CLONE_NEWNS, CLONE_NEWUSER = 0x20000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
              "nodiratime": 2048, "relatime": 1 << 21}  # locked in a user namespace: keep them
DEVICES = ("null", "zero", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


class _Failed(OSError):
    pass


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)):
        raise _Failed(ctypes.get_errno(), f"mount {target}")


def hidden_paths(protected: list[str], readable: list[str]) -> list[str]:
    """What to cover so that ``protected`` is unreadable but ``readable`` inside it is not
    (the longest matching folder decides, as in ``grader._jail``)."""
    protected = [os.path.realpath(p) for p in protected]
    readable = [os.path.realpath(r) for r in readable]
    inside = lambda path, root: path == root or path.startswith(root.rstrip("/") + "/")  # noqa: E731
    depth = lambda path, roots: max((len(r) for r in roots if inside(path, r)), default=-1)  # noqa: E731
    out = []

    def visit(path: str) -> None:
        if os.path.islink(path) or depth(path, protected) <= depth(path, readable):
            return
        if any(inside(r, path) and r != path for r in readable) and os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                visit(os.path.join(path, entry))
        else:
            out.append(path)

    for root in protected:
        if os.path.exists(root):
            visit(root)
    return sorted(set(out))


def isolate(scratch: str, hide: list[str]) -> bool:
    """Call in a single-threaded fork, before the seccomp filter (which refuses mounts)."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER):
        return False
    try:
        if uid != 0:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                               ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the real system
        mounts = _mount_points()
        _mount(scratch, scratch, None, MS_BIND)  # a mount of its own, left writable
        _minimal_dev(scratch)
        for path in hide:
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
            else:
                _mount("/dev/null", path, None, MS_BIND)
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        for path, flags in mounts:
            if path != "/dev" and not path.startswith("/dev/"):
                try:
                    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
                except _Failed:
                    if path == "/" or path.startswith(("/work", "/home", "/tmp", "/root")):
                        raise
        _drop_capabilities()
        return True
    except OSError:
        return False


def _mount_points() -> list[tuple[str, int]]:
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            flags = sum(KEPT_FLAGS.get(option, 0) for option in fields[5].split(","))
            points.append((fields[4].replace("\\040", " "), flags))
    return points


def _minimal_dev(scratch: str) -> None:
    """Replace /dev (block devices, the kernel's terminals...) with four harmless devices."""
    staging = os.path.join(scratch, ".dev")
    os.mkdir(staging)
    _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=4k,mode=755")
    for name in DEVICES:
        open(os.path.join(staging, name), "w").close()
        _mount(f"/dev/{name}", os.path.join(staging, name), None, MS_BIND)
    _mount(None, staging, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    _mount(staging, "/dev", None, MS_MOVE)


def _drop_capabilities() -> None:
    """Root without capabilities cannot unmount, remount, or read other processes' memory."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    for cap in range(64):
        _libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails quietly past the last one)
    if _libc.capset(header, data):
        raise _Failed(ctypes.get_errno(), "capset")
