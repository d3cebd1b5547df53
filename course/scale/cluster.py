"""`course grade --cluster ADDRESS`: the same restore -> execute -> judge engine, scheduled by Dask
distributed instead of a local process pool. Every submission is one task; results come back to
this process, which writes them exactly as a local run does.

What travels, and why:
- The course (course.toml, source/, release/, autograder/, solutions/ of the assignments graded)
  as one archive named by the SHA-256 of its content. A worker plugin unpacks it once per host
  under the grader's cache, and every task names the archive it was built for, so a worker can
  never grade with a grader older or newer than this run's.
- The data: workers read it where this machine does when they see the complete official files
  there (a shared filesystem); otherwise it travels inside the plugin and is unpacked beside the
  course.
- The grading engine (this package) does not travel: each worker has it installed, and a worker
  whose engine differs from this one is refused before anything is graded.

Workers are long-lived: each one starts its kernel template when the plugin is set up and keeps it
warm between tasks, as a local pool worker does. Student kernels are forked by that template, a
separate interpreter, never by the Dask worker, so Dask's daemonic worker processes do not stop a
student's DataLoader(num_workers > 0).

A worker that dies mid-task (its machine lost, killed for memory) costs only the task it was
running: the scheduler retries it (`distributed.scheduler.allowed-failures`; `local:N` sets 1, one
retry) and then it is a grader-error "worker lost", graded again on the next run.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from distributed import WorkerPlugin

from ..outputs import report
from .bundle import data_files, engine_digest, grading_files
from ..intake.collect import Submission
from ..config import ConfigError, Course

WORKERS_SECONDS = 300  # how long a cluster may take to bring up its first worker (a gateway starts pods)
LOCAL_SETTINGS = {
    "distributed.scheduler.allowed-failures": 1,  # a task whose worker died is retried once, then "worker lost"
    "distributed.scheduler.worker-saturation": 1.0,  # a worker holds only the task it runs: a death costs only that one
    **{f"distributed.{key}": value for key, value in {  # measured in bench/cluster_overhead.py; README's Scale
        # Dask's own bookkeeping, made quieter: a grading task runs for seconds, and on a machine whose
        # cores the kernels fill every wakeup is taken from a student's kernel.
        "worker.profile.enabled": False,  # a statistical profiler sampling the grading thread every 10 ms
        "admin.tick.interval": "500ms",  # event-loop health checks, every 20 ms in each process
        "admin.system-monitor.interval": "2s",  # psutil samples, every 500 ms
        "admin.system-monitor.disk": False,
        "worker.memory.monitor-interval": "1s",  # the nanny's look at its worker's memory, every 100 ms
        # Dask's low MALLOC_TRIM_THRESHOLD_ would fix glibc's mmap threshold in the judge: every tensor
        # over 128 kB a fresh mmap. Kernels never see it (their environment is an allowlist).
        "nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    }.items()},
}


# --- the course, as it travels --------------------------------------------------------------------

def archive(files: dict[str, bytes]) -> tuple[str, bytes]:
    """(content digest, tar.gz bytes) of `files`; the same files always give the same digest."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    return digest.hexdigest()[:20], buffer.getvalue()


def unpack(digest: str, blob: bytes, kind: str) -> Path:
    """Unpack an archive once per host into the grader's cache, named by its digest; a worker racing
    another finds the whole folder or none of it (a rename)."""
    from ..engine.restore import cache_dir

    folder = cache_dir() / "cluster" / f"{kind}-{digest}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=folder.parent))
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(scratch, filter="data")  # our own archive, still unpacked refusing links and absolute paths
    os.chmod(scratch, 0o755)  # the data is bound read-only into kernels running as other uids
    try:
        scratch.rename(folder)
    except OSError:  # another worker on this host made it first: the same content
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


# --- on each worker -------------------------------------------------------------------------------

@dataclass
class Unpacked:
    root: Path  # the course folder
    data_dir: Path  # where this worker reads the data


_UNPACKED: dict[str, Unpacked] = {}  # course digest -> where it is, on this worker
_ONE_AT_A_TIME = threading.Lock()  # pytest and the kernel template are not for concurrent threads


class CourseOnWorkers(WorkerPlugin):
    """A Dask worker plugin: check the engine, unpack the course (and the data when it travels),
    start the kernel template. Dask runs it on every worker, including those that join later."""

    def __init__(self, digest: str, blob: bytes, data_dir: str, datasets: list[str],
                 data: tuple[str, bytes] | None, engine: str, threads: int):
        self.digest, self.blob, self.data_dir, self.datasets = digest, blob, data_dir, datasets
        self.data, self.engine, self.threads = data, engine, threads

    async def setup(self, worker=None):
        if engine_digest() != self.engine:
            raise RuntimeError(f"this worker runs another version of the grading engine (the course package: "
                               f"{engine_digest()}, not {self.engine}); install the client's version there")
        template = self.start_template()  # first: its imports overlap the unpacking and this worker's own
        root = unpack(self.digest, self.blob, "course")
        data_dir = Path(self.data_dir)
        if self.data is not None and data_problem(self.data_dir, self.datasets):
            data_dir = unpack(self.data[0], self.data[1], "data")
        _UNPACKED[self.digest] = Unpacked(root, data_dir)
        import torch

        torch.set_num_threads(1)  # the judge shares the cores with this worker's kernels
        # No task before the template is warm: a submission's time budget must not pay for its imports.
        # (A template that died is replaced by the first task's fork, as in a local pool.)
        await asyncio.get_running_loop().run_in_executor(None, template.wait_ready)

    def start_template(self):
        """From the worker's event loop thread, which lives as long as the worker: the template dies with
        the thread that started it (PR_SET_PDEATHSIG), so never from a task's thread."""
        from ..engine.kernels import Template

        return Template.get(self.threads)


def data_problem(data_dir: str, datasets: list[str]) -> str:
    """'' when this machine holds every dataset complete at `data_dir`, else what is wrong (run on workers)."""
    from ..doctor import dataset_problem

    for name in datasets:
        problem = dataset_problem(Path(data_dir), name)
        if problem:
            return problem
    return ""


def sandbox_problem(digest: str) -> str:
    """'' when this worker can build the kernel sandbox around its data folder, else why not (run on workers)."""
    from ..engine import sandbox
    from ..engine.execute import grader_dir

    return sandbox.check(tempfile.mkdtemp(dir=grader_dir()), [str(_UNPACKED[digest].data_dir)]) or ""


def grade_task(digest: str, course: Course, submission: Submission, notebook: bytes | None,
               isolate: bool) -> tuple[dict, object, float]:
    """One submission, on a worker: (results, the notebook as graded, seconds). The engine is
    `grade.grade_submission`, on this run's course (its seeds included) at the unpacked archive."""
    from ..engine.execute import grader_dir
    from ..grade import grade_submission

    with _ONE_AT_A_TIME:
        started = time.monotonic()
        where = _UNPACKED.get(digest)
        if where is None:
            raise RuntimeError(f"this worker has no course archive {digest} (its plugin did not run)")
        course = replace(course, root=where.root, data_dir=where.data_dir)
        scratch = Path(tempfile.mkdtemp(dir=grader_dir()))
        try:
            path = scratch / submission.notebook.name
            if notebook is not None:
                path.write_bytes(notebook)
            results, graded = grade_submission(course, replace(submission, notebook=path), isolate)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return results, graded, time.monotonic() - started


# --- on this machine ------------------------------------------------------------------------------

def check_address(address: str) -> None:
    """An address `course grade --cluster` can use, checked before anything is read (exit status 2)."""
    if address.startswith("local:"):
        count = address[len("local:"):]
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--cluster {address}: write local:N with N worker processes, at least 1 (local:2).")
    elif not (address.startswith(("tcp://", "tls://", "ucx://", "ws://", "wss://", "inproc://"))
              or address == "gateway" or address.startswith("gateway:")):
        raise ConfigError(f"--cluster {address}: give a scheduler address (tcp://host:8786), a dask-gateway "
                          "cluster (gateway for a new one, gateway:NAME for a running one), or local:N.")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError("--cluster needs Dask distributed: pip install distributed.") from None


@contextmanager
def connect(address: str, jobs: int) -> Iterator[object]:
    """A Dask client on `address`: local:N (a LocalCluster of N one-thread worker processes, made
    here), a dask-gateway cluster (`gateway`: a new one of `jobs` workers, shut down at the end;
    `gateway:NAME`: a running one), or a scheduler's address."""
    import dask
    from distributed import Client, LocalCluster

    if address.startswith("local:"):
        with dask.config.set(LOCAL_SETTINGS), LocalCluster(
                n_workers=int(address[len("local:"):]), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
            yield client
    elif address == "gateway" or address.startswith("gateway:"):
        try:
            from dask_gateway import Gateway
        except ImportError:
            raise ConfigError("--cluster gateway needs dask-gateway on this machine: pip install dask-gateway.") from None
        gateway = Gateway()  # configured by the hub (daskhub sets it), or by ~/.config/dask/gateway.yaml
        name = address.partition(":")[2]
        cluster = gateway.connect(name) if name else gateway.new_cluster()
        try:
            if not name:
                cluster.scale(jobs)
            with cluster.get_client() as client:
                yield client
        finally:
            if not name:
                cluster.shutdown()
    else:
        with Client(address, timeout="60s") as client:
            yield client


def ship(client, course: Course, assignment_ids: list[str], isolate: bool) -> str:
    """Send the course (and the data, where a worker lacks it) to every worker; returns the course's
    digest. Raises ConfigError, before anything is graded, when a worker cannot grade with it (its
    engine differs, or, unless --unsafe-no-isolation, it cannot build the kernel sandbox)."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_SECONDS)
    except Exception:
        raise ConfigError(f"no Dask worker joined within {WORKERS_SECONDS} s: start workers for the scheduler "
                          "(dask worker ADDRESS --nthreads 1), or scale the cluster.") from None
    digest, blob = archive(grading_files(course, assignment_ids))
    datasets = sorted({name for a in assignment_ids for name in course.assignment(a).datasets})
    lacking = {w: p for w, p in client.run(data_problem, str(course.data_dir), datasets).items() if p}
    data = archive(data_files(course, assignment_ids)) if lacking else None
    plugin = CourseOnWorkers(digest, blob, str(course.data_dir), datasets, data, engine_digest(), course.limits.threads)
    try:
        client.register_plugin(plugin, name=f"course-grade-{digest}")
    except Exception as error:
        raise ConfigError(f"a Dask worker could not take the course: {error}") from None
    refused = {w: p for w, p in client.run(sandbox_problem, digest).items() if p} if isolate else {}
    if refused:
        worker, problem = sorted(refused.items())[0]
        raise ConfigError(f"the Dask worker {worker} cannot build the kernel sandbox ({problem}), so grading was "
                          f"refused ({len(refused)} worker(s) in all): run workers as root or where unprivileged user "
                          "namespaces are allowed, or pass --unsafe-no-isolation.")
    busy = {w: info["nthreads"] for w, info in client.scheduler_info()["workers"].items() if info["nthreads"] > 1}
    if busy:
        print(f"note: {len(busy)} Dask worker(s) run several threads; each grades one submission at a time, so "
              "start workers with --nthreads 1 (and --nworkers for more).", file=sys.stderr)
    return digest


def lost_reason(error: Exception) -> str:
    """The grader-error reason for a submission whose worker died on every attempt."""
    attempts = getattr(error, "allowed_failures", 0) + 1
    worker = getattr(getattr(error, "last_worker", None), "address", "unknown")
    return (f"worker lost: the Dask worker grading it died on each of {attempts} attempt(s) (last: {worker}), "
            "so it was not graded; see that worker's log")


def grade_on_cluster(address: str, course: Course, todo: list[Submission], out_dir: Path, jobs: int,
                     isolate: bool) -> Iterator[tuple[Submission, float | None, str]]:
    """Grade `todo` (in its order) on the Dask cluster at `address`; write each submission's results
    here as it comes back. Yields (submission, seconds or None, the grader's error or '')."""
    with connect(address, jobs) as client:
        digest = ship(client, course, sorted({s.assignment_id for s in todo}), isolate)
        try:
            yield from _submit_and_collect(client, digest, course, todo, out_dir, isolate)
        finally:
            with suppress(Exception):  # a long-lived scheduler does not keep this run's course
                client.unregister_worker_plugin(f"course-grade-{digest}")


def _submit_and_collect(client, digest: str, course: Course, todo: list[Submission], out_dir: Path,
                        isolate: bool) -> Iterator[tuple[Submission, float | None, str]]:
    from distributed import as_completed

    run, futures = uuid.uuid4().hex[:8], {}
    for rank, submission in enumerate(todo):  # the first in `todo` first: the longest budgets
        notebook = submission.notebook.read_bytes() if submission.notebook.is_file() else None
        key = f"grade-{submission.assignment_id}-{submission.student_id}-{run}-{rank}"
        futures[client.submit(grade_task, digest, course, submission, notebook, isolate, key=key,
                              priority=len(todo) - rank, pure=False)] = submission
    for future in as_completed(futures):
        submission = futures.pop(future)
        seconds, error = _write_back(future, course, submission, out_dir)
        yield submission, seconds, error


def _write_back(future, course: Course, submission: Submission, out_dir: Path) -> tuple[float | None, str]:
    """Write what a task returned, as a local run writes it: (seconds, the grader's error or '')."""
    from distributed.scheduler import KilledWorker

    from ..grade import _record_grader_error, fingerprint, write_results

    try:
        results, graded, seconds = future.result()
    except KilledWorker as lost:
        error = lost_reason(lost)
    except Exception as crash:  # the engine failed on the worker: this submission only
        error = f"the grading worker failed ({type(crash).__name__}: {crash})"
    else:
        extra = results["extra_data"]
        if extra["status"] == report.GRADER_ERROR:
            error = "; ".join(extra["grader_errors"])
        else:  # this machine's fingerprint, so that an unchanged submission is kept on the next run
            extra["fingerprint"], error = fingerprint(course, submission), ""
        try:
            write_results(course, out_dir, results, graded)
            return seconds, error
        except OSError as unwritable:  # an id no folder may have: the run's table still names it
            return seconds, f"its results could not be written ({unwritable})"
    _record_grader_error(course, out_dir, submission, error)
    return None, error
