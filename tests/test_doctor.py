"""The instructor's mistakes are never the student's grade: `course doctor` checks the grader's setup, and
`course grade` stops before any kernel starts where that setup is wrong, with one sentence, a non-zero exit
status, no score written and nothing created on the host."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from course import doctor

BIN = Path(sys.executable).parent
PERFECT_01 = ("examples", "submitted", "perfect", "01_losses", "losses.ipynb")
PERFECT_03 = ("examples", "submitted", "perfect", "03_mnist_optimizers", "mnist_optimizers.ipynb")


def course_cli(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "course"), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=600)


def rows(out: Path) -> list[dict]:
    path = out / "grades.csv"
    return list(csv.DictReader(io.StringIO(path.read_text()))) if path.exists() else []


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def typo_course(course, tmp_path):
    """A course folder whose course.toml misspells one of 01's test names; everything else is the course's."""
    root = tmp_path / "course"
    root.mkdir()
    for folder in ("source", "release", "autograder", "solutions", "examples"):
        (root / folder).symlink_to(course.path(folder))
    text = (course.root / "course.toml").read_text()
    assert "test_mae_matches_reference = " in text
    (root / "course.toml").write_text(text.replace("test_mae_matches_reference = ", "test_mae_matches_refrence = ", 1))
    return root


def test_doctor_passes_on_this_course(course):
    """Does `course doctor` find nothing wrong with the course as shipped, with the data of CI?"""
    assert doctor.diagnose(course) == []
    result = course_cli("doctor")
    assert result.returncode == 0 and "Ready to grade." in result.stdout, result.stdout + result.stderr


def test_missing_data_is_one_sentence_and_creates_nothing(course, tmp_path):
    """COURSE_DATA_DIR naming a folder that does not exist: does the doctor say so, naming the variable, and
    leave the folder uncreated (the grader never creates a folder it was told to read)?"""
    nowhere = tmp_path / "nowhere"
    result = course_cli("doctor", env={"COURSE_DATA_DIR": str(nowhere)})
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if "reads MNIST" in line]
    assert len(failed) == 1 and "COURSE_DATA_DIR" in failed[0] and "does not exist" in failed[0]
    assert not nowhere.exists()


def test_incomplete_data_is_caught_by_size_and_md5(tmp_path):
    """A truncated file, or one of the right size with other bytes, is not the official MNIST."""
    shared = Path(os.environ["COURSE_DATA_DIR"]) / "MNIST" / "raw"
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in doctor.MNIST_FILES:
        (raw / name).symlink_to(shared / name)
    assert doctor.dataset_problem(tmp_path, "MNIST") == ""
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0" * 100)
    assert "has 100 bytes, not 10008" in doctor.dataset_problem(tmp_path, "MNIST")
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0" * 10008)
    assert "MD5" in doctor.dataset_problem(tmp_path, "MNIST")


def test_course_data_dir_without_network_leaves_no_folder(course, tmp_path, monkeypatch):
    """With no COURSE_DATA_DIR, the course's own data_dir is where MNIST is downloaded once. Where that
    fails (no network), is it one sentence naming data_dir and COURSE_DATA_DIR, with no folder left behind?
    Where a network is reachable, the download must give the official files."""
    monkeypatch.delenv("COURSE_DATA_DIR")
    own = replace(course, data_dir=tmp_path / "data")
    problems = doctor.data(own, own.assignment("03_mnist_optimizers"))
    if problems:
        assert len(problems) == 1 and "data_dir" in problems[0] and "COURSE_DATA_DIR" in problems[0]
        assert not (tmp_path / "data").exists()
    else:
        assert doctor.dataset_problem(tmp_path / "data", "MNIST") == ""


def test_a_test_name_typo_stops_that_assignment_before_any_kernel(typo_course, course, tmp_path):
    """A misspelled test name in course.toml: does the doctor name it and the near name, does release refuse,
    and does grading refuse that assignment (exit 1, no row with a score) while saying why?"""
    found = doctor.diagnose(course_of(typo_course), ["01_losses"], grading=False)
    assert [f.scope for f in found] == ["01_losses", "01_losses"]
    assert "did you mean test_mae_matches_reference?" in found[0].problem
    assert "test_mae_matches_reference, which course.toml" in found[1].problem

    released = course_cli("--course-dir", typo_course, "release", "01_losses", "--check")
    assert released.returncode == 2 and "did you mean test_mae_matches_reference?" in released.stderr

    out = tmp_path / "out"
    graded = course_cli("--course-dir", typo_course, "grade", course.path(*PERFECT_01), "--assignment", "01_losses",
                        "--out", out, "--jobs", "1")
    assert graded.returncode == 1, graded.stderr
    assert "the grader's setup for 01_losses failed" in graded.stderr and "did you mean" in graded.stderr
    assert not [r for r in rows(out) if r["score"]]


def course_of(root):
    from course.config import load

    return load(root)


@pytest.mark.parametrize("args,sentence", [
    (["--jobs", "0"], "--jobs 0: give at least 1"),
    (["--jobs", "-3"], "--jobs -3: give at least 1"),
    (["--out", "/etc/hostname"], "is a file, not a folder"),
    (["--assignment", "01_loses"], "did you mean 01_losses?"),
])
def test_bad_arguments_are_refused_up_front(course, tmp_path, args, sentence):
    """Does each bad argument get one sentence and exit status 2, before anything is graded or written?"""
    out = tmp_path / "out"
    base = ["grade", course.path(*PERFECT_01), "--out", out]
    result = course_cli(*base, *args)
    assert result.returncode == 2
    assert len(error_lines(result)) == 1 and sentence in error_lines(result)[0], result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_missing_or_empty_submissions_are_not_a_success(tmp_path):
    """A path that does not exist: exit 2, one sentence. An empty folder: nothing graded, exit 1, no gradebook."""
    out = tmp_path / "out"
    missing = course_cli("grade", tmp_path / "nope", "--out", out)
    assert missing.returncode == 2 and "nope does not exist" in error_lines(missing)[0]
    (tmp_path / "empty").mkdir()
    empty = course_cli("grade", tmp_path / "empty", "--out", out)
    assert empty.returncode == 1 and "holds no notebooks" in empty.stderr and "Nothing was graded." in empty.stderr
    assert not out.exists()


def test_data_missing_for_one_assignment_grades_the_others(course, tmp_path):
    """A class run where MNIST is missing: 01 is graded, 03 is not graded and said so (not a score of 2/19),
    the run exits non-zero, every submission is in the table, and the data folder is not created."""
    submitted = tmp_path / "submitted"
    for student, parts in (("amy", PERFECT_01), ("amy", PERFECT_03), ("bob", PERFECT_01)):
        target = submitted / student / parts[3] / parts[4]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(course.path(*parts), target)
    (submitted / "cid" / "01_loses").mkdir(parents=True)  # a misspelled assignment folder: not a student
    shutil.copy(course.path(*PERFECT_01), submitted / "cid" / "01_loses" / "losses.ipynb")
    nowhere, out = tmp_path / "nowhere", tmp_path / "out"
    result = course_cli("grade", submitted, "--out", out, "--jobs", "2", env={"COURSE_DATA_DIR": str(nowhere)})
    assert result.returncode == 1, result.stderr
    graded = {(r["student_id"], r["assignment"]): r for r in rows(out)}
    full = f"{course.assignment('01_losses').max_score:g}"
    assert {k: r["score"] for k, r in graded.items()} == {("amy", "01_losses"): full, ("bob", "01_losses"): full}
    assert "amy/03_mnist_optimizers/mnist_optimizers.ipynb: not graded, the grader's setup for 03_mnist_optimizers" \
        in result.stderr
    assert "01_loses: no such assignment; did you mean 01_losses?" in result.stderr
    assert "01_losses                      2" in result.stderr  # the accounting table
    assert not nowhere.exists() and not (out / "amy" / "03_mnist_optimizers").exists()


def test_grader_error_has_no_score_and_is_graded_again(course, tmp_path, monkeypatch):
    """A grader-side failure: status grader-error, an empty score in grades.csv, feedback that does not blame
    the student, a non-zero exit status; the next run grades it again without --force."""
    import course.grade as grading
    from course.grade import main

    submitted = tmp_path / "submitted" / "amy" / "01_losses"
    submitted.mkdir(parents=True)
    shutil.copy(course.path(*PERFECT_01), submitted / "losses.ipynb")
    out = tmp_path / "out"
    real = grading.judge

    def broken(*args, **kwargs):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(grading, "judge", broken)
    run = main(course=course, paths=[tmp_path / "submitted"], out_dir=out, jobs=1)
    assert run.exit_status == 1 and [s.student_id for s, _ in run.grader_errors] == ["amy"]
    assert rows(out) == [{"student_id": "amy", "assignment": "01_losses", "score": "",
                          "max_score": f"{course.assignment('01_losses').max_score:g}", "status": "grader-error",
                          "integrity": ""}]
    feedback = (out / "amy" / "01_losses" / "feedback.md").read_text()
    assert "not one in your work" in feedback and "grader bug" not in feedback and "❌" not in feedback
    assert "grader bug" in json.loads((out / "amy" / "01_losses" / "results.json").read_text())["extra_data"]["grader_errors"][0]

    monkeypatch.setattr(grading, "judge", real)
    run = main(course=course, paths=[tmp_path / "submitted"], out_dir=out, jobs=1)
    assert run.exit_status == 0 and [s.student_id for s in run.graded] == ["amy"]
    assert rows(out)[0]["status"] == "graded" and float(rows(out)[0]["score"]) == course.assignment("01_losses").max_score
