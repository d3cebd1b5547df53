"""The README's "Grading with stock nbgrader", step by step, from fresh course folders: `nbgrader
autograde` of example submissions (03 on real MNIST, the one shared copy in COURSE_DATA_DIR) gives the
scores `course grade` gives, the same tests lose points, only 03's written reflection is left for a
person, and stock `nbgrader generate_feedback` never shows the hidden bridge's lines to the student.

The slow set (CI) runs a sample that covers each assignment's outcomes (full marks, nothing written, a
tampered assertion, a forbidden builtin, wrong answers that lose different tests); `-m exhaustive`
(`make test-all`) runs every example, about 20 minutes on 2 cores, and prints the agreement the README
quotes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ASSIGNMENTS = ("01_losses", "02_gradient_descent", "03_mnist_optimizers")
HIDDEN_LINES = ("_hidden_check", "nbgrader_bridge", "BEGIN HIDDEN TESTS")


def run(args, cwd, env, timeout=3600):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result


def stock_env() -> dict:
    """README step 2: the environment that has this package, the one shared copy of MNIST, and one
    thread per kernel (as `course grade` runs them)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "COURSE_DATA_DIR": os.environ["COURSE_DATA_DIR"], "OMP_NUM_THREADS": "1"}


FOLDER_SIZE = 11  # submissions per course folder: folders autograde at the same time


def course_folder(course, root: Path, assignment: str, students: list[str]) -> None:
    """README step 1 and 5: a fresh course folder holding the course's files and these students'
    example submissions of `assignment`."""
    root.mkdir(parents=True)
    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy(course.root / name, root)
    for folder in ("source", "autograder", "solutions"):
        shutil.copytree(course.path(folder), root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for student in students:
        shutil.copytree(course.path("examples", "submitted", student, assignment), root / "submitted" / student / assignment)


def examples_of(course, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in course.path("examples", "submitted").glob(f"*/{assignment}"))


def reflection(course, assignment: str, student: str | None) -> str | None:
    """The source of the notebook's manually graded "reflection" cell: the student's, or the release's."""
    nb_name = course.assignment(assignment).notebook
    path = (course.path("release", assignment, nb_name) if student is None
            else course.path("examples", "submitted", student, assignment, nb_name))
    cells = json.loads(path.read_text())["cells"]
    return next((c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                 for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "reflection"), None)


def nbgrader_grades(root: Path, assignment: str, env: dict) -> dict:
    """README steps 3, 4 and 5 in `root`, then generate_feedback; what the gradebook holds per
    student, with the wall time of `nbgrader autograde`."""
    for each in ASSIGNMENTS:  # `course doctor` checks every assignment's release
        run([BIN / "nbgrader", "generate_assignment", each, "--force"], root, env)
    run([BIN / "course", "doctor", "--unsafe-no-isolation"], root, env)
    start = time.perf_counter()
    run([BIN / "nbgrader", "autograde", assignment], root, env)
    seconds = time.perf_counter() - start
    run([BIN / "nbgrader", "generate_feedback", assignment], root, env)
    from nbgrader.api import Gradebook

    scores, lost, manual = {}, {}, set()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for submission in gradebook.find_assignment(assignment).submissions:
            student = submission.student.id
            grades = [g for notebook in submission.notebooks for g in notebook.grades]
            manual |= {(student, g.name) for g in grades if g.needs_manual_grade}
            auto = [g for g in grades if not g.needs_manual_grade and g.cell_type == "code"]
            scores[student] = sum(g.score for g in auto)
            lost[student] = sorted(g.name for g in auto if g.score < g.max_score)
    return {"scores": scores, "lost": lost, "manual": manual, "seconds": seconds}


def course_grades(graded_examples, assignment: str, students: list[str]) -> dict:
    """`course grade --jobs 2` of the same submissions (the session's grading of every example):
    scores and the tests that lost points."""
    results = {s: graded_examples[(s, assignment)] for s in students}
    return {"scores": {s: r["score"] for s, r in results.items()},
            "lost": {s: sorted(t["name"] for t in r["tests"] if t["score"] < t["max_score"]) for s, r in results.items()}}


def hidden_lines_in_feedback(root: Path) -> list[str]:
    return [f"{page.relative_to(root)}: {line}" for page in sorted((root / "feedback").rglob("*.html"))
            for line in HIDDEN_LINES if line in page.read_text()]


def merged(parts: list[dict]) -> dict:
    return {"scores": {k: v for p in parts for k, v in p["scores"].items()},
            "lost": {k: v for p in parts for k, v in p["lost"].items()},
            "manual": set().union(*[p["manual"] for p in parts]), "seconds": sum(p["seconds"] for p in parts)}


# The slow set's sample: per assignment, full marks, nothing written, and mistakes that lose different
# tests (01: a tampered assert_close and a forbidden builtin, which nbgrader must score as we do).
SAMPLE = {
    "01_losses": ["perfect", "untouched", "tampers-with-assert-close", "forbidden-builtin", "sum-instead-of-mean"],
    "02_gradient_descent": ["perfect", "untouched", "grad-not-zeroed", "adam-no-bias-correction"],
    "03_mnist_optimizers": ["perfect", "untouched", "scheduler-per-batch", "evaluate-in-train-mode"],
}


@pytest.mark.parametrize("which", [pytest.param("sample", marks=pytest.mark.slow),
                                   pytest.param("every example", marks=pytest.mark.exhaustive)])
def test_stock_nbgrader_grades_examples_as_course_grade_does(course, graded_examples, tmp_path, which):
    env = stock_env()
    students = {a: SAMPLE[a] if which == "sample" else examples_of(course, a) for a in ASSIGNMENTS}
    assert all(set(students[a]) <= set(examples_of(course, a)) for a in ASSIGNMENTS), "a sampled example is gone"
    # Course folders of at most FOLDER_SIZE submissions, autograded at the same time (nbgrader grades
    # one notebook at a time in a folder).
    folders = [(a, tmp_path / f"{a}-{i}", students[a][i:i + FOLDER_SIZE])
               for a in ASSIGNMENTS for i in range(0, len(students[a]), FOLDER_SIZE)]
    for a, root, chunk in folders:
        course_folder(course, root, a, chunk)
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:  # two folders at once, whatever the host's core count
        parts = list(pool.map(lambda f: (f[0], f[1], nbgrader_grades(f[1], f[0], env)), folders))
    wall = time.perf_counter() - start
    theirs = {a: merged([p for b, _, p in parts if b == a]) for a in ASSIGNMENTS}
    ours = {a: course_grades(graded_examples, a, students[a]) for a in ASSIGNMENTS}

    total = sum(len(students[a]) for a in ASSIGNMENTS)
    print(f"nbgrader: {len(folders)} folders, 2 at a time, {wall:.0f} s for {total} submissions ({wall / total:.1f} s each)")
    for a in ASSIGNMENTS:  # the figures the README quotes
        n = len(students[a])
        agree = sum((theirs[a]["scores"].get(s), theirs[a]["lost"].get(s)) == (ours[a]["scores"][s], ours[a]["lost"][s])
                    for s in students[a])
        print(f"{a}: {n} examples, {agree} agree; nbgrader autograde {theirs[a]['seconds'] / n:.1f} s per "
              "submission (in its folder)")
    for a in ASSIGNMENTS:
        disagree = {s: (theirs[a]["scores"].get(s), ours[a]["scores"][s], theirs[a]["lost"].get(s), ours[a]["lost"][s])
                    for s in students[a] if (theirs[a]["scores"].get(s), theirs[a]["lost"].get(s))
                    != (ours[a]["scores"][s], ours[a]["lost"][s])}
        assert not disagree, f"{a}: nbgrader vs course grade (score, score, lost, lost): {disagree}"
        assert len(theirs[a]["scores"]) == len(students[a]) > 0
        assert ours[a]["scores"]["perfect"] == course.assignment(a).max_score > min(ours[a]["scores"].values())
        # nbgrader's determine_grade: an answer cell left as released (its checksum unchanged) scores 0,
        # "No response.", with no person needed; every other written reflection waits for a person.
        released = reflection(course, a, None)
        answered = {s for s in students[a] if reflection(course, a, s) != released}
        expected_manual = {(s, "reflection") for s in answered} if a == "03_mnist_optimizers" else set()
        assert theirs[a]["manual"] == expected_manual
        assert a != "03_mnist_optimizers" or "untouched" not in answered and "perfect" in answered
    for a, root, chunk in folders:
        assert not any((root / "autograded").rglob("MNIST")), "no submission downloads its own copy of MNIST"
        assert len(list((root / "feedback").rglob("*.html"))) == len(chunk)
        assert not hidden_lines_in_feedback(root), hidden_lines_in_feedback(root)
