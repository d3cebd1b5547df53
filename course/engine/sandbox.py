"""The box a student kernel runs in, built the way bubblewrap builds one: namespaces, then mounts, then
read-only remounts, then every privilege dropped, all before any student code exists.

`enter(box)` runs in a freshly forked child of the kernel template and, in this order:
1. unshares mount, PID, network, IPC and UTS namespaces, plus a user namespace unless it is root with
   CAP_SYS_ADMIN (root without it, as in Docker or on Gradescope, makes one too, its uid map written
   from outside, so that inside it the box is built as root's is, as bubblewrap does);
2. forks: the child is PID 1 of the new PID namespace, a tiny init that reaps and dies with its
   parent; when it dies, the kernel kills every process the student started;
3. builds a new root on a tmpfs: the system's libraries, the Python environment and the data
   read-only, the kernel's own folders (work, ipc, home, tmp) writable, a fresh /proc (this PID
   namespace only) and a minimal /dev; pivots into it and detaches the old root;
4. gives up the power to change any of it: a nested user namespace that locks every mount (or, as
   root, a switch to an unprivileged uid of the kernel's own), an empty bounding set and no
   capabilities, no_new_privs, and a seccomp filter refusing mount, namespace, ptrace and kernel
   module calls.
It fails closed: a step that cannot be done raises SandboxError, and the kernel does not start.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
CLONE_NEWCGROUP, CLONE_NEWTIME = 0x02000000, 0x00000080
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
# statvfs flag -> mount flag: a read-only remount must keep the flags the kernel locked on the source.
KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
              os.ST_NOATIME: 0x400, os.ST_NODIRATIME: 0x800, os.ST_RELATIME: 0x200000}
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # read-only, or re-made as links
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "hosts", "mime.types")
DEVICES = ("null", "zero", "full", "random", "urandom")
UNPRIVILEGED_UID_BASE = 200_000  # as root, kernel n runs as uid base + its pid: nobody else's uid
NPROC = 512  # processes and threads per kernel uid, so a fork bomb stays inside its own kernel


class SandboxError(OSError):
    """A step of the sandbox could not be made; the kernel must not start."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise SandboxError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _prctl(option: int, arg: int = 0, what: str = "prctl") -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), what)


def apply_limits(memory_mb: int, threads: int) -> None:
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing kernel must not fill the disk
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


# --- 1 and 2: namespaces and the init ---------------------------------------------------------------

def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _map_self(uid: int, gid: int, outer_uid: int, outer_gid: int) -> None:
    """Just after entering a new user namespace: be `uid`/`gid` there, mapped onto who we were outside."""
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {outer_uid} 1")
    _write("/proc/self/gid_map", f"{gid} {outer_gid} 1")


CAP_SYS_ADMIN = 21
NAMESPACES = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS


def has_capability(cap: int) -> bool:
    """Whether this process holds `cap` in its effective set."""
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def privileged_root() -> bool:
    """Root that may make namespaces itself (CAP_SYS_ADMIN). Root without it (Docker's default,
    Gradescope's containers) must start the box with a user namespace, as bubblewrap does."""
    return os.geteuid() == 0 and has_capability(CAP_SYS_ADMIN)


def unshare_all() -> bool:
    """New mount, PID, network, IPC and UTS namespaces (and a user namespace unless root, whose
    privileges are real). Returns whether a user namespace was made."""
    as_root = os.geteuid() == 0
    flags = NAMESPACES | (0 if as_root else CLONE_NEWUSER)
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(flags), "unshare (are user namespaces allowed on this machine?)")
    if not as_root:
        _map_self(uid, gid, uid, gid)
    return not as_root


def unshare_mapped(kernel_uid: int, status_fd: int) -> None:
    """Root without CAP_SYS_ADMIN: the new namespaces and a user namespace, whose maps (root, and the
    kernel's uid, each onto itself) are written from outside by this process, which keeps CAP_SETUID
    there (as newuidmap does for bubblewrap). Inside, root may build the box over the files it owns,
    then becomes the kernel's uid. Returns in the process inside; the one outside never returns: it
    writes the maps (or "error ..." to `status_fd`), closes `status_fd`, and waits for the inside one."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    inside = os.fork()
    if inside == 0:
        os.close(ready_read)
        os.close(go_write)
        die_with_parent()
        _check(_libc.unshare(NAMESPACES | CLONE_NEWUSER), "unshare a user namespace as root without "
               "CAP_SYS_ADMIN (are user namespaces allowed in this container? Docker's default seccomp "
               "profile refuses them)")
        os.write(ready_write, b"1")
        os.close(ready_write)
        if os.read(go_read, 1) != b"1":
            os._exit(1)  # the outside said why
        os.close(go_read)
        return
    os.close(ready_write)
    os.close(go_read)
    try:
        if os.read(ready_read, 1) == b"1":  # else the inside one failed, and said why
            maps = f"0 0 1\n{kernel_uid} {kernel_uid} 1\n"
            _write(f"/proc/{inside}/uid_map", maps)
            _write(f"/proc/{inside}/gid_map", maps)
            os.write(go_write, b"1")
    except OSError as error:
        os.write(status_fd, f"error writing the user namespace's uid map: {error}\n".encode())
    finally:
        os.close(status_fd)
        os.close(go_write)
        try:
            os.waitpid(inside, 0)
        finally:
            os._exit(0)


def die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "PR_SET_PDEATHSIG")


def run_init(child: int) -> None:
    """PID 1 of the kernel's namespace: reap every orphan; when the kernel itself ends, end too (and
    with it, every process left in the namespace). Never returns."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)  # interrupts are for the kernel, not for init
    status = 1
    while True:
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = os.waitstatus_to_exitcode(code)
            break
    os._exit(status if status >= 0 else 128 - status)


# --- 3: the new root --------------------------------------------------------------------------------

def _bind(source: str, target: str, readonly: bool) -> None:
    """Bind `source` at `target` (not recursively: no mount below it comes along)."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND)
    if readonly:
        kept = sum(flag for st, flag in KEPT_FLAGS.items() if os.statvfs(target).f_flag & st)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | kept)


def python_paths() -> list[str]:
    """The folders this Python needs, read-only: its installation and its environment."""
    found = []
    for path in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        if not any(path == other or path.startswith(other + os.sep) for other in found):
            found.append(path)
    return sorted(found)


def build_root(box: dict, uid: int, gid: int) -> None:
    """Make `box["root"]` (an empty folder) the new / holding only what a kernel needs, then pivot into it."""
    new = box["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back out
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    inside = lambda path: new + path  # noqa: E731  (absolute paths keep their names inside)
    for path in SYSTEM:
        if os.path.islink(path):
            os.symlink(os.readlink(path), inside(path))  # merged /usr: /bin -> usr/bin
        elif os.path.isdir(path):
            _bind(path, inside(path), readonly=True)
    os.makedirs(inside("/etc"))
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            _bind(f"/etc/{name}", inside(f"/etc/{name}"), readonly=True)
    _write(inside("/etc/passwd"), f"root:x:0:0:root:/root:/bin/sh\nstudent:x:{uid}:{gid}:student:{box['home']}:/bin/sh\n")
    _write(inside("/etc/group"), f"root:x:0:\nstudent:x:{gid}:\n")
    for path in python_paths() + [p for p in box.get("readonly", []) if os.path.isdir(p)]:
        _bind(path, inside(path), readonly=True)
    for path in box["writable"]:  # the kernel's own folders (TMPDIR among them), at the paths the grader knows
        _bind(path, inside(path), readonly=False)
    os.makedirs(inside("/dev"))
    _mount("tmpfs", inside("/dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    for name in DEVICES:
        _bind(f"/dev/{name}", inside(f"/dev/{name}"), readonly=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, inside(f"/dev/{name}"))
    os.makedirs(inside("/dev/shm"))  # DataLoader workers share tensors through it: the kernel's own, like /tmp
    _mount(None, inside("/dev"), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    _mount("tmpfs", inside("/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV, f"size={box.get('shm_mb', 256)}m,mode=1777")
    os.makedirs(inside("/proc"))
    _mount("proc", inside("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace only
    os.chdir(new)
    _check(_libc.syscall(_syscalls()["pivot_root"], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")  # the host's filesystem is gone
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


# --- 4: giving up every privilege -------------------------------------------------------------------

def _drop_bounding_set() -> None:
    """No capability can ever be regained, not even through a file's capabilities."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap, f"drop capability {cap}")


def _drop_capabilities() -> None:
    """Empty the bounding and ambient sets, then every capability set of this process."""
    _drop_bounding_set()
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, "clear ambient capabilities")
    header = struct.pack("II", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two (effective, permitted, inheritable) triples, all empty
    _check(_libc.syscall(_syscalls()["capset"], header, data), "capset")


def lock_and_drop(userns: bool, uid: int, gid: int) -> None:
    """Make the mounts impossible to change, and become a process with no privilege at all.

    With a user namespace, a nested one owns a new copy of the mount namespace: the kernel locks
    every mount copied into a less privileged namespace, so no umount can uncover what they hide.
    As root, the switch to an unprivileged uid leaves no capability to mount with at all."""
    if userns:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare the nested user namespace")
        _map_self(uid, gid, uid, gid)
        _drop_capabilities()
    else:
        _drop_bounding_set()
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # from root to another uid: every capability set is emptied
    _prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    install_seccomp()


# --- seccomp: what no kernel may ask of the OS ----------------------------------------------------

_ARCH = {  # audit arch, syscall numbers
    "x86_64": (0xC000003E, {
        "mount": 165, "umount2": 166, "pivot_root": 155, "unshare": 272, "setns": 308, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249, "chroot": 161, "acct": 163,
        "swapon": 167, "swapoff": 168, "reboot": 169, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "pidfd_getfd": 438, "iopl": 172, "ioperm": 173, "syslog": 103,
        "clone": 56, "clone3": 435, "capset": 126}),
    "aarch64": (0xC00000B7, {
        "mount": 40, "umount2": 39, "pivot_root": 41, "unshare": 97, "setns": 268, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280, "perf_event_open": 241,
        "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218, "chroot": 51, "acct": 89,
        "swapon": 224, "swapoff": 225, "reboot": 142, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "pidfd_getfd": 438, "syslog": 116,
        "clone": 220, "clone3": 435, "capset": 91}),
}
NAMESPACE_FLAGS = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
                   | CLONE_NEWCGROUP | CLONE_NEWTIME)
_NOT_REFUSED = {"clone", "clone3", "capset"}  # judged by their arguments, or needed
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EPERM, ENOSYS = 1, 38


def _syscalls() -> dict[str, int]:
    machine = platform.machine()
    if machine not in _ARCH:
        raise SandboxError(0, f"no sandbox for this processor ({machine}): only x86_64 and aarch64")
    return _ARCH[machine][1]


def seccomp_program() -> list[tuple[int, int, int, int]]:
    """A classic-BPF filter: the wrong architecture is killed; refused calls fail with EPERM; clone
    with a namespace flag fails with EPERM; clone3 (whose flags it cannot read) answers ENOSYS, so
    glibc falls back to clone, as container runtimes arrange it."""
    arch, numbers = _ARCH[platform.machine()]
    LD_W_ABS, JEQ, JSET, JGE, RET = 0x20, 0x15, 0x45, 0x35, 0x06
    refused = sorted(n for name, n in numbers.items() if name not in _NOT_REFUSED)
    program = [(LD_W_ABS, 0, 0, 4), (JEQ, 1, 0, arch), (RET, 0, 0, SECCOMP_RET_KILL_PROCESS), (LD_W_ABS, 0, 0, 0)]
    deny_at = lambda here: len_total - 3 - here  # noqa: E731  (to the EPERM return; offsets count from the next op)
    body = []
    if arch == 0xC000003E:
        body.append(("jge", 0x40000000))  # the x32 ABI's numbers: a second way in to every call
    body += [("jeq", n) for n in refused]
    body += [("clone3", numbers["clone3"]), ("clone", numbers["clone"])]
    # tail: [allow] [load args[0] low word] [jset ns -> deny] [allow] [deny] [enosys]
    len_total = len(program) + len(body) + 6
    for i, (kind, n) in enumerate(body):
        here = len(program)
        if kind == "jge":
            program.append((JGE, deny_at(here), 0, n))
        elif kind == "jeq":
            program.append((JEQ, deny_at(here), 0, n))
        elif kind == "clone3":
            program.append((JEQ, len_total - 1 - here - 1, 0, n))
        else:
            program.append((JEQ, 1, 0, n))  # clone: skip the allow below, read its flags
    program += [(RET, 0, 0, SECCOMP_RET_ALLOW), (LD_W_ABS, 0, 0, 16),
                (JSET, 1, 0, NAMESPACE_FLAGS), (RET, 0, 0, SECCOMP_RET_ALLOW),
                (RET, 0, 0, SECCOMP_RET_ERRNO | EPERM), (RET, 0, 0, SECCOMP_RET_ERRNO | ENOSYS)]
    assert len(program) == len_total
    return program


def install_seccomp() -> None:
    program = seccomp_program()
    filters = (ctypes.c_ubyte * (8 * len(program))).from_buffer_copy(
        b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in program))
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(filters))
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    buffer = ctypes.create_string_buffer(fprog)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, buffer, 0, 0), "install the seccomp filter")


# --- the whole sequence ------------------------------------------------------------------------------

def enter(box: dict, status_fd: int) -> tuple[int, str]:
    """Build the sandbox around this (single-threaded, freshly forked) process. Returns in the
    process that will become the kernel, with (its uid, what holds). The processes around it never
    return from here: the outer child writes "pid N" (PID 1's pid, as the grader sees it) to
    `status_fd` and lives exactly as long as PID 1; PID 1 reaps, and ends with the kernel.
    A step that fails in PID 1 is written as "error ..." to `status_fd`.

    `box`: root (an empty folder for the new /), writable (the kernel's own folders), tmp (its
    /tmp), home, readonly (the data)."""
    die_with_parent()
    slot = os.getpid()  # unique among live processes: as root, the kernel's uid is made from it
    own = os.geteuid() == 0  # as root, the kernel runs as an unprivileged uid of its own
    mapped = own and not privileged_root()
    if mapped:
        unshare_mapped(UNPRIVILEGED_UID_BASE + slot, status_fd)
        userns = False  # root inside its own user namespace: the box is built as a root's is
    else:
        userns = unshare_all()
    init = os.fork()
    if init:
        os.write(status_fd, f"pid {init}\n".encode())
        os.close(status_fd)
        try:
            os.waitpid(init, 0)
        finally:
            os._exit(0)
    try:
        die_with_parent()
        os.setsid()  # the kernel's process group: the grader interrupts it through this group
        if userns:
            uid, gid = os.geteuid(), os.getegid()
        else:
            uid = gid = UNPRIVILEGED_UID_BASE + slot
            own_uid(box, uid)
            resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))  # counted per uid: this kernel's alone
        build_root(box, uid, gid)
        _check(_libc.sethostname(b"sandbox", 7), "sethostname")
        lock_and_drop(userns, uid, gid)  # before the next line: a non-dumpable process cannot write its uid_map
        _prctl(PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")  # PID 1 cannot be traced or read through /proc
        kernel = os.fork()
    except BaseException as error:  # fail closed: no kernel starts in a half-built box
        os.write(status_fd, f"error {error}\n".encode())
        os._exit(1)
    if kernel:
        os.close(status_fd)
        run_init(kernel)
    die_with_parent()
    _prctl(PR_SET_DUMPABLE, 1, "PR_SET_DUMPABLE")
    holds = ("isolated: own filesystem (system, Python and data read-only), no network, own process tree, "
             + ("mounts locked by a nested user namespace" if userns else "an unprivileged uid of its own")
             + (" in a user namespace of its own (root here lacks CAP_SYS_ADMIN)" if mapped else "")
             + ", no capabilities, no_new_privs, seccomp")
    return uid, holds


def own_uid(box: dict, uid: int) -> None:
    """Give the kernel's own folders to `uid` (and its group), the uid it will run as."""
    for path in box["writable"]:
        for folder, _, files in os.walk(path):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid)


def make_box(scratch: str, readonly: list[str]) -> dict:
    """The folders of one kernel's box under `scratch` (made here): an empty root for the new /,
    and its own work, ipc, home and tmp folders; `readonly` (the data) is bound read-only."""
    for folder in ("root", "work", "ipc", "home", "tmp"):
        os.makedirs(os.path.join(scratch, folder), exist_ok=True)
    return {"root": f"{scratch}/root", "tmp": f"{scratch}/tmp", "home": f"{scratch}/home", "readonly": readonly,
            "writable": [f"{scratch}/{f}" for f in ("work", "ipc", "home", "tmp")]}


def check(scratch: str, readonly: list[str]) -> str | None:
    """Build a box in a forked child, as for a kernel, and try from inside what an attacker would.
    Returns None when it holds, else one sentence saying what failed."""
    box = make_box(scratch, readonly)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            enter(box, write_fd)
            os.write(write_fd, f"ok {_attempts()}\n".encode())
        except BaseException as error:
            os.write(write_fd, f"error {error}\n".encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as status:
        lines = status.read().decode(errors="replace").splitlines()
    os.waitpid(pid, 0)
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "error":
            return rest
        if word == "ok":
            return rest or None
    return "the sandbox's test process ended without a word"


def _attempts() -> str:
    """From inside a box: what must fail, tried; '' when all of it failed."""
    held = []
    if _libc.umount2(b"/proc", MNT_DETACH) == 0:
        held.append("a mount could be undone")
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0:
        held.append("a new namespace could be made")
    try:
        open("/etc/shadow").close()
        held.append("/etc/shadow was readable")
    except OSError:
        pass
    return "; ".join(held)
