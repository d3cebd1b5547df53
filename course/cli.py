"""The `course` command: parse arguments and hand them to one stage's entry function."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, load, usable_cores


def _release(args, course) -> int:
    from .authoring.release import release

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

    run = main(course=course, paths=args.paths, out_dir=args.out, jobs=args.jobs, assignment=args.assignment,
               force=args.force, nbgrader_db=args.nbgrader_db, nbgrader_dir=args.nbgrader_dir,
               unsafe=args.unsafe_no_isolation, cluster=args.cluster)
    print(run.gradebook, end="")
    print(run.table(), file=sys.stderr)
    if run.graded or run.kept or run.grader_errors:
        print(f"Results per submission: {args.out}/<student>/<assignment>/results.json and feedback.md", file=sys.stderr)
    return run.exit_status


def _validate(args, course) -> int:
    from .authoring.validate import main

    return main(course=course, path=args.notebook, assignment_id=args.assignment, isolate=not args.unsafe_no_isolation)


def _doctor(args, course) -> int:
    from .doctor import main

    return main(course=course, out_dir=args.out, isolate=not args.unsafe_no_isolation)


def _calibrate(args, course) -> int:
    from .authoring.calibrate import main

    return main(course=course, assignment_id=args.assignment, seeds=args.seeds)


def _report(args, course) -> int:
    from .outputs.classreport import main

    page = main(course=course, grades_dir=args.grades_dir, out_dir=args.out)
    print(f"Class report: {page}")
    return 0


def _similarity(args, course) -> int:
    from .outputs.similarity import main

    return main(course=course, submitted=args.submitted, assignment_id=args.assignment, out_dir=args.out,
                threshold=args.threshold)


def _export(args, course) -> int:
    from .outputs.export import main

    return main(course=course, grades_dir=args.grades_dir, fmt=args.format, roster=args.roster, out=args.out,
                per_test=args.per_test)


def _bundle(args, course) -> int:
    from .scale.bundle import main

    return main(course=course, assignment_id=args.assignment, out=args.out, hidden=args.hidden_tests,
                check_dir=args.check, notebooks=args.notebook, setup=not args.no_setup)


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
    g.add_argument("--jobs", type=int, default=usable_cores(), help="submissions graded at once (default: the cores "
                   "this process may use)")
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
    g.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="grade on Dask distributed: a scheduler (tcp://host:8786), a dask-gateway cluster (gateway: "
                        "a new one of --jobs workers; gateway:NAME: a running one), or local:N worker processes")
    g.set_defaults(run=_grade)

    v = sub.add_parser("validate", help="run a notebook's self-checks before submitting (hidden checks run at grading)")
    v.add_argument("notebook", type=Path, help="your notebook (.ipynb)")
    v.add_argument("--assignment", default=None, help="its assignment (default: told from its cells)")
    v.add_argument("--unsafe-no-isolation", action="store_true", help="run the kernel without the sandbox")
    v.set_defaults(run=_validate)

    d = sub.add_parser("doctor", help="check the grader's setup (config, graders, data, sandbox) without grading")
    d.add_argument("--out", type=Path, default=None, help="also check that this results folder is writable")
    d.add_argument("--unsafe-no-isolation", action="store_true", help="do not check the kernel sandbox")
    d.set_defaults(run=_doctor)

    b = sub.add_parser("bundle", help="Gradescope's autograder zip for one assignment; --check replays it here")
    b.add_argument("assignment", nargs="?", help="the assignment to bundle")
    b.add_argument("--out", type=Path, default=None,
                   help="the zip to write (default: autograder-ASSIGNMENT.zip; with --check: DIR/autograder.zip, "
                        "or an existing zip to replay when no assignment is named)")
    b.add_argument("--hidden-tests", default="after_published",
                   choices=("visible", "after_due_date", "after_published", "hidden"),
                   help="when Gradescope shows students the tests not marked visible (default: %(default)s)")
    b.add_argument("--check", type=Path, default=None, metavar="DIR",
                   help="replay the bundle in a fake /autograder tree under DIR on --notebook and compare its "
                        "results with course grade's")
    b.add_argument("--notebook", type=Path, nargs="+", default=None, help="with --check: the notebook(s) to replay")
    b.add_argument("--no-setup", action="store_true",
                   help="with --check: skip setup.sh and grade with this environment")
    b.set_defaults(run=_bundle)

    c = sub.add_parser("calibrate", help="calibrate accuracy thresholds on the reference solution")
    c.add_argument("assignment")
    c.add_argument("--seeds", type=int, default=10, help="number of seeds (at least 10)")
    c.set_defaults(run=_calibrate)

    rp = sub.add_parser("report", help="the class report: misconceptions, test pass rates, faults (HTML + JSON)")
    rp.add_argument("grades_dir", type=Path, help="the --out folder of `course grade`")
    rp.add_argument("--out", type=Path, required=True, help="folder for index.html and report.json")
    rp.set_defaults(run=_report)

    from .outputs.similarity import THRESHOLD  # light: copydetect itself is imported only to compare

    s = sub.add_parser("similarity", help="pairs of submissions whose own code is suspiciously alike (HTML + CSV)")
    s.add_argument("submitted", type=Path, help="the submissions, as `course grade` takes them")
    s.add_argument("--assignment", required=True, help="the assignment to compare")
    s.add_argument("--out", type=Path, required=True, help="folder for index.html and pairs.csv")
    s.add_argument("--threshold", type=float, default=THRESHOLD,
                   help="similarity (0-1) from which a pair is flagged (default: %(default)s)")
    s.set_defaults(run=_similarity)

    e = sub.add_parser("export", help="grades for the LMS: a Canvas gradebook import, or a wide CSV")
    e.add_argument("grades_dir", type=Path, help="the --out folder of `course grade`")
    e.add_argument("--format", choices=("canvas", "csv"), default="canvas", help="canvas (default) or csv")
    e.add_argument("--roster", type=Path, default=None,
                   help="the class roster as Canvas exports it (Student, ID, SIS User ID, SIS Login ID, Section); "
                        "required for canvas")
    e.add_argument("--out", type=Path, default=None, help="the CSV to write (default: GRADES_DIR/canvas-import.csv "
                                                          "or GRADES_DIR/grades-wide.csv)")
    e.add_argument("--per-test", action="store_true", help="with --format csv: one column per graded test too")
    e.set_defaults(run=_export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        course = load(args.course_dir)
        return args.run(args, course)
    except ConfigError as error:
        for sentence in getattr(error, "findings", None) or [error]:
            print(f"error: {getattr(sentence, 'problem', sentence)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
