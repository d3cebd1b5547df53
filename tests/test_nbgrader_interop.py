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
    """An nbgrader course folder: config, source, graders, and four submissions of 01_losses."""
    root = tmp_path_factory.mktemp("nbgrader_course")
    shutil.copy(course.root / "course.toml", root)
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


def test_course_grade_records_scores_in_nbgrader_gradebook(course, nbgrader_course):
    """After `course grade --nbgrader-db`, does `nbgrader export` list the same scores?"""
    root, env = nbgrader_course
    ours = course_scores(course, root, nbgrader_db=f"sqlite:///{root / 'gradebook.db'}")
    subprocess.run([BIN / "nbgrader", "export", "--to", str(root / "grades.csv")], cwd=root, env=env,
                   check=True, capture_output=True)
    with open(root / "grades.csv") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported == ours and len(ours) == len(STUDENTS)


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
        assert f"(Score: {float(ours[student])} / 19.0)" in page  # nbgrader's heading for the notebook
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
    subprocess.run([BIN / "nbgrader", "autograde", "01_losses", "--db", db], cwd=root, env=env,
                   check=True, capture_output=True)
    from nbgrader.api import Gradebook

    with Gradebook(db) as gradebook:
        theirs = {s.student.id: s.score for s in gradebook.find_assignment("01_losses").submissions}
    assert theirs == course_scores(course, root)
