"""`course validate NOTEBOOK`, the student's check before submitting: its output, line by line, is what the
student must see; it runs the visible self-checks only (the source notebook's hidden sections, which would
fail inside the sandbox where `course` cannot be imported, never run) and exits 0 only when all pass."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.engine.notebook import is_test_cell, nbgrader

BIN = Path(sys.executable).parent
HEADER = ("Validating {name} ({assignment}): your self-checks only. Hidden checks call your functions on other "
          "inputs when the notebook is graded; they are not run here.")


def validate(path, *args):
    return subprocess.run([str(BIN / "course"), "validate", str(path), *args], capture_output=True, text=True,
                          timeout=600)


def expected(notebook_path, assignment, failures: dict, implemented=True, other=()) -> list[str]:
    """The lines a student must see: every exercise, every self-check (PASS, or FAIL and its message)."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    answers = [nbgrader(c)["grade_id"] for c in notebook.cells if c.cell_type == "code" and nbgrader(c).get("solution")]
    checks = [nbgrader(c)["grade_id"] for c in notebook.cells if c.cell_type == "code" and is_test_cell(c)]
    lines = [HEADER.format(name=Path(notebook_path).name, assignment=assignment), "", "Exercises:"]
    lines += [f"  {'implemented' if implemented else 'NOT IMPLEMENTED'}  {a}" for a in answers]
    lines += ["", "Self-checks:"]
    for check in checks:
        if check in failures:
            lines += [f"  FAIL  {check}", f"        {failures[check]}"]
        else:
            lines.append(f"  PASS  {check}")
    if other:
        lines += ["", "Other cells:"] + [f"  {o}" for o in other]
    passed = len(checks) - len(failures)
    lines += ["", f"{passed} of {len(checks)} self-checks passed."
              + (" Ready to submit." if not failures else " Fix what failed, then validate again.")]
    return lines


@pytest.mark.slow
def test_source_notebook_passes_and_runs_no_hidden_section(course):
    path = course.path("source", "01_losses", "losses.ipynb")
    result = validate(path, "--assignment", "01_losses")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == expected(path, "01_losses", {})
    assert "hidden" not in result.stdout.lower().replace("hidden checks call", "")


def test_sum_instead_of_mean_names_the_mistake_and_its_short(course):
    path = course.path("examples", "submitted", "sum-instead-of-mean", "01_losses", "losses.ipynb")
    result = validate(path)  # the assignment told from the notebook's cells
    assert result.returncode == 1
    assert result.stdout.splitlines() == expected(path, "01_losses", {
        "test_mse_matches_reference": "AssertionError: mse_manual on the lesson's example: got 1.5, expected 0.5. "
                                      "This looks like sum instead of mean (Short 05): finish with .mean().",
        "test_mae_matches_reference": "AssertionError: mae_manual on house prices: got 40000.0, expected "
                                      "13333.3330078125. This looks like sum instead of mean (Short 05): finish with .mean().",
    })


@pytest.mark.slow
def test_untouched_release_says_what_is_left(course):
    path = course.path("release", "01_losses", "losses.ipynb")
    result = validate(path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == expected(path, "01_losses", {})[:3]
    assert all(line.startswith("  NOT IMPLEMENTED") for line in lines[3:lines.index("")])
    assert "  FAIL  test_mse_matches_reference" in lines
    assert "        Not implemented yet: the function it checks still raises NotImplementedError." in lines
    assert lines[-1] == f"0 of {sum(l.startswith('  FAIL') for l in lines)} self-checks passed. Fix what failed, then validate again."


@pytest.mark.parametrize("argument,sentence", [("nope.ipynb", "nope.ipynb does not exist"),
                                               ("README.md", "README.md is not a valid notebook")])
def test_what_is_not_a_notebook_is_one_sentence(course, argument, sentence):
    result = validate(course.root / argument)
    assert result.returncode == 2 and sentence in result.stderr and "Traceback" not in result.stderr
