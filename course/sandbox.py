"""OS limits and isolation for a student kernel, applied in the kernel process before it starts.

- memory: RLIMIT_AS (torch's own mappings take about 3.7 GB of address space, so the cap is above that);
- threads: OMP/MKL/OpenBLAS and torch's intra-op threads;
- files: a private mount namespace where the graders, the reference, the source notebooks, git
  history, other submissions and the grading output are empty folders, and the data is read-only;
- network: a private network namespace with no interfaces up (the kernel talks to the grader over
  unix sockets, which need none).
Namespaces need Linux; as a non-root user they need unprivileged user namespaces. Where the OS
refuses, the kernel still runs, and `isolate` says what was not enforced.
"""
from __future__ import annotations

import ctypes
import os
import resource

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x20, 0x1000, 0x4000, 0x40000


def apply_limits(memory_mb: int, threads: int) -> None:
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing kernel must not fill the disk
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}")


def isolate(hide: list[str], readonly: list[str], keep: str) -> str:
    """Enter private mount and network namespaces; empty every path in `hide` (except `keep`, the
    kernel's own folder, which stays visible), and make `readonly` read-only. Returns what holds."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWNET | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        return "not isolated (the OS refused namespaces): files and network are as for the grader"
    try:
        if flags & CLONE_NEWUSER:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
        _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
        keep_fd = os.open(keep, os.O_RDONLY | os.O_DIRECTORY)
        for path in hide:
            if os.path.isdir(path):
                _mount(libc, "tmpfs", path, "tmpfs", 0, "size=64k")
                inside = os.path.relpath(keep, path)
                if not inside.startswith(".."):  # the kernel's own folder lies under a hidden one
                    os.makedirs(os.path.join(path, inside), exist_ok=True)
                    _mount(libc, f"/proc/self/fd/{keep_fd}", os.path.join(path, inside), None, MS_BIND)
        for path in readonly:
            if os.path.isdir(path):
                _mount(libc, path, path, None, MS_BIND | MS_REC)
                _mount(libc, None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
        os.close(keep_fd)
    except OSError as error:
        return f"partly isolated (no network; {error.strerror} at {error.filename or error.args[-1]})"
    return "isolated: no network, graders and other submissions hidden, data read-only"
