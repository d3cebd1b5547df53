"""Does the seccomp filter answer each refused call as it says: EPERM for mount, unshare and a namespace
clone, ENOSYS for clone3 (so glibc falls back to clone), and let everything else through? Is the box
built by root without CAP_SYS_ADMIN (Docker's default, Gradescope), and refused in one sentence where
no namespace can be made?"""
import ctypes
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.engine import sandbox


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


# --- root without CAP_SYS_ADMIN (Docker's default, Gradescope): the box starts with a user namespace -----

ROOT = Path(__file__).resolve().parents[1]
COURSE = [sys.executable, "-m", "course.cli"]  # `course`, with the Python running the tests
REFUSED = "so grading was refused"


def without_cap_sys_admin() -> list[str]:
    """The command prefix that runs a program as this user less CAP_SYS_ADMIN: as root, util-linux's
    setpriv drops it from the bounding set, so the program starts without it; other users have none."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run a program as root without CAP_SYS_ADMIN"
    return [setpriv, "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"]


def user_namespaces_allowed() -> bool:
    return int(Path("/proc/sys/user/max_user_namespaces").read_text()) > 0


def run_course(*args: str, preexec_fn=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_DATA_DIR": os.environ["COURSE_DATA_DIR"]}
    return subprocess.run(without_cap_sys_admin() + COURSE + list(args), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, preexec_fn=preexec_fn)


def check_box(scratch, preexec_fn=None) -> str:
    """`sandbox.check` run as this user less CAP_SYS_ADMIN: 'holds', or why the box could not be made."""
    check = ("from course.engine import sandbox\n"
             f"print(sandbox.check({str(scratch)!r}, [{os.environ['COURSE_DATA_DIR']!r}]) or 'holds')")
    box = subprocess.run(without_cap_sys_admin() + [sys.executable, "-c", check], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, preexec_fn=preexec_fn)
    assert box.returncode == 0 and "Traceback" not in box.stderr, box.stderr
    return box.stdout.strip()


def test_without_cap_sys_admin_the_box_is_built_and_holds(tmp_path):
    """Without CAP_SYS_ADMIN, is the box built (in a user namespace, as bubblewrap does) wherever this
    machine allows user namespaces, and does it hold against what an attacker would try from inside
    (undo a mount, make a namespace, read /etc/shadow)? Where they are not allowed, is the reason the
    user namespace?"""
    answer = check_box(tmp_path)
    if user_namespaces_allowed():
        assert answer == "holds"
    else:
        assert "unshare" in answer and "user namespace" in answer


def refuse_namespaces():
    """As Docker's default seccomp profile does for a container without CAP_SYS_ADMIN: unshare, a
    namespace clone and mount fail with EPERM (the sandbox's own filter refuses exactly these)."""
    ctypes.CDLL(None, use_errno=True).prctl(sandbox.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    sandbox.install_seccomp()


def test_where_no_namespace_can_be_made_the_box_says_why_in_one_line(tmp_path):
    """Where no namespace can be made at all, does building the box fail closed with one line naming the
    step and the reason, never a traceback?"""
    answer = check_box(tmp_path, preexec_fn=refuse_namespaces)
    assert len(answer.splitlines()) == 1 and "unshare" in answer and answer.endswith("Operation not permitted")


@pytest.mark.slow
def test_where_no_namespace_can_be_made_grading_is_refused_in_one_sentence():
    """... and is grading then refused up front by `course doctor` (which `course grade` runs first) with one
    sentence saying why, never run without the sandbox?"""
    doctor = run_course("doctor", preexec_fn=refuse_namespaces)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr
    refusal = next(line for line in doctor.stdout.splitlines() if REFUSED in line).strip()
    assert refusal.startswith("the kernel sandbox cannot be built on this machine (") and "Operation not permitted" in refusal
    assert refusal.endswith("or pass --unsafe-no-isolation to grade without it.")


@pytest.mark.slow
def test_without_cap_sys_admin_a_notebook_is_graded_in_the_box(tmp_path):
    """Is a perfect 01 notebook graded in full by `course grade` run without CAP_SYS_ADMIN, its kernel
    isolated (as root: an unprivileged uid of its own, in a user namespace of its own)?"""
    notebook = ROOT / "examples" / "submitted" / "perfect" / "01_losses"
    graded = run_course("grade", str(notebook), "--out", str(tmp_path / "out"), "--force", "--jobs", "1")
    if not user_namespaces_allowed():
        assert graded.returncode != 0 and REFUSED in graded.stdout + graded.stderr
        return
    assert graded.returncode == 0, graded.stdout + graded.stderr
    results = json.loads((tmp_path / "out" / "perfect" / "01_losses" / "results.json").read_text())
    assert results["score"] == results["max_score"] and results["output"] == "Your notebook ran without problems."
    assert results["extra_data"]["isolation"].startswith("isolated:")
    if os.geteuid() == 0:
        assert "an unprivileged uid of its own in a user namespace of its own" in results["extra_data"]["isolation"]
