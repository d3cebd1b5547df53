"""Student kernels forked from a warm template: interpreter start-up, `import torch` and ipykernel's
imports are paid once per grading worker instead of once per submission.

A worker starts one template process (`python -m course.engine.kernels`) that imports what every notebook
needs and then waits. For each kernel it forks a child that isolates and limits itself
(`course.engine.sandbox`) and becomes an ipykernel on the given connection file. The child is a fresh
process for each submission, so nothing one student's code does reaches the next student's kernel.
jupyter_client drives it through `ForkProvisioner`, as if it had launched it itself.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import select
import tempfile
import threading
import time
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any as AnyTrait


class ForkedProcess:
    """The Popen methods jupyter_client uses, for a kernel that is the template's child, not ours."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        try:
            os.kill(self.pid, 0)  # the template reaps its children, so a dead kernel is gone
            return None
        except ProcessLookupError:
            self.returncode = -1
            return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.killpg(self.pid, signum)  # PID 1 of the kernel's namespace leads the kernel's group
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self):
        """End the kernel and everything it started: killing PID 1 of its namespace kills them all."""
        self.send_signal(signal.SIGKILL)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill_and_wait(self, seconds: float = 10.0) -> bool:
        """Kill the whole tree and wait until it is gone; True when it is."""
        self.kill()
        try:
            self.wait(seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def terminate(self):
        self.send_signal(signal.SIGTERM)


TEMPLATE_START_SECONDS = 120  # importing torch on a loaded machine; past this the template is replaced
FORK_SECONDS = 30  # a fork, a sandbox and an answer take well under a second


def template_env(threads: int) -> dict:
    """The template's whole environment: an allowlist, never the grader's. Kernels are forked from
    the template, so whatever it was started with, /proc/self/environ shows them."""
    import matplotlib

    env = {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": matplotlib.get_configdir(), "PYTHONDONTWRITEBYTECODE": "1",
           **{name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    # Set on some processors because older OpenBLAS builds crash there; they are not secrets.
    env.update({k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ})
    return env


class Template:
    """The warm process kernels are forked from; one per grading worker, started by `prestart` when
    the worker starts (so its imports overlap the worker's own), or on first use. No student code
    ever runs in it: every kernel is a fresh fork, and kernels cannot see or signal it."""

    _lock = threading.Lock()
    _instance: "Template | None" = None

    def __init__(self, threads: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.engine.kernels", str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=template_env(threads), text=True, bufsize=1, cwd="/")
        self.ready = False

    @classmethod
    def get(cls, threads: int) -> "Template":
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = Template(threads)
            return cls._instance

    def _readline(self, seconds: float) -> str:
        """One line from the template, or RuntimeError when none comes in time (it is then replaced)."""
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            raise RuntimeError("the kernel template stopped answering; a new one is started for the next kernel")
        return line

    def _await_ready(self) -> None:
        """With the lock held: wait for the template's "ready" (its imports done), once."""
        if not self.ready:
            if not self._readline(TEMPLATE_START_SECONDS).startswith("ready"):
                raise RuntimeError("the kernel template process did not start")
            self.ready = True

    def wait_ready(self) -> bool:
        """Block until the template has imported what kernels need, as its first fork would; True when
        it has. A template that died or hung is left for the next fork to replace, as in any batch."""
        with self._lock:
            try:
                self._await_ready()
                return True
            except RuntimeError:
                return False

    def fork(self, request: dict) -> dict:
        with self._lock:
            self._await_ready()
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
            except OSError:
                self.process.kill()
                raise RuntimeError("the kernel template has stopped; a new one is started for the next kernel") from None
            return json.loads(self._readline(FORK_SECONDS))

    @classmethod
    def fork_kernel(cls, threads: int, request: dict) -> dict:
        """Fork a kernel; a template that died or hung is replaced once, so a batch always goes on."""
        try:
            return cls.get(threads).fork(request)
        except RuntimeError:
            return cls.get(threads).fork(request)


def prestart(threads: int = 1) -> "Template":
    """A grading worker's initializer: start its template now (`wait_ready` waits for its imports)."""
    return Template.get(threads)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by asking the template to fork one, with the sandbox settings below."""

    sandbox = AnyTrait({})  # memory_mb, threads, isolate, box: set by SandboxedKernelManager
    isolation = "not started"

    async def launch_kernel(self, cmd, **kwargs):
        request = {
            "argv": cmd[cmd.index("-f"):],  # ipykernel's arguments: the connection file
            "cwd": str(kwargs["cwd"]),
            "env": dict(kwargs["env"]),  # built from an allowlist by the caller, never os.environ
            **self.sandbox,
        }
        reply = Template.fork_kernel(self.sandbox.get("threads", 1), request)
        if "error" in reply:
            raise RuntimeError(f"could not start a kernel: {reply['error']}")
        self.process = ForkedProcess(reply["pid"])
        self.pid = self.pgid = reply["pid"]
        self.isolation = reply["isolation"]
        self.cwd = request["cwd"]
        return self.connection_info


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels come from the warm template, isolated and limited."""

    sandbox = AnyTrait({})

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                               parent=self, sandbox=self.sandbox)
        return await super()._async_pre_start_kernel(**kw)


# --- the template process ------------------------------------------------------------------------

def _close_inherited(keep: int) -> None:
    """A kernel keeps no file of the template's: not its pipes to the grader, not anything else."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _child(request: dict, status_fd: int) -> None:
    """In the forked child: isolate, limit, then become an ipykernel. Never returns."""
    from . import sandbox

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # student code may run subprocesses
    _close_inherited(keep=status_fd)
    if request.get("isolate", True):
        _, holds = sandbox.enter(request["box"], status_fd)
    else:
        sandbox.die_with_parent()
        os.setsid()
        os.write(status_fd, f"pid {os.getpid()}\n".encode())
        holds = ("NOT ISOLATED (--unsafe-no-isolation): the kernel could read and write what the grader can, "
                 "use the network, and leave processes running")
    sandbox.apply_limits(request.get("memory_mb", 0), request.get("threads", 1))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # the template's cached /tmp is read-only here: the kernel's own TMPDIR instead
    os.write(status_fd, f"ok {holds}\n".encode())
    os.close(status_fd)
    for name in [m for m in sys.modules if m == "course" or m.startswith("course.")]:
        del sys.modules[name]  # the grader's package is not the student's to import
    import torch

    torch.set_num_threads(request.get("threads", 1))
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(request["argv"] + ["--HistoryManager.enabled=False"])
    app.start()
    os._exit(0)


def _status(read_fd: int) -> dict:
    """What the forked child said: PID 1's pid, and what holds or why it failed."""
    with os.fdopen(read_fd, "rb") as status:
        lines = status.read().decode(errors="replace").splitlines()
    reply = {}
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "pid":
            reply["pid"] = int(rest)
        elif word == "ok":
            reply["isolation"] = rest
        elif word == "error":
            reply["error"] = rest
    if "pid" not in reply or "isolation" not in reply:
        reply.setdefault("error", "the kernel failed before it could start")
    return reply


def serve(worker: int) -> None:
    """Import once, then fork a kernel per request line on stdin; answer with its pid. `worker`: the
    pid of the grading worker that started it."""
    from . import sandbox

    sandbox.die_with_parent()  # a template never outlives its grading worker, not even while it imports
    if os.getppid() != worker:  # the worker died before the line above took hold
        os._exit(1)
    import torch  # noqa: F401  (the point: imported before forking)
    import torchvision  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the OS
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                _child(request, write_fd)
            except BaseException as error:
                try:
                    os.write(write_fd, f"error {type(error).__name__}: {error}\n".encode())
                except OSError:
                    pass
            finally:
                os._exit(1)
        os.close(write_fd)
        reply = _status(read_fd)
        if "error" in reply and "pid" in reply:
            try:
                os.kill(reply["pid"], signal.SIGKILL)
            except OSError:
                pass
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
