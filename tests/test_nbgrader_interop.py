"""Does the course work with nbgrader as instructors use it: `nbgrader autograde` gives the scores
`course grade` gives, and `course grade` records its scores in nbgrader's gradebook?"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.grade import main as grade

STUDENTS = ["perfect", "sum-instead-of-mean", "tampers-with-assert-close", "untouched"]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def nbgrader_course(course, tmp_path_factory):
    """An nbgrader course folder as the README's "Grading with stock nbgrader" makes it: config (course.toml and
    nbgrader_config.py), source, graders, and four submissions of 01_losses."""
    root = tmp_path_factory.mktemp("nbgrader_course")
    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy(course.root / name, root)
    for folder in ("source", "autograder", "solutions"):
        shutil.copytree(course.path(folder), root / folder)
    for student in STUDENTS:
        shutil.copytree(course.path("examples", "submitted", student, "01_losses"), root / "submitted" / student / "01_losses")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([BIN / "nbgrader", "generate_assignment", "01_losses", "--force"], cwd=root, env=env,
                   check=True, capture_output=True)
    return root, env


def course_scores(course, root, **kw) -> dict:
    out = root / "course_out"
    grade(course=course, paths=[root / "submitted"], out_dir=out, jobs=2, force=True, **kw)
    return {p.parent.parent.name: json.loads(p.read_text())["score"] for p in out.glob("*/01_losses/results.json")}


@pytest.mark.slow
def test_course_grade_records_scores_in_nbgrader_gradebook(course, nbgrader_course):
    """After `course grade --nbgrader-db`, does `nbgrader export` list the same scores?"""
    root, env = nbgrader_course
    ours = course_scores(course, root, nbgrader_db=f"sqlite:///{root / 'gradebook.db'}")
    subprocess.run([BIN / "nbgrader", "export", "--to", str(root / "grades.csv")], cwd=root, env=env,
                   check=True, capture_output=True)
    with open(root / "grades.csv") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported == ours and len(ours) == len(STUDENTS)


@pytest.mark.slow
def test_nbgrader_generate_feedback_renders_course_grades(course, nbgrader_course):
    """After `course grade --nbgrader-dir`, does `nbgrader generate_feedback` write each student's
    feedback page with our score, our verdict on each test cell, and no hidden test code?"""
    root, env = nbgrader_course
    ours = course_scores(course, root, nbgrader_dir=root)
    subprocess.run([BIN / "nbgrader", "generate_feedback", "01_losses", "--force"], cwd=root, env=env,
                   check=True, capture_output=True)
    page_name = Path(course.assignment("01_losses").notebook).stem + ".html"
    pages = {p.parent.parent.name: p.read_text() for p in root.glob(f"feedback/*/01_losses/{page_name}")}
    assert sorted(pages) == sorted(STUDENTS)
    for student, page in pages.items():
        assert f"(Score: {float(ours[student])} / {course.assignment('01_losses').max_score})" in page  # nbgrader's heading for the notebook
        assert "HIDDEN TESTS" not in page and "_hidden_check" not in page
    assert "failed test_mse" in pages["sum-instead-of-mean"] and "sum instead of" in pages["sum-instead-of-mean"].lower()
    assert "failed" not in pages["perfect"] and "passed test_mse" in pages["perfect"]


@pytest.mark.slow
def test_nbgrader_autograde_gives_the_same_scores(course, nbgrader_course, tmp_path):
    """Run on the same course folder, does `nbgrader autograde` score each submission as
    `course grade` does, including one that patches torch.testing?"""
    root, env = nbgrader_course
    db = f"sqlite:///{tmp_path / 'autograde.db'}"
    subprocess.run([BIN / "nbgrader", "generate_assignment", "01_losses", "--force", "--db", db], cwd=root, env=env,
                   check=True, capture_output=True)
    # --force: the tests before this one left `course grade --nbgrader-dir`'s autograded/ folders, which
    # nbgrader would otherwise skip as already graded.
    subprocess.run([BIN / "nbgrader", "autograde", "01_losses", "--force", "--db", db], cwd=root, env=env,
                   check=True, capture_output=True)
    from nbgrader.api import Gradebook

    with Gradebook(db) as gradebook:
        theirs = {s.student.id: s.score for s in gradebook.find_assignment("01_losses").submissions}
    assert theirs == course_scores(course, root)


@pytest.mark.slow
def test_formgrader_needs_manual_grade_lists_only_the_reflection(course, tmp_path):
    """After `course grade --nbgrader-dir`, does nbgrader's own gradebook (what formgrader lists under
    "needs manual grade") hold only 03's written reflection: no auto-graded test cell, and no 01 submission?"""
    root = tmp_path / "nbgrader_course"
    root.mkdir()
    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy(course.root / name, root)
    for folder in ("source", "autograder", "solutions"):
        shutil.copytree(course.path(folder), root / folder)
    for assignment in ("01_losses", "03_mnist_optimizers"):
        shutil.copytree(course.path("examples", "submitted", "perfect", assignment), root / "submitted" / "perfect" / assignment)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for assignment in ("01_losses", "03_mnist_optimizers"):
        subprocess.run([BIN / "nbgrader", "generate_assignment", assignment, "--force"], cwd=root, env=env,
                       check=True, capture_output=True)
    run = grade(course=course, paths=[root / "submitted"], out_dir=root / "course_out", jobs=2, force=True,
                nbgrader_dir=root)
    assert run.exit_status == 0 and len(run.graded) == 2
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        manual = {(a, g.name) for a in ("01_losses", "03_mnist_optimizers")
                  for notebook in gradebook.find_submission(a, "perfect").notebooks
                  for g in notebook.grades if g.needs_manual_grade}
        needing = {a: gradebook.find_submission(a, "perfect").needs_manual_grade for a in ("01_losses", "03_mnist_optimizers")}
    assert manual == {("03_mnist_optimizers", "reflection")}
    assert needing == {"01_losses": False, "03_mnist_optimizers": True}
