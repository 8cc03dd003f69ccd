"""Each sandbox fork gets a filesystem of its own (a Linux mount namespace), built from an
allow-list rather than by hiding what it must not see:

- a new, read-only root that holds only the ``readable`` paths (the Python environment,
  the toolkit and the grader's own code) and ``SYSTEM`` (the system's libraries, a few
  files of ``/etc``), each bound read-only, any ``hidden`` path inside them covered;
- its own scratch folder, on a tmpfs of at most ``disk`` bytes and ``FILES`` files, the one writable place,
  mounted ``noexec`` (with nosuid, nodev): nothing written there can be mapped executable, so
  no shared library a student compiled and wrote can be loaded (``_seccomp`` refuses
  ``memfd_create``, the other place such a file could be written);
- ``/dev`` with null, zero, random and urandom only;
- ``/proc`` with this process's own entry only (no other process, its command line or
  environment, is there to read);
- its own IPC namespace (no System V queue, semaphore or segment, nor POSIX message queue,
  of any other process; ``_seccomp`` refuses them as well, for where it cannot be made);
- its own network namespace (no other process's socket is listed, let alone reachable);

then no capabilities left to undo any of it. The folder being graded, the course, the
repository, home folders, the kernel's connection file: none of it exists in that view.
Unlike the audit hook, this holds for native code too (``torch.save`` writes from C++).
Linux only; where namespaces are unavailable the audit hook is the only guard.
"""
from __future__ import annotations

import ctypes
import os
import platform

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x10000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
              "nodiratime": 2048, "relatime": 1 << 21}  # locked in a user namespace: keep them
DEVICES = ("null", "zero", "random", "urandom")
PROC_FILES = ("cpuinfo", "meminfo", "stat", "uptime", "loadavg", "version")
# What every fork may read besides the Python environment and the toolkit: shared libraries,
# the loader's cache, and the few files of /etc that libc and Python look up.
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf",
          "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
          "/etc/hosts", "/sys/devices/system/cpu")
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
# Files and folders the scratch folder may hold: an empty file takes no disk, but each is
# kernel memory outside the fork's limits (review 8 grew the machine's by 1.5 GB in 30 s).
FILES = 10_000
# Whether ``isolate`` made this process a user namespace of its own, in which the kernel counts
# only this process's threads against RLIMIT_NPROC (``_jail`` caps them there).
own_user_namespace = False

_libc = ctypes.CDLL(None, use_errno=True)


class _Failed(OSError):
    pass


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)):
        raise _Failed(ctypes.get_errno(), f"mount {target}")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def isolate(scratch: str, readable: list[str], hidden: list[str], disk: int) -> bool:
    """Move this process into its own view of the filesystem (see the module's docstring).
    Call in a single-threaded fork, before the seccomp filter (which refuses mounts).
    ``scratch`` is an empty folder: the new root is built on it, and it is, inside that
    root, the process's writable folder. False if the kernel does not allow it."""
    global own_user_namespace
    uid, gid = os.getuid(), os.getgid()
    number = PIVOT_ROOT.get(platform.machine())
    if number is None or _libc.unshare(CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER):
        return False
    try:
        if uid != 0:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                               ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
            own_user_namespace = True
        # Best effort, each a call of its own (a kernel without IPC or network namespaces
        # still gets the rest): the seccomp filter refuses System V IPC, POSIX queues and
        # sockets anyway. A network namespace of its own (no interface but a down loopback)
        # also keeps /proc/self/net from listing the machine's sockets and listeners (the
        # grading kernels' among them).
        _libc.unshare(CLONE_NEWIPC)
        _libc.unshare(CLONE_NEWNET)
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the real system
        locked = _mount_points()
        root = os.path.realpath(scratch)
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
        done: list[str] = []
        for path in _expanded([*SYSTEM, *readable]):
            try:
                _bind(path, root, locked, done)
            except PermissionError:  # a folder this user cannot enter: not in the view either
                continue
        for path in hidden:
            path = os.path.realpath(path)
            if os.path.exists(root + path) and any(_inside(path, r) for r in readable):
                _cover(root + path)
        os.makedirs(root + root, exist_ok=True)
        # noexec: a student's compiled .so written here cannot be loaded (nor mmap'd PROT_EXEC).
        _mount("tmpfs", root + root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={disk},nr_inodes={FILES},mode=700")
        _minimal_dev(root)
        _own_proc(root)
        os.mkdir(root + "/.old")
        if _libc.syscall(number, os.fsencode(root), os.fsencode(root + "/.old")):
            raise _Failed(ctypes.get_errno(), "pivot_root")
        os.chdir("/")
        if _libc.umount2(b"/.old", MNT_DETACH):
            raise _Failed(ctypes.get_errno(), "umount the old root")
        os.rmdir("/.old")
        _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.chdir(root)  # the scratch folder: relative paths land in it
        _drop_capabilities()
        return True
    except OSError:
        return False


def _expanded(readable: list[str]) -> list[str]:
    """The paths to bind, shortest first: links at the top (``/lib -> usr/lib``) are made as
    links, and what they point at is bound in their place."""
    out = []
    for path in readable:
        path = os.path.abspath(path)
        if os.path.exists(path):
            out.append(path)
            if os.path.realpath(path) != path:
                out.append(os.path.realpath(path))
    return sorted(set(out), key=lambda p: (p.count("/"), p))


def _bind(path: str, root: str, locked: list[tuple[str, int]], done: list[str]) -> None:
    """``path`` at the same place in the new root, read-only (a link as a link)."""
    if any(_inside(path, other) for other in done):
        return  # seen through a folder bound already
    target = root + path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        os.symlink(os.readlink(path), target)
        return
    done.append(path)
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        open(target, "w").close()
    _mount(path, target, None, MS_BIND | MS_REC)
    flags = max(((len(point), f) for point, f in locked if _inside(path, point)), default=(0, 0))[1]
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


def _cover(target: str) -> None:
    if os.path.isdir(target):
        _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
    else:
        _mount("/dev/null", target, None, MS_BIND)
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _mount_points() -> list[tuple[str, int]]:
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            flags = sum(KEPT_FLAGS.get(option, 0) for option in fields[5].split(","))
            points.append((fields[4].replace("\\040", " "), flags))
    return points


def _minimal_dev(root: str) -> None:
    """Four harmless devices: no block devices, terminals or shared memory."""
    dev = root + "/dev"
    os.mkdir(dev)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=4k,mode=755")
    for name in DEVICES:
        open(os.path.join(dev, name), "w").close()
        _mount(f"/dev/{name}", os.path.join(dev, name), None, MS_BIND)
    _mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _own_proc(root: str) -> None:
    """``/proc`` with this process's entry (as ``self`` and its pid) and a few system-wide
    files that libraries read (processor count, memory): no other process is there."""
    proc, pid = root + "/proc", str(os.getpid())
    os.mkdir(proc)
    _mount("tmpfs", proc, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555")
    os.mkdir(os.path.join(proc, pid))
    _mount(f"/proc/{pid}", os.path.join(proc, pid), None, MS_BIND | MS_REC)
    os.symlink(pid, os.path.join(proc, "self"))
    os.symlink(f"{pid}/task/{pid}", os.path.join(proc, "thread-self"))
    os.symlink("self/mounts", os.path.join(proc, "mounts"))
    for name in PROC_FILES:
        if os.path.exists(f"/proc/{name}"):
            open(os.path.join(proc, name), "w").close()
            _mount(f"/proc/{name}", os.path.join(proc, name), None, MS_BIND)
    _mount(None, proc, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _drop_capabilities() -> None:
    """Root without capabilities cannot unmount, remount, or read other processes' memory."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    for cap in range(64):
        _libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails quietly past the last one)
    if _libc.capset(header, data):
        raise _Failed(ctypes.get_errno(), "capset")
