"""Benchmark (not a test): grade a class of mixed example submissions with 1 and with 2 jobs.

Prints, all measured in this one run: seconds per submission, the 2-job speedup, the ratio of total
grading time to bare nbclient execution of the same notebooks, the slowest full submission of each
assignment, and the peak memory (PSS: shared pages counted once) of a worker with its kernels.

    COURSE_DATA_DIR=../shared/data .venv/bin/python bench/grade_class.py [--size 30]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COURSE_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))

from course.config import load  # noqa: E402
from course.grade import main as grade  # noqa: E402


def pick_class(course, size: int, into: Path) -> list[Path]:
    """`size` submissions, taking the example students of each assignment in turn."""
    by_assignment = {a: sorted(course.path("examples", "submitted").glob(f"*/{a}/*.ipynb")) for a in course.assignments}
    queues = {a: iter(cycle(files)) for a, files in by_assignment.items() if files}
    picked = []
    for i, assignment in zip(range(size), cycle(queues)):
        source = next(queues[assignment])
        target = into / f"s{i:03d}-{source.parent.parent.name}" / assignment / source.name
        target.parent.mkdir(parents=True)
        shutil.copy(source, target)
        picked.append(target)
    return picked


def tree_pss_mb(pid: int) -> float:
    """PSS of a process and all its descendants, in MB."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


class PeakWorker(threading.Thread):
    """Samples every grading worker's process tree (worker, kernel template, kernel) and keeps the peak."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0.0, True

    def run(self):
        me = os.getpid()
        while self.running:
            children = [int(c) for t in os.listdir(f"/proc/{me}/task")
                        for c in open(f"/proc/{me}/task/{t}/children").read().split()]
            for child in children:
                self.peak = max(self.peak, tree_pss_mb(child))
            time.sleep(0.2)


def bare_nbclient(course, paths: list[Path]) -> float:
    """Seconds to execute each notebook with plain nbclient, one fresh kernel each, serially: every
    cell as it stands, with the same grading parameters injected after the `parameters` cell."""
    import nbformat
    from nbclient import NotebookClient

    started = time.monotonic()
    for path in paths:
        assignment = course.assignment(path.parent.name)
        notebook = nbformat.read(str(path), as_version=4)
        injected = {**assignment.parameters, "DATA_DIR": str(course.data_dir)}
        for i, cell in enumerate(notebook.cells):
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                code = "\n".join(f"{k} = {v!r}" for k, v in injected.items())
                notebook.cells.insert(i + 1, nbformat.v4.new_code_cell(code))
                break
        NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30)
    args = parser.parse_args()
    course = load(ROOT)
    os.environ["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = pick_class(course, args.size, tmp / "class")
        timings = {}
        for jobs in (1, 2):
            sampler = PeakWorker()
            sampler.start()
            started = time.monotonic()
            grade(course=course, paths=[tmp / "class"], out_dir=tmp / f"out{jobs}", jobs=jobs, force=True)
            timings[jobs] = time.monotonic() - started
            sampler.running = False
            sampler.join()
            timings[f"peak{jobs}"] = sampler.peak
        per_assignment: dict[str, float] = {}
        for result in (tmp / "out1").glob("*/*/results.json"):
            data = json.loads(result.read_text())
            a = data["extra_data"]["assignment"]
            per_assignment[a] = max(per_assignment.get(a, 0.0), data["execution_time"])
        bare = bare_nbclient(course, paths)

    n = args.size
    print(f"class of {n} submissions ({', '.join(sorted(course.assignments))}), load average {os.getloadavg()[0]:.1f}")
    print(f"1 job : {timings[1]:6.1f} s  = {timings[1] / n:5.2f} s per submission")
    print(f"2 jobs: {timings[2]:6.1f} s  = {timings[2] / n:5.2f} s per submission")
    print(f"speedup from 2 jobs: {timings[1] / timings[2]:.2f}x   (target >= 1.7)")
    print(f"bare nbclient, same notebooks, serially: {bare:6.1f} s")
    print(f"grading / bare nbclient (1 job): {timings[1] / bare:.2f}   (target <= 1.1)")
    for a, seconds in sorted(per_assignment.items()):
        print(f"slowest {a} submission, kernel time: {seconds:5.1f} s   (target <= 40)")
    print(f"peak PSS of a worker with its kernels: 1 job {timings['peak1']:.0f} MB, 2 jobs {timings['peak2']:.0f} MB"
          "   (target <= 1536)")


if __name__ == "__main__":
    main()
