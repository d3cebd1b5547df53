"""What a Gradescope autograder runs (`python -m course.scale.gradescope`, from the bundle's run_autograder):
grade the one notebook in /autograder/submission with the engine of `course grade`, and write
/autograder/results/results.json once, atomically, whatever fails.

The kernel runs in the sandbox of `course grade`; run_autograder runs as root there, so the kernel
runs as an unprivileged uid of its own (200000 + pid) that can read neither the graders nor the
results. Where the container cannot build the sandbox, nothing runs: the submission is a
grader-error, and this script's output (shown to instructors only) says why.

`--prepare` (from setup.sh, once per image) checks the setup and builds the gradebook that
restoring locked cells uses, so that no submission pays for it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

WHEN = {"after_due_date": "after the due date", "after_published": "when grades are published",
        "hidden": "only to your instructor"}


def summary(tests: list[dict]) -> str:
    """One line on the checks for the student: "all passed" only when every check, shown or not, passed."""
    if tests and all(t["status"] == "passed" for t in tests):
        return f"All {len(tests)} checks passed."
    shown = [t for t in tests if t["visibility"] == "visible"]
    later = [t for t in tests if t["visibility"] != "visible"]
    lines = [f"Checks shown now: {sum(t['status'] == 'passed' for t in shown)} of {len(shown)} passed."] if shown else []
    if later:
        when = WHEN[later[0]["visibility"]]
        lines.append(f"{len(later)} {'more ' if shown else ''}check(s) are shown {when}; the score counts them.")
    return " ".join(lines)


def for_gradescope(results: dict, hidden: str) -> dict:
    """The engine's results.json (already Gradescope's schema) with each test's visibility mapped onto
    Gradescope's values, a line on the checks, and this script's output kept for instructors."""
    results = json.loads(json.dumps(results))
    for test in results["tests"]:
        test["visibility"] = "visible" if test.get("visibility") == "visible" else hidden
    results["stdout_visibility"] = "hidden"
    if results["extra_data"].get("status") == "grader-error":
        results["output"] += " Any score Gradescope shows for this submission is not your grade."
    elif results["tests"]:
        results["output"] = f"{results['output']}\n{summary(results['tests'])}"
    return results


def not_graded(reason: str, settings: dict, student_id: str) -> dict:
    """A grader-error: no score, nothing said against the student's work, the reason for the instructor."""
    from ..outputs.report import grader_error_results

    return grader_error_results(student_id, settings["assignment"], reason, settings["max_score"])


def student_of(root: Path) -> str:
    """Who submitted, from Gradescope's submission_metadata.json (their emails), else "student"."""
    try:
        metadata = json.loads((root / "submission_metadata.json").read_text())
        emails = [str(user.get("email") or user.get("id")) for user in metadata.get("users", [])]
        return ",".join(emails).replace("/", "_") or "student"
    except (OSError, ValueError, AttributeError):
        return "student"


def find_notebook(course, assignment, folder: Path, student_id: str):
    """(Submission, note for the student) for the one notebook in `folder`, by `course grade`'s rules:
    the assignment's notebook name wins, else the only notebook; else no submission and why."""
    from ..intake.collect import Found, pick, walk

    notebooks, others = walk(folder)
    found = [Found(path, path.relative_to(folder).as_posix(), student_id, assignment.id) for path in notebooks]
    if not found:
        names = ", ".join(p.name for p in others.files[:5]) or "nothing"
        return None, (f"No notebook (.ipynb file) was found in your submission (it held {names}): submit your "
                      f"{assignment.notebook}.")
    submission, problems = pick(course, student_id, assignment.id, found)
    if submission is None:
        names = ", ".join(sorted(f.name for f in found))
        return None, f"Your submission held several notebooks ({names}) and none named {assignment.notebook}: submit one."
    return submission, ""


def grade(root: Path, settings: dict) -> tuple[dict, str]:
    """(results, a line for the instructor's log): the submission in root/submission, graded."""
    from ..intake.collect import Submission
    from ..config import load
    from ..doctor import diagnose
    from ..grade import grade_submission, rotate_seeds

    os.environ.pop("COURSE_DATA_DIR", None)  # the bundle's own data/, as course.toml in the bundle says
    course = rotate_seeds(load(root / "source"))
    assignment = course.assignment(settings["assignment"])
    student_id = student_of(root)
    problems = [f.problem for f in diagnose(course, [assignment.id], download=False)]
    if problems:
        return not_graded("; ".join(problems), settings, student_id), "the grader's setup failed"
    submission, problem = find_notebook(course, assignment, root / "submission", student_id)
    if submission is None:  # the student's to fix: every test is reported as not run, with why
        missing = Submission(student_id, assignment.id, root / "submission" / assignment.notebook)
        results, _ = grade_submission(course, missing)
        results["output"] = problem
        return results, "no single notebook in the submission"
    results, _ = grade_submission(course, submission)
    return results, f"graded {submission.notebook.name}"


def write_once(root: Path, results: dict) -> None:
    from ..outputs.report import write_under

    write_under(root / "results", ["results.json"], json.dumps(results, indent=2, sort_keys=True) + "\n")


def prepare(root: Path, settings: dict) -> int:
    """setup.sh's last step: check the setup, and make the gradebook restoring uses."""
    from ..config import load
    from ..doctor import diagnose
    from ..engine.restore import gradebook_url

    os.environ.pop("COURSE_DATA_DIR", None)
    course = load(root / "source")
    assignment = course.assignment(settings["assignment"])
    findings = diagnose(course, [assignment.id], download=False)
    for finding in findings:
        print(f"error: {finding.problem}")
    gradebook_url(course, assignment)
    print("Ready to grade." if not findings else "Every submission will be a grader-error until this is fixed.")
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.scale.gradescope")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--prepare", action="store_true", help="check the setup once, from setup.sh")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    started = time.monotonic()
    settings = json.loads((root / "source" / "bundle.json").read_text())
    if args.prepare:
        return prepare(root, settings)
    try:
        results, note = grade(root, settings)
    except BaseException as error:  # still exactly one results.json, and nothing said against the student
        traceback.print_exc()
        results = not_graded(f"run_autograder failed ({type(error).__name__}: {error})", settings, student_of(root))
        note = "the grader failed"
    results = for_gradescope(results, settings.get("hidden_tests", "after_published"))
    write_once(root, results)
    extra = results["extra_data"]
    print(f"{settings['assignment']}: {note}; score {results['score']} of {results.get('max_score')}; "
          f"status {extra.get('status')} in {time.monotonic() - started:.1f} s")
    for line in extra.get("grader_errors", []) + extra.get("integrity", []):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
