"""Benchmark (not a test): what the kernel sandbox costs per submission, measured in one run.

Grades the same class of example submissions with the sandbox and with --unsafe-no-isolation,
alternating the two `--rounds` times so that machine load falls on both alike, and prints seconds
per submission for each and their ratio.

    COURSE_DATA_DIR=../shared/data .venv/bin/python bench/sandbox_overhead.py [--size 12] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    course = load(ROOT)
    seconds = {"isolated": 0.0, "unsafe": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pick_class(course, args.size, tmp / "class")
        grade(course=course, paths=[tmp / "class"], out_dir=tmp / "warm", jobs=args.jobs, force=True)  # caches
        for round_ in range(args.rounds):
            for mode in ("isolated", "unsafe") if round_ % 2 == 0 else ("unsafe", "isolated"):
                started = time.monotonic()
                grade(course=course, paths=[tmp / "class"], out_dir=tmp / f"{mode}{round_}", jobs=args.jobs,
                      force=True, unsafe=mode == "unsafe")
                seconds[mode] += time.monotonic() - started
    n = args.size * args.rounds
    print(f"class of {args.size} x {args.rounds} rounds, {args.jobs} job(s), load average {os.getloadavg()[0]:.1f}")
    for mode, total in seconds.items():
        print(f"{mode:8s}: {total / n:5.2f} s per submission")
    print(f"sandboxed / unsandboxed: {seconds['isolated'] / seconds['unsafe']:.3f}   (target <= 1.10)")


if __name__ == "__main__":
    main()
