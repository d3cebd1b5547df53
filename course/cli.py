"""The `course` command: parse arguments and hand them to one stage's entry function."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import ConfigError, load


def _release(args, course) -> int:
    from .release import release

    changes = release(course, args.assignments, check=args.check)
    if args.check:
        for change in changes:
            print(f"stale: {change}")
        print("release/ is stale: run `course release`." if changes else "release/ is in sync with source/.")
        return 1 if changes else 0
    print("\n".join(f"updated: {c}" for c in changes) or "release/ already up to date.")
    return 0


def _grade(args, course) -> int:
    from .grade import main

    gradebook, problems = main(course=course, paths=args.paths, out_dir=args.out, jobs=args.jobs,
                               assignment=args.assignment, force=args.force, nbgrader_db=args.nbgrader_db,
                               nbgrader_dir=args.nbgrader_dir, unsafe=args.unsafe_no_isolation)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(gradebook, end="")
    print(f"Results per submission: {args.out}/<student>/<assignment>/results.json and feedback.md", file=sys.stderr)
    # Grading completed whatever the scores; a PATH that does not exist is the caller's typo.
    return 1 if any(not Path(p).exists() for p in args.paths) else 0


def _calibrate(args, course) -> int:
    from .calibrate import main

    return main(course=course, assignment_id=args.assignment, seeds=args.seeds)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Release and grade the Day 5 assignments.")
    p.add_argument("--course-dir", type=Path, default=None, help="folder holding course.toml (default: search upwards)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="generate release/ from source/ with nbgrader")
    r.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    r.add_argument("--check", action="store_true", help="only check that release/ is in sync; exit 1 if not")
    r.set_defaults(run=_release)

    g = sub.add_parser("grade", help="grade submitted notebooks")
    g.add_argument("paths", nargs="+", type=Path, help="submitted/<student>/<assignment>/<notebook>.ipynb trees or notebooks")
    g.add_argument("--out", type=Path, required=True, help="where grades.csv and per-student results go")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    g.add_argument("--assignment", default=None, help="the assignment of single notebooks outside the nbgrader layout")
    g.add_argument("--force", action="store_true", help="re-grade even submissions unchanged since last time")
    g.add_argument("--nbgrader-db", default=None, metavar="URL",
                   help="also record the scores in this nbgrader gradebook, e.g. sqlite:///gradebook.db")
    g.add_argument("--nbgrader-dir", type=Path, default=None, metavar="DIR",
                   help="the nbgrader course folder whose autograded/ receives the graded notebooks "
                        "(default: the folder of a SQLite gradebook)")
    g.add_argument("--unsafe-no-isolation", action="store_true",
                   help="grade even where the kernel sandbox cannot be built: student code then runs with the "
                        "grader's access to files, network and processes (every results.json says so)")
    g.set_defaults(run=_grade)

    c = sub.add_parser("calibrate", help="calibrate accuracy thresholds on the reference solution")
    c.add_argument("assignment")
    c.add_argument("--seeds", type=int, default=10, help="number of seeds (at least 10)")
    c.set_defaults(run=_calibrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        course = load(args.course_dir)
        return args.run(args, course)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
