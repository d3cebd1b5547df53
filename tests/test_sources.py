"""Is each source notebook one source: its jupytext text (.py) and its .ipynb kept in step by `course release`,
its answer bodies copied from solutions/, and `course release --check` failing on any pair out of step?"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.authoring import sources
from course.cli import main as cli
from course.config import load

ASSIGNMENT = "01_losses"
BIN = Path(sys.executable).parent


@pytest.fixture
def copy(course, tmp_path):
    """A copy of the course to edit: source/, release/ and solutions/ copied, the graders linked."""
    root = tmp_path / "course"
    root.mkdir()
    for folder in ("source", "release", "solutions"):
        shutil.copytree(course.path(folder), root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "autograder").symlink_to(course.path("autograder"))
    shutil.copy(course.root / "course.toml", root / "course.toml")
    return load(root)


def pair(course, assignment_id=ASSIGNMENT) -> sources.Pair:
    return sources.pair_of(course, course.assignment(assignment_id))


def cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def edit_notebook(path: Path, grade_id: str, old: str, new: str) -> None:
    notebook = nbformat.read(path, 4)
    target = cell(notebook, grade_id)
    assert target.source.count(old) == 1
    target.source = target.source.replace(old, new)
    nbformat.write(notebook, path)


def release(course, *args) -> int:
    return cli(["--course-dir", str(course.root), "release", ASSIGNMENT, *args])


def released(course):
    return nbformat.read(course.path("release", ASSIGNMENT, course.assignment(ASSIGNMENT).notebook), 4)


def test_committed_pairs_are_in_sync(course):
    """Does every committed .py say what its .ipynb says, with the hidden sections, ids and bodies release writes?"""
    for assignment in course.assignments.values():
        assert sources.problems(course, assignment) == []


def test_text_edit_reaches_notebook_and_release(copy, capsys):
    """Does an edit to the .py show up in the .ipynb and in release/ after `course release`?"""
    files = pair(copy)
    edit_text(files.text, "# # Day 5 · Assignment 1: Loss functions", "# # Day 5 · Assignment 1: Loss functions (2027)")
    assert release(copy) == 0
    assert "updated: source/01_losses/losses.ipynb" in capsys.readouterr().out
    assert cell(nbformat.read(files.notebook, 4), "intro").source.startswith("# Day 5 · Assignment 1: Loss functions (2027)")
    assert cell(released(copy), "intro").source.startswith("# Day 5 · Assignment 1: Loss functions (2027)")
    assert sources.problems(copy, copy.assignment(ASSIGNMENT)) == []


def test_notebook_edit_reaches_text_and_release(copy, capsys):
    """Does an edit made to the .ipynb (as in Jupyter) show up in the .py and in release/ after `course release`?"""
    files = pair(copy)
    before = files.text.read_text()
    edit_notebook(files.notebook, "test_mse_matches_reference", "mse_manual: self-check passed", "mse_manual: all good")
    assert release(copy) == 0
    assert "updated: source/01_losses/losses.py" in capsys.readouterr().out
    assert files.text.read_text() == before.replace("mse_manual: self-check passed", "mse_manual: all good")
    assert "mse_manual: all good" in cell(released(copy), "test_mse_matches_reference").source
    assert "BEGIN HIDDEN TESTS" in cell(nbformat.read(files.notebook, 4), "test_mse_matches_reference").source


def test_check_names_a_stale_pair_and_writes_nothing(copy, capsys):
    """Does `course release --check` exit 1 with one sentence naming the pair and the cell, and leave the files?"""
    files = pair(copy)
    edit_text(files.text, 'print("mse_manual: self-check passed', 'print("mse_manual: fine')
    text, notebook = files.text.read_bytes(), files.notebook.read_bytes()
    assert release(copy, "--check") == 1
    out = capsys.readouterr().out.splitlines()
    assert ("stale: source/01_losses/losses.py and losses.ipynb disagree at cell test_mse_matches_reference "
            "(losses.py changed since the last sync); run `course release` to sync them.") in out
    assert (files.text.read_bytes(), files.notebook.read_bytes()) == (text, notebook)


def test_answer_drifted_from_solutions_is_caught_then_copied(copy):
    """Is an answer body that differs from its solutions/ function named by --check, and rewritten by a sync?"""
    assignment = copy.assignment("02_gradient_descent")
    files = pair(copy, assignment.id)
    edit_text(copy.path("solutions", "gradient_descent.py"), "    v = alpha * v + (1 - alpha) * grad * grad\n",
              "    v = alpha * v + (1 - alpha) * grad.square()  # the running mean of squared gradients\n")
    assert sources.problems(copy, assignment) == [
        "source/02_gradient_descent/gradient_descent.py: answer cell rmsprop differs from rmsprop_step in "
        "solutions/gradient_descent.py; run `course release` to copy it (edit the function there, not the cell)."]
    assert sources.sync(copy, assignment) == ["source/02_gradient_descent/gradient_descent.py",
                                              "source/02_gradient_descent/gradient_descent.ipynb"]
    for notebook in (sources.read_text(files.text), nbformat.read(files.notebook, 4)):
        assert "    v = alpha * v + (1 - alpha) * grad.square()  # the running mean" in cell(notebook, "rmsprop").source
    assert sources.problems(copy, assignment) == []


def test_an_edited_answer_body_is_caught(copy):
    """Is a marked answer body edited in the notebook itself (not in solutions/) named by --check?"""
    assignment = copy.assignment("02_gradient_descent")
    files = pair(copy, assignment.id)
    edit_text(files.text, "    return p, {\"square_avg\": v}\n", "    return p, {\"square_avg\": v.clone()}\n")
    edit_notebook(files.notebook, "rmsprop", 'return p, {"square_avg": v}', 'return p, {"square_avg": v.clone()}')
    assert [p.split(";")[0] for p in sources.problems(copy, assignment)] == [
        "source/02_gradient_descent/gradient_descent.py: answer cell rmsprop differs from rmsprop_step in "
        "solutions/gradient_descent.py"]


def test_drift_names_the_function_that_drifted(copy):
    """In a cell of two marked functions (03's compute_loss and train), is the one that differs named?"""
    assignment = copy.assignment("03_mnist_optimizers")
    edit_text(copy.path("solutions", "mnist_optimizers.py"), "    model.train()  # dropout on; evaluate() may have switched it off\n",
              "    model.train()  # dropout on while training\n")
    assert [p.split(";")[0] for p in sources.problems(copy, assignment)] == [
        "source/03_mnist_optimizers/mnist_optimizers.py: answer cell train differs from train in "
        "solutions/mnist_optimizers.py"]


def test_both_sides_changed_is_refused(copy, capsys):
    """When the .py and the .ipynb both changed since the last sync, is the release refused in one sentence, naming both?"""
    files = pair(copy)
    edit_text(files.text, 'print("mse_manual: self-check passed', 'print("mse_manual: fine')
    edit_notebook(files.notebook, "test_mse_matches_reference", "mse_manual: self-check passed", "mse_manual: good")
    text, notebook = files.text.read_bytes(), files.notebook.read_bytes()
    assert release(copy) == 2
    assert capsys.readouterr().err == (
        "error: source/01_losses/losses.py and losses.ipynb both changed since the last sync and disagree: delete "
        "the one whose edits to drop, and `course release` rebuilds it from the other.\n")
    assert (files.text.read_bytes(), files.notebook.read_bytes()) == (text, notebook)
    files.notebook.unlink()  # keep the text's edit: the notebook is rebuilt from it
    assert sources.sync(copy, copy.assignment(ASSIGNMENT)) == ["source/01_losses/losses.ipynb"]
    assert "mse_manual: fine" in cell(nbformat.read(files.notebook, 4), "test_mse_matches_reference").source
    assert sources.problems(copy, copy.assignment(ASSIGNMENT)) == []


def test_pair_never_synced_takes_the_newer_file(copy):
    """With no record of a last sync, does the newer file win, as in jupytext?"""
    files = pair(copy)
    sources.record_path(copy).unlink()
    edit_text(files.text, 'print("mse_manual: self-check passed', 'print("mse_manual: older')
    edit_notebook(files.notebook, "test_mse_matches_reference", "mse_manual: self-check passed", "mse_manual: newer")
    stamp = files.text.stat().st_mtime
    os.utime(files.notebook, (stamp + 10, stamp + 10))
    assert sources.sync(copy, copy.assignment(ASSIGNMENT)) == ["source/01_losses/losses.py"]
    assert "mse_manual: newer" in files.text.read_text() and "mse_manual: older" not in files.text.read_text()


def test_new_test_cell_gets_its_hidden_section_and_id(copy):
    """Does a test cell written in the .py without a hidden section get its bridge section, and its grade_id as id?"""
    files = pair(copy)
    text = files.text.read_text()
    start = text.index("# %% nbgrader={\"grade\": true, \"grade_id\": \"test_mse_matches_reference\"")
    end = text.index("### BEGIN HIDDEN TESTS", start)
    files.text.write_text(text[:end].rstrip() + "\n" + text[text.index("### END HIDDEN TESTS", end) + 21:])
    assert sources.problems(copy, copy.assignment(ASSIGNMENT))
    sources.sync(copy, copy.assignment(ASSIGNMENT))
    assert files.text.read_text() == text
    assert cell(nbformat.read(files.notebook, 4), "test_mse_matches_reference").id == "test_mse_matches_reference"
    assert sources.problems(copy, copy.assignment(ASSIGNMENT)) == []


def test_jupytext_sync_pairs_both_ways(copy):
    """Does plain `jupytext --sync` (source/jupytext.toml) carry an edit from the .py to the .ipynb and back?"""
    files = pair(copy)
    jupytext = [str(BIN / "jupytext"), "--sync"]
    edit_text(files.text, 'print("mse_manual: self-check passed', 'print("mse_manual: from text')
    os.utime(files.text, (files.notebook.stat().st_mtime + 10,) * 2)
    subprocess.run([*jupytext, str(files.text)], check=True, capture_output=True, timeout=120)
    assert "mse_manual: from text" in cell(nbformat.read(files.notebook, 4), "test_mse_matches_reference").source
    edit_notebook(files.notebook, "test_mse_matches_reference", "mse_manual: from text", "mse_manual: from notebook")
    os.utime(files.notebook, (files.text.stat().st_mtime + 10,) * 2)
    subprocess.run([*jupytext, str(files.notebook)], check=True, capture_output=True, timeout=120)
    assert "mse_manual: from notebook" in files.text.read_text()
    assert cell(nbformat.read(files.notebook, 4), "test_mse_matches_reference").id == "test_mse_matches_reference"
