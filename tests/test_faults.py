"""Does `course grade` survive what a class hands in? Each fault is planted in an otherwise perfect
01_losses notebook and graded in one batch with a perfect one, under short limits.

For every fault: the tests that can still run are run and scored, what could not run is scored 0
with one clear reason, the rest of the batch is graded normally, and the wall time stays within
the limits plus a few seconds.
"""
import json

import nbformat
import pytest

from course.config import load
from course.grade import main as grade
from faults_lib import BROKEN_FILES, FAULTS, FULL, fault_course, feedback, folder_of, perfect_notebook


@pytest.fixture(scope="module")
def graded_faults(course, tmp_path_factory):
    small, submitted = fault_course(course, tmp_path_factory.mktemp("course"))
    nbformat.write(perfect_notebook(course), str(folder_of(submitted, "wrong-name") / "losses (1).ipynb"))
    out = submitted.parent / "out"
    gradebook = grade(course=small, paths=[submitted], out_dir=out, jobs=2).gradebook
    results = {p.parent.parent.name: json.loads(p.read_text()) for p in out.glob("*/01_losses/results.json")}
    return small, results, gradebook, out


@pytest.mark.parametrize("name", FAULTS)
def test_fault_is_graded_with_a_reason(graded_faults, name):
    """Are the tests that can still run scored, and the fault named in one line of feedback?"""
    course, results, _, out = graded_faults
    _, score, phrase = FAULTS[name]
    assert results[name]["score"] == score, results[name]["output"]
    assert phrase in feedback(out, name)
    assert "Traceback" not in feedback(out, name)
    limits = course.assignment("01_losses").limits
    assert results[name]["execution_time"] <= limits.notebook_timeout + 10


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_broken_file_scores_zero_with_a_reason(graded_faults, name):
    """Is a file that is not a notebook graded 0 with every test reported and the reason said?"""
    _, results, _, out = graded_faults
    assert results[name]["score"] == 0
    assert results[name]["extra_data"]["status"] == "not a notebook"
    assert len(results[name]["tests"]) == len(load_tests())
    assert BROKEN_FILES[name][1] in feedback(out, name)


def load_tests():
    from conftest import ROOT

    return load(ROOT).assignment("01_losses").tests


def test_wrong_file_name_is_graded_with_a_note(graded_faults):
    _, results, _, out = graded_faults
    assert results["wrong-name"]["score"] == FULL
    assert "not losses.ipynb" in feedback(out, "wrong-name")


def test_rest_of_batch_is_graded_normally(graded_faults):
    """Does the perfect submission graded beside every fault still get full marks, and the
    gradebook list every submission?"""
    _, results, gradebook, _ = graded_faults
    assert results["perfect"]["score"] == FULL
    assert results["perfect"]["output"] == "Your notebook ran without problems."
    assert len(gradebook.strip().splitlines()) == 1 + len(FAULTS) + len(BROKEN_FILES) + 2


def test_grader_failures_are_never_a_students_score(course, monkeypatch):
    """When restoring the locked cells fails, is the submission still graded, with the reason said? When
    the grader's own side fails (its kernel, a crashing reference), is it a `grader-error`: no score, no
    test charged, nothing said against the student's work, and the reason kept for the instructor?"""
    import course.grade as grading
    import solutions.losses
    from course.intake.collect import Submission

    perfect = Submission("perfect", "01_losses", course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"))

    def broken(*args, **kwargs):
        raise RuntimeError("no kernel today")

    with monkeypatch.context() as patch:
        patch.setattr(grading, "restore", broken)
        results, _ = grading.grade_submission(course, perfect)
    assert results["score"] == FULL and results["extra_data"]["status"] == "graded"
    assert "Locked cells could not be checked against the release (RuntimeError)." in results["output"]

    for target, name in ((grading, "execute"), (solutions.losses, "mse")):  # the engine; the reference
        with monkeypatch.context() as patch:
            patch.setattr(target, name, broken)
            results, graded = grading.grade_submission(course, perfect)
        extra = results["extra_data"]
        assert extra["status"] == "grader-error" and results["score"] is None and results["tests"] == []
        assert "no kernel today" in extra["grader_errors"][0] and extra["fingerprint"] == ""
        assert "not one in your work" in results["output"] and graded is None
