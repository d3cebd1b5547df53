"""Does `course grade` survive what a class hands in? Each fault is planted in an otherwise perfect
01_losses notebook and graded in one batch with a perfect one, under short limits.

For every fault: the tests that can still run are run and scored, what could not run is scored 0
with one clear reason, the rest of the batch is graded normally, and the wall time stays within
the limits plus a few seconds.
"""
import json
import shutil

import nbformat
import pytest

from course.config import load
from course.grade import main as grade

LIMITS = "[assignments.01_losses.limits]\ncell_timeout = 6\nnotebook_timeout = 60\noutput_kb = 64\n"
FULL = 19


def cell_index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def append_to(grade_id, code):
    def plant(nb):
        nb.cells[cell_index(nb, grade_id)].source += "\n\n" + code
    return plant


def insert_after(grade_id, code):
    def plant(nb):
        nb.cells.insert(cell_index(nb, grade_id) + 1, nbformat.v4.new_code_cell(code))
    return plant


def prepend_to(grade_id, code):
    def plant(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = code + "\n\n" + cell.source
    return plant


def delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def edit_locked_cells(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and cell.cell_type == "code":
            cell.source = "pass  # edited by the student"


def duplicate_and_reorder(nb):
    nb.cells.append(nb.cells[cell_index(nb, "mse_mae")])
    quiz = nb.cells.pop(cell_index(nb, "quiz"))
    nb.cells.insert(0, quiz)


# name -> (how to plant it, expected score, a phrase the feedback must contain)
FAULTS = {
    "infinite-loop": (append_to("mse_mae", "while True:\n    pass"), FULL, "timed out after 6 s"),
    "endless-function": (append_to("mse_mae", "def mse_manual(pred, target):\n    while True:\n        pass"),
                         FULL - 2, "TimeoutError"),
    "memory-bomb": (insert_after("mse_mae", "hog = []\nwhile True:\n    hog.append(torch.ones(10**9))  # 4 GB a step"),
                    FULL, "can't allocate memory"),
    "sys-exit": (insert_after("imports", "import sys\nsys.exit(3)"), FULL, "SystemExit"),
    "os-exit": (insert_after("imports", "import os\nos._exit(1)"), FULL, "stopped the kernel"),
    "kernel-killed": (insert_after("bce", "import os\nos.kill(os.getpid(), 9)"), FULL, "stopped the kernel"),
    "exception-in-cell": (prepend_to("bce", "raise ValueError('half-finished idea')"), FULL - 4, "raised ValueError: half-finished idea"),
    "prints-100mb": (insert_after("imports", "print('x' * 100_000_000)"), FULL, "the rest was cut"),
    "deletes-its-folder": (insert_after("imports", "import os, shutil\nshutil.rmtree(os.path.abspath('..'), ignore_errors=True)"),
                           FULL, "ran without problems"),
    "test-cells-deleted": (delete_test_cells, FULL, "was missing; it was put back"),
    "locked-cells-edited": (edit_locked_cells, FULL, "was changed"),
    "duplicated-and-reordered": (duplicate_and_reorder, FULL, ""),
}
BROKEN_FILES = {"not-json": ("{ this is not json", "not a valid notebook"), "empty-file": ("", "is empty")}


@pytest.fixture(scope="module")
def graded_faults(course, tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for folder in ("source", "release", "autograder", "solutions"):
        shutil.copytree(course.path(folder), root / folder)
    (root / "course.toml").write_text((course.root / "course.toml").read_text().replace(
        "[assignments.01_losses.limits]\n", LIMITS.replace("[assignments.01_losses.limits]\n", "[assignments.01_losses.limits]\n", 1), 1)
        .replace("cell_timeout = 30\nnotebook_timeout = 120\n", "", 1))
    small = load(root)
    assert small.assignment("01_losses").limits.cell_timeout == 6

    perfect = nbformat.read(course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"), as_version=4)
    submitted = root / "submitted"
    for name, (plant, _, _) in FAULTS.items():
        notebook = nbformat.from_dict(json.loads(json.dumps(perfect)))
        plant(notebook)
        (submitted / name / "01_losses").mkdir(parents=True)
        nbformat.write(notebook, str(submitted / name / "01_losses" / "losses.ipynb"))
    for name, (text, _) in BROKEN_FILES.items():
        (submitted / name / "01_losses").mkdir(parents=True)
        (submitted / name / "01_losses" / "losses.ipynb").write_text(text)
    (submitted / "wrong-name" / "01_losses").mkdir(parents=True)
    nbformat.write(perfect, str(submitted / "wrong-name" / "01_losses" / "losses (1).ipynb"))
    (submitted / "perfect" / "01_losses").mkdir(parents=True)
    nbformat.write(perfect, str(submitted / "perfect" / "01_losses" / "losses.ipynb"))

    out = root / "out"
    gradebook, problems = grade(course=small, paths=[submitted], out_dir=out, jobs=2)
    results = {p.parent.parent.name: json.loads(p.read_text()) for p in out.glob("*/01_losses/results.json")}
    return small, results, gradebook, out


def feedback(out, name):
    return (out / name / "01_losses" / "feedback.md").read_text()


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


def test_grader_failures_still_grade_the_submission(course, monkeypatch):
    """When restoring the locked cells or starting the kernel fails on the grader's side, is the
    submission still graded, every test reported, and the reason said instead of a traceback?"""
    import course.grade as grading
    from course.collect import Submission

    perfect = Submission("perfect", "01_losses", course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"))

    def broken(*args, **kwargs):
        raise RuntimeError("no kernel today")

    monkeypatch.setattr(grading, "restore", broken)
    results, _ = grading.grade_submission(course, perfect)
    assert results["score"] == FULL and results["extra_data"]["status"] == "graded"
    assert "Locked cells could not be checked against the release (RuntimeError)." in results["output"]

    monkeypatch.setattr(grading, "execute", broken)
    results, graded = grading.grade_submission(course, perfect)
    assert results["score"] == 0 and results["extra_data"]["status"] == "not run"
    assert len(results["tests"]) == len(load_tests())
    assert "the grader could not run this notebook (RuntimeError: no kernel today)" in results["output"]
    assert graded is not None  # the notebook, as far as it was graded
