"""Does the `course` command answer every user error with one sentence and no traceback?"""
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = [str(Path(sys.executable).parent / "course")]


def run(*args, cwd=None):
    return subprocess.run(COURSE + list(args), capture_output=True, text=True, cwd=cwd, timeout=300)


def test_release_check_passes(course):
    """Is the committed release/ exactly what `course release` generates now (exit 0, "in sync")?"""
    result = run("--course-dir", str(course.root), "release", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in sync" in result.stdout


@pytest.mark.parametrize("args,expected", [
    (["--course-dir", "/nonexistent", "release"], "does not exist"),
    (["release", "99_nope"], "no assignment '99_nope'"),
    (["grade", "/no/such/submissions", "--out", "OUT"], "/no/such/submissions does not exist"),
])
def test_user_errors_are_one_sentence(course, tmp_path, args, expected):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    result = run(*args, cwd=course.root)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_config_key_is_one_sentence(course, tmp_path):
    (tmp_path / "course.toml").write_text((course.root / "course.toml").read_text().replace("[limits]", "[limits]\nspeed = 3", 1))
    result = run("--course-dir", str(tmp_path), "release")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: course.toml: unknown key 'limits.speed' (known: cell_timeout, notebook_timeout, memory_mb, threads, output_kb)."


def test_grade_prints_the_gradebook(course, tmp_path):
    """Does `course grade` on one notebook print grades.csv and exit 0, whatever the score?"""
    notebook = course.path("examples", "submitted", "untouched", "01_losses", "losses.ipynb")
    result = run("grade", str(notebook), "--out", str(tmp_path / "out"), "--jobs", "1", cwd=course.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("student_id,assignment,score,max_score")
    assert "01_losses,0," in result.stdout
