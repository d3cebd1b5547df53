"""Does the seccomp filter answer each refused call as it says: EPERM for mount, unshare and a namespace
clone, ENOSYS for clone3 (so glibc falls back to clone), and let everything else through?"""
import ctypes
import errno
import os

import pytest

from course import sandbox


def errno_in_filtered_child(call) -> int:
    """Run `call(libc)` in a forked child under the filter; its errno (0 when the call succeeded)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(sandbox.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        sandbox.install_seccomp()
        result = call(libc)
        os.write(write_fd, str(ctypes.get_errno() if result == -1 else 0).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as answer:
        code = int(answer.read() or -1)
    os.waitpid(pid, 0)
    return code


@pytest.mark.parametrize("name,call,expected", [
    ("mount", lambda libc: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None), errno.EPERM),
    ("umount2", lambda libc: libc.umount2(b"/proc", 2), errno.EPERM),
    ("unshare", lambda libc: libc.unshare(sandbox.CLONE_NEWUSER), errno.EPERM),
    ("clone with a namespace flag", lambda libc: libc.syscall(sandbox._syscalls()["clone"], sandbox.CLONE_NEWNET, 0, 0, 0, 0), errno.EPERM),
    ("clone3", lambda libc: libc.syscall(sandbox._syscalls()["clone3"], 0, 0), errno.ENOSYS),
    ("getpid", lambda libc: libc.getpid() * 0, 0),
])
def test_seccomp_answers(name, call, expected):
    assert errno_in_filtered_child(call) == expected, name
