"""Benchmark (not a test): what going through Dask costs, measured in one run.

Grades the same class of example submissions with `--jobs 2` (forked local workers) and with
`--cluster local:2` (a Dask LocalCluster of two worker processes, started by the run itself and
counted in its time), alternating the two `--rounds` times so that machine load falls on both alike,
and prints the wall time of each and the overhead of Dask, broken down by the results' write times:
start to the first results.json (workers and templates starting), first to last (grading), last to
the end (gradebook, shutting the pool or cluster down), the kernels' own execution seconds, and CPU
seconds spent in this process and in its descendants (workers, templates, kernels).

    COURSE_DATA_DIR=../shared/data .venv/bin/python bench/cluster_overhead.py [--size 60] [--rounds 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COURSE_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))

from course.config import load  # noqa: E402
from course.grade import main as grade  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from grade_class import pick_class  # noqa: E402

MODES = {"jobs 2": None, "cluster local:2": "local:2"}


PHASES = ("start", "grading", "end", "kernels", "cpu here", "cpu elsewhere")


def cpu() -> tuple[float, float]:
    """CPU seconds of this process (the client: its scheduler, nannies and result writing in a cluster
    run) and of its finished descendants (workers, templates, kernels), user + system."""
    here, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return here.ru_utime + here.ru_stime, children.ru_utime + children.ru_stime


def scores(out: Path) -> dict:
    return {p.parent.parent.name: json.loads(p.read_text())["score"] for p in out.glob("*/*/results.json")}


def phases(out: Path, started: float, ended: float) -> dict:
    """Seconds in each phase of one run, from the wall clock times its results.json files were written."""
    results = list(out.glob("*/*/results.json"))
    written = sorted(p.stat().st_mtime for p in results)
    kernels = sum(json.loads(p.read_text())["execution_time"] for p in results)
    return {"start": written[0] - started, "grading": written[-1] - written[0], "end": ended - written[-1],
            "kernels": kernels}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    course = load(ROOT)
    seconds = dict.fromkeys(MODES, 0.0)
    parts = {mode: dict.fromkeys(PHASES, 0.0) for mode in MODES}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pick_class(course, args.size, tmp / "class")
        pick_class(course, len(course.assignments), tmp / "warm-class")  # one of each: caches, the page cache
        grade(course=course, paths=[tmp / "warm-class"], out_dir=tmp / "warm", jobs=2, force=True)
        outs = []
        for round_ in range(args.rounds):
            for mode in list(MODES) if round_ % 2 == 0 else list(MODES)[::-1]:
                out = tmp / f"{mode.replace(' ', '-').replace(':', '')}-{round_}"
                started, wall, (here, elsewhere) = time.monotonic(), time.time(), cpu()
                grade(course=course, paths=[tmp / "class"], out_dir=out, jobs=2, force=True, cluster=MODES[mode])
                seconds[mode] += time.monotonic() - started
                for phase, value in phases(out, wall, time.time()).items():
                    parts[mode][phase] += value
                here_after, elsewhere_after = cpu()
                parts[mode]["cpu here"] += here_after - here
                parts[mode]["cpu elsewhere"] += elsewhere_after - elsewhere
                loads.append(os.getloadavg()[0])
                outs.append(out)
        assert all(scores(out) == scores(outs[0]) for out in outs), "the same class got other scores"
    print(f"class of {args.size} x {args.rounds} round(s); load average during the runs: "
          f"{', '.join(f'{x:.1f}' for x in loads)} (2 cores)")
    for mode, total in seconds.items():
        print(f"{mode:16s}: {total / args.rounds:6.1f} s  = {total / args.rounds / args.size:5.2f} s per submission; "
              + ", ".join(f"{phase} {parts[mode][phase] / args.rounds:.1f} s" for phase in PHASES))
    overhead = seconds["cluster local:2"] / seconds["jobs 2"] - 1
    print(f"Dask's overhead: {overhead:+.1%}   (target <= +10%); the same scores in every run")


if __name__ == "__main__":
    main()
