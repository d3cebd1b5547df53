"""Student kernels forked from a warm template: interpreter start-up, `import torch` and ipykernel's
imports are paid once per grading worker instead of once per submission.

A worker starts one template process (`python -m course.kernels`) that imports what every notebook
needs and then waits. For each kernel it forks a child that isolates and limits itself
(`course.sandbox`) and becomes an ipykernel on the given connection file. The child is a fresh
process for each submission, so nothing one student's code does reaches the next student's kernel.
jupyter_client drives it through `ForkProvisioner`, as if it had launched it itself.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.killpg(self.pid, signum)  # the kernel leads its own process group
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class Template:
    """The warm process kernels are forked from; one per grading worker, started by `prestart` when
    the worker starts (so its imports overlap the worker's own), or on first use."""

    _lock = threading.Lock()
    _instance: "Template | None" = None

    def __init__(self, threads: int):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MPLBACKEND": "Agg"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.kernels"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        self.ready = False

    @classmethod
    def get(cls, threads: int) -> "Template":
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = Template(threads)
            return cls._instance

    def fork(self, request: dict) -> dict:
        with self._lock:
            if not self.ready:
                if not self.process.stdout.readline().startswith("ready"):
                    raise RuntimeError("the kernel template process did not start")
                self.ready = True
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())


def prestart(threads: int = 1) -> None:
    """A grading worker's initializer: start its template now, without waiting for it."""
    Template.get(threads)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by asking the template to fork one, with the sandbox settings below."""

    sandbox = AnyTrait({})  # memory_mb, threads, hide, readonly, keep: set by SandboxedKernelManager
    isolation = "not started"

    async def launch_kernel(self, cmd, **kwargs):
        request = {
            "argv": cmd[cmd.index("-f"):],  # ipykernel's arguments: the connection file
            "cwd": str(kwargs.get("cwd") or os.getcwd()),
            "env": dict(kwargs.get("env") or os.environ),
            **self.sandbox,
        }
        reply = Template.get(self.sandbox.get("threads", 1)).fork(request)
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

def _child(request: dict, status_fd: int) -> None:
    """In the forked child: isolate, limit, then become an ipykernel. Never returns."""
    from . import sandbox

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # student code may run subprocesses
    os.setsid()
    isolation = sandbox.isolate(request.get("hide", []), request.get("readonly", []), request.get("keep", request["cwd"]))
    sandbox.apply_limits(request.get("memory_mb", 0), request.get("threads", 1))
    os.write(status_fd, isolation.encode())
    os.close(status_fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    import torch

    torch.set_num_threads(request.get("threads", 1))
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(request["argv"] + ["--HistoryManager.enabled=False"])
    app.start()
    os._exit(0)


def serve() -> None:
    """Import once, then fork a kernel per request line on stdin; answer with its pid."""
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
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(1)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as status:
            isolation = status.read().decode() or "the kernel failed before isolating itself"
        print(json.dumps({"pid": pid, "isolation": isolation}), flush=True)


if __name__ == "__main__":
    serve()
