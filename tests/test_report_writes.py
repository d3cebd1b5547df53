"""Can a symlink planted in the output folder redirect the grader's writes, and does grades.csv show integrity flags?"""
import csv
import io
import json
import os
from types import SimpleNamespace

import nbformat
import pytest

from course.outputs import report
from course.outputs.report import (AUTOGRADED, FEEDBACK, FEEDBACK_PAGE, GRADEBOOK, RESULTS, UnsafePath, read_results,
                           write_gradebook, write_submission, write_under)

FLAG = "cell 4: assigns to torch.Tensor.argmax"


def results(student="alice", assignment="01_losses", integrity=None) -> dict:
    extra = {"student_id": student, "assignment": assignment, "status": "ran", "mistakes": []}
    if integrity is not None:
        extra["integrity"] = integrity
    return {
        "score": 1.0, "max_score": 2.0, "output": "Your notebook ran without problems.",
        "tests": [{"name": "test_a", "score": 1.0, "max_score": 1.0, "status": "passed", "output": "a"},
                  {"name": "test_b", "score": 0.0, "max_score": 1.0, "status": "failed", "output": "b"}],
        "extra_data": extra,
    }


@pytest.fixture
def home(tmp_path):
    """A folder standing for the grader's HOME, holding a file an attacker would like overwritten."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / ".bashrc").write_text("original\n")
    return folder


def untouched(home) -> bool:
    return sorted(p.name for p in home.iterdir()) == [".bashrc"] and (home / ".bashrc").read_text() == "original\n"


def assert_one_sentence(error):
    message = str(error.value)
    assert "\n" not in message and message.endswith(".") and "symlink" in message


def test_symlinked_student_folder_is_refused(tmp_path, home):
    """Is a symlink at out/<student> refused, with nothing written where it points?"""
    out = tmp_path / "out"
    out.mkdir()
    (out / "alice").symlink_to(home, target_is_directory=True)
    with pytest.raises(UnsafePath) as error:
        write_submission(out, results(), "Day 5")
    assert_one_sentence(error)
    assert untouched(home)


def test_symlinked_assignment_folder_is_refused(tmp_path, home):
    """Is a symlink at out/<student>/<assignment> refused, with nothing written where it points?"""
    out = tmp_path / "out"
    (out / "alice").mkdir(parents=True)
    (out / "alice" / "01_losses").symlink_to(home, target_is_directory=True)
    with pytest.raises(UnsafePath) as error:
        write_submission(out, results(), "Day 5")
    assert_one_sentence(error)
    assert untouched(home)


def test_symlinked_results_file_is_replaced_not_followed(tmp_path, home):
    """Is a symlink at results.json replaced by a regular file, its target left as it was?"""
    folder = tmp_path / "out" / "alice" / "01_losses"
    folder.mkdir(parents=True)
    (folder / RESULTS).symlink_to(home / ".bashrc")
    (folder / FEEDBACK).symlink_to(home / ".bashrc")
    write_submission(tmp_path / "out", results(), "Day 5")
    assert not (folder / RESULTS).is_symlink() and json.loads((folder / RESULTS).read_text())["score"] == 1.0
    assert not (folder / FEEDBACK).is_symlink()
    assert untouched(home)


def test_a_file_where_a_folder_goes_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "alice").write_text("not a folder")
    with pytest.raises(UnsafePath) as error:
        write_submission(out, results(), "Day 5")
    assert "not a folder" in str(error.value)


@pytest.mark.parametrize("student", ["", ".", "..", "a/b", "a\0b"])
def test_unsafe_ids_are_refused(tmp_path, student):
    """Are student ids that are not one plain name refused before anything is written?"""
    with pytest.raises(UnsafePath):
        write_submission(tmp_path / "out", results(student=student), "Day 5")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_normal_writes_work(tmp_path):
    """Does a normal submission still get feedback.md and .html, the graded notebook and results.json, and no stray files?"""
    out = tmp_path / "out"
    folder = write_submission(out, results(), "Day 5", nbformat.v4.new_notebook(), "losses.ipynb")
    assert folder == (out / "alice" / "01_losses").resolve()
    assert sorted(p.name for p in folder.iterdir()) == sorted([FEEDBACK, FEEDBACK_PAGE, RESULTS, "losses.ipynb"])
    write_submission(out, results(), "Day 5")  # a re-grade replaces the files in place
    assert read_results(out) == [results()]


def test_output_folder_may_be_named_through_a_symlink(tmp_path):
    """Is the output folder the user names resolved once, so a symlinked --out still works?"""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    write_submission(tmp_path / "link", results(), "Day 5")
    assert (real / "alice" / "01_losses" / RESULTS).is_file()


def test_read_results_skips_symlinked_folders_and_files(tmp_path, home):
    """Are results reached through a symlinked folder, a symlinked file or a FIFO left out of the gradebook?"""
    out = tmp_path / "out"
    write_submission(out, results(), "Day 5")
    planted = home / "01_losses"
    planted.mkdir()
    (planted / RESULTS).write_text(json.dumps(results(student="mallory")))
    (out / "mallory").symlink_to(home, target_is_directory=True)
    (out / "bob" / "01_losses").mkdir(parents=True)
    (out / "bob" / "01_losses" / RESULTS).symlink_to(planted / RESULTS)
    (out / "carol" / "01_losses").mkdir(parents=True)
    os.mkfifo(out / "carol" / "01_losses" / RESULTS)  # must not hang the grader
    assert [r["extra_data"]["student_id"] for r in read_results(out)] == ["alice"]


def test_nbgrader_autograded_copy_follows_no_symlink(tmp_path, home):
    """Is a symlink below the nbgrader folder's autograded/ refused, as record_in_nbgrader copies there?"""
    nbgrader_dir = tmp_path / "nbgrader"
    (nbgrader_dir / AUTOGRADED).mkdir(parents=True)
    (nbgrader_dir / AUTOGRADED / "alice").symlink_to(home, target_is_directory=True)
    with pytest.raises(UnsafePath):
        write_under(nbgrader_dir, [AUTOGRADED, "alice", "01_losses", "losses.ipynb"], b"{}")
    assert untouched(home)


def test_gradebook_has_integrity_column(tmp_path):
    """Does grades.csv say "N flagged" after status, and nothing for clean or older results?"""
    out = tmp_path / "out"
    write_submission(out, results("alice", integrity=[]), "Day 5")
    write_submission(out, results("bob", integrity=[FLAG, "cell 5: imports ctypes (ctypes)"]), "Day 5")
    write_submission(out, results("carol"), "Day 5")  # graded before the scan existed
    rows = list(csv.DictReader(io.StringIO(write_gradebook(out))))
    assert list(rows[0]) == ["student_id", "assignment", "score", "max_score", "status", "integrity"]
    assert {r["student_id"]: r["integrity"] for r in rows} == {"alice": "", "bob": "2 flagged", "carol": ""}
    assert (out / GRADEBOOK).read_text() == write_gradebook(out)


def test_students_never_see_the_flags(tmp_path):
    """Do feedback.md and the graded notebook leave the integrity flags out?"""
    flagged = results(integrity=[FLAG])
    assert "argmax" not in report.feedback_markdown(flagged, "Day 5")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    execution = SimpleNamespace(outputs={}, faults={})
    assert "argmax" not in nbformat.writes(report.graded_notebook(notebook, execution, flagged))
