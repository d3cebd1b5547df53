"""Does `course grade --cluster` grade exactly as a local run does, through Dask distributed, and lose
nothing when a worker dies?"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from course.scale.bundle import grading_files, only_assignments
from course.scale.cluster import archive, check_address, lost_reason
from course.config import ConfigError
from course.grade import main as grade
from faults_lib import BROKEN_FILES, FAULTS, fault_course, feedback

# Student cells that run DataLoaders with worker processes. Dask's worker processes are daemonic, and a
# daemonic process may not start children: the kernel must not be one. The first yields plain lists; the
# second yields tensors, which its workers hand back as shared-memory file descriptors.
DATALOADER_CELL = ("from torch.utils.data import DataLoader\n"
                   "batches = list(DataLoader(list(range(8)), batch_size=2, num_workers=2, collate_fn=list, timeout=20))\n"
                   "assert batches == [[0, 1], [2, 3], [4, 5], [6, 7]]")
TENSOR_DATALOADER_CELL = ("import torch\nfrom torch.utils.data import DataLoader, TensorDataset\n"
                          "batches = list(DataLoader(TensorDataset(torch.arange(8.0)), batch_size=2, num_workers=2, "
                          "timeout=20))\nassert len(batches) == 4")
# Under --unsafe-no-isolation the kernel is the template's child and the template the worker's: this
# cell kills the Dask worker grading it, on every attempt.
KILL_WORKER_CELL = ("import os, signal\n"
                    "def parent(pid):\n"
                    "    return int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
                    "os.kill(parent(parent(os.getpid())), signal.SIGKILL)")


def results(out):
    return {p.parent.parent.name: json.loads(p.read_text()) for p in out.glob("*/*/results.json")}


def without_timing(result):
    return {**result, "execution_time": None}


def with_cell(course, tmp_path, student, source):
    """The perfect 01_losses notebook with `source` as a new cell after its imports, as `student`'s."""
    notebook = nbformat.read(course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"), as_version=4)
    at = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    folder = tmp_path / "submitted" / student / "01_losses"
    folder.mkdir(parents=True)
    nbformat.write(notebook, str(folder / "losses.ipynb"))


STUDENTS = {"perfect", "sum-instead-of-mean", "untouched", "dataloader-workers", "dataloader-tensors"}


def small_class_in(course, folder):
    for name in ("perfect", "sum-instead-of-mean", "untouched"):
        shutil.copytree(course.path("examples", "submitted", name, "01_losses"), folder / "submitted" / name / "01_losses")
    with_cell(course, folder, "dataloader-workers", DATALOADER_CELL)
    with_cell(course, folder, "dataloader-tensors", TENSOR_DATALOADER_CELL)
    return folder


@pytest.fixture
def small_class(course, tmp_path):
    return small_class_in(course, tmp_path)


@pytest.fixture(scope="module")
def dataloaders(course, tmp_path_factory):
    """The fast set's one end-to-end run: two 01 notebooks whose DataLoaders start worker processes, graded
    with --cluster local:2. Returns (folder, out, Run)."""
    folder = tmp_path_factory.mktemp("dataloaders")
    with_cell(course, folder, "dataloader-workers", DATALOADER_CELL)
    with_cell(course, folder, "dataloader-tensors", TENSOR_DATALOADER_CELL)
    out = folder / "dask"
    return folder, out, grade(course=course, paths=[folder / "submitted"], out_dir=out, jobs=2, cluster="local:2")


@pytest.fixture(scope="module")
def both_ways(course, tmp_path_factory):
    """The small class graded with --jobs 2 and with --cluster local:2: (folder, pool's out, Dask's out, Dask's Run)."""
    folder = small_class_in(course, tmp_path_factory.mktemp("class"))
    pool, dask = folder / "pool", folder / "dask"
    grade(course=course, paths=[folder / "submitted"], out_dir=pool, jobs=2)
    run = grade(course=course, paths=[folder / "submitted"], out_dir=dask, jobs=2, cluster="local:2")
    return folder, pool, dask, run


@pytest.mark.parametrize("address", ["local:0", "local:two", "ftp://host:8786", "host:8786"])
def test_bad_address_is_one_sentence(address):
    with pytest.raises(ConfigError, match="--cluster"):
        check_address(address)


def test_course_archive_is_named_by_its_content(course):
    """Is the archive the workers unpack named by its content alone: the same files give the same name,
    a changed grader another, and does it hold only the assignments being graded?"""
    files = grading_files(course, ["01_losses"])
    assert archive(files)[0] == archive(dict(files))[0]
    changed = {**files, "autograder/01_losses/test_losses.py": files["autograder/01_losses/test_losses.py"] + b"\n"}
    assert archive(changed)[0] != archive(files)[0]
    assert not any("02_gradient_descent" in name or "03_mnist" in name for name in files)
    toml = files["course.toml"].decode()
    assert "[assignments.01_losses]" in toml and "[assignments.02_gradient_descent" not in toml
    assert only_assignments("[course]\nid = 1\n[assignments.a]\nx = 1\n[assignments.b.tests]\ny = 2\n", ["a"]) == \
        "[course]\nid = 1\n[assignments.a]\nx = 1\n"


@pytest.mark.slow
def test_local_cluster_grades_as_two_jobs_do(both_ways):
    """Does `--cluster local:2` write the same results (apart from timing), the same feedback and the
    same grades.csv as `--jobs 2`?"""
    _, pool, dask, run = both_ways
    assert run.exit_status == 0 and {s.student_id for s in run.graded} == STUDENTS
    a, b = results(pool), results(dask)
    assert set(a) == set(b) == STUDENTS
    for name in a:
        assert without_timing(b[name]) == without_timing(a[name]), name
        assert (dask / name / "01_losses" / "feedback.md").read_text() == (pool / name / "01_losses" / "feedback.md").read_text()
    assert (dask / "grades.csv").read_text() == (pool / "grades.csv").read_text()


def test_dataloader_workers_start_in_a_cluster_kernel(dataloaders):
    """Does a student's DataLoader with num_workers=2 run when a Dask worker (a daemonic process) grades?"""
    _, out, run = dataloaders
    assert run.exit_status == 0 and len(run.graded) == 2
    graded = results(out)["dataloader-workers"]
    assert graded["output"] == "Your notebook ran without problems."
    assert graded["score"] == graded["max_score"]


def test_dataloader_workers_hand_back_tensors(dataloaders):
    """Does a DataLoader with num_workers=2 over tensors run in a grading kernel? Its workers hand tensors
    back through multiprocessing's resource sharer, which needs the kernel's own (writable) temp dir, not
    the /tmp the kernel template had cached (read-only in the box)."""
    graded = results(dataloaders[1])["dataloader-tensors"]
    assert graded["output"] == "Your notebook ran without problems."
    assert graded["score"] == graded["max_score"]


def test_rerun_through_the_cluster_keeps_what_is_unchanged(course, dataloaders):
    folder, out, _ = dataloaders
    again = grade(course=course, paths=[folder / "submitted"], out_dir=out, jobs=2, cluster="local:2")
    assert len(again.kept) == 2 and not again.graded


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def busy_worker_pids() -> list[int]:
    """This process's Dask workers that are grading now: a worker's child is its kernel template
    (`-m course.engine.kernels`), and a template with a child has a student kernel running."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            template = int(entry)
            if b"course.engine.kernels" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            kernels = [c for t in os.listdir(f"/proc/{entry}/task") for c in Path(f"/proc/{entry}/task/{t}/children").read_text().split()]
            worker = parent(template)
            if kernels and parent(worker) == os.getpid():
                found.append(worker)
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.slow
def test_a_worker_killed_midway_loses_nothing(course, small_class):
    """When one Dask worker is killed while it grades, is its submission graded again (on a
    fresh worker) and every submission's result the same as a run where nothing died?"""
    killed = []

    def kill_one_worker():
        deadline = time.monotonic() + 600
        while not killed and time.monotonic() < deadline:
            pids = busy_worker_pids()
            if pids:  # midway: its student's kernel is running
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    run = grade(course=course, paths=[small_class / "submitted"], out_dir=small_class / "dask", jobs=2,
                cluster="local:2")
    killer.join(timeout=5)
    assert killed, "no worker was killed: the test did not test anything"
    assert run.exit_status == 0 and len(run.graded) == len(STUDENTS) and not run.grader_errors
    grade(course=course, paths=[small_class / "submitted"], out_dir=small_class / "pool", jobs=2)
    a, b = results(small_class / "pool"), results(small_class / "dask")
    assert {n: r["score"] for n, r in b.items()} == {n: r["score"] for n, r in a.items()}


@pytest.mark.slow
def test_a_task_whose_worker_dies_twice_is_worker_lost(course, small_class):
    """Is a submission whose worker dies on its first attempt and on its one retry a grader-error
    "worker lost" with the reason (no score, graded again next run), while the rest is graded?"""
    with_cell(course, small_class, "kills-its-worker", KILL_WORKER_CELL)
    out = small_class / "dask"
    run = grade(course=course, paths=[small_class / "submitted"], out_dir=out, jobs=2, cluster="local:2", unsafe=True)
    lost = results(out)["kills-its-worker"]
    assert lost["score"] is None and lost["tests"] == [] and lost["extra_data"]["status"] == "grader-error"
    assert lost["extra_data"]["grader_errors"][0].startswith("worker lost: the Dask worker grading it died on each "
                                                             "of 2 attempt(s)")
    assert [s.student_id for s, _ in run.grader_errors] == ["kills-its-worker"] and run.exit_status == 1
    assert {s.student_id for s in run.graded} == STUDENTS
    points = course.assignment("01_losses").max_score
    assert f"kills-its-worker,01_losses,,{points:g},grader-error," in (out / "grades.csv").read_text()


def gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_a_kernel_template_dies_with_its_worker_even_while_it_imports():
    """When a grading worker dies just after starting its kernel template, is the template gone before it
    has imported torch, not left importing it (seconds) as an orphan? Workers killed midway must leave
    nothing. (Watched by what the template maps, not by a clock: a loaded machine starts Python slowly.)"""
    start = ("import os\nfrom course.engine.kernels import Template\n"
             "print(Template(1).process.pid, flush=True)\nos._exit(0)")
    worker = subprocess.run([sys.executable, "-c", start], capture_output=True, text=True, timeout=120, check=True)
    template, died = int(worker.stdout), time.monotonic()
    imported_torch = False
    while not gone(template) and time.monotonic() - died < 60:
        try:
            imported_torch |= "libtorch" in Path(f"/proc/{template}/maps").read_text()
        except OSError:  # gone between the two looks
            break
        time.sleep(0.01)
    alive = not gone(template)
    if alive:
        os.kill(template, signal.SIGKILL)
    assert not alive, "the template outlived its worker by a minute"
    assert not imported_torch, "the orphaned template went on importing torch before it died"


def test_wait_ready_returns_once_the_template_is_warm():
    """Does `Template.wait_ready` (the pool's worker start and the Dask plugin wait with it) return True once
    the template has imported what kernels need, at once after that, and False for a template that died?"""
    from course.engine.kernels import Template

    template, dead = Template(1), Template(1)
    dead.process.kill()
    try:
        assert template.wait_ready() and template.ready
        started = time.monotonic()
        assert template.wait_ready() and time.monotonic() - started < 0.1
        assert dead.wait_ready() is False and not dead.ready
    finally:
        template.process.kill()


def test_lost_reason_names_the_attempts_and_the_worker():
    from types import SimpleNamespace

    error = SimpleNamespace(allowed_failures=1, last_worker=SimpleNamespace(address="tcp://10.0.0.7:4242"))
    assert lost_reason(error) == ("worker lost: the Dask worker grading it died on each of 2 attempt(s) (last: "
                                  "tcp://10.0.0.7:4242), so it was not graded; see that worker's log")


@pytest.mark.slow
def test_fault_examples_through_the_cluster(course, tmp_path):
    """Is every planted fault of tests/test_faults.py graded through `local:2` as the local pool grades it:
    the same score, the same feedback, the rest of the batch graded?"""
    small, submitted = fault_course(course, tmp_path / "course")
    root = submitted.parent
    out, pool = root / "out", root / "pool"
    run = grade(course=small, paths=[submitted], out_dir=out, jobs=2, cluster="local:2")
    grade(course=small, paths=[submitted], out_dir=pool, jobs=2)
    graded, expected = results(out), results(pool)
    assert len(run.graded) == len(FAULTS) + len(BROKEN_FILES) + 1 and not run.grader_errors
    assert set(graded) == set(expected) == set(FAULTS) | set(BROKEN_FILES) | {"perfect"}
    assert graded["perfect"]["score"] == small.assignment("01_losses").max_score
    for name in graded:  # the planted faults' own verdicts are tests/test_faults.py's to check
        assert graded[name]["score"] == expected[name]["score"], (name, graded[name]["output"])
        assert feedback(out, name) == feedback(pool, name), name
    for name, (_, phrase) in BROKEN_FILES.items():
        assert graded[name]["score"] == 0 and graded[name]["extra_data"]["status"] == "not a notebook"
        assert phrase in feedback(out, name), name


def worker_settings() -> dict:
    import dask

    return {"profiler": dask.config.get("distributed.worker.profile.enabled"),
            "tick": dask.config.get("distributed.admin.tick.interval"),
            "malloc trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "omp threads": os.environ.get("OMP_NUM_THREADS")}


def test_local_cluster_workers_run_with_quiet_bookkeeping():
    """Do `local:N`'s spawned workers get LOCAL_SETTINGS (bench/cluster_overhead.py measured Dask's defaults at
    +17% over --jobs 2): no statistical profiler on the grading thread, slow ticks, no MALLOC_TRIM_THRESHOLD_
    in the judge, one thread?"""
    from course.scale.cluster import connect

    with connect("local:1", jobs=1) as client:
        (settings,) = client.run(worker_settings).values()
    assert settings == {"profiler": False, "tick": "500ms", "malloc trim": None, "omp threads": "1"}
