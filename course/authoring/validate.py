"""`course validate NOTEBOOK`: the student's check before submitting.

The notebook runs as grading runs it (a sandboxed kernel, the release's locked cells, the grading
parameters), with its visible self-checks and never a hidden one: each test cell runs without its
hidden section, and no grader is imported, called or shown. What is printed, per exercise: implemented
or not, each self-check passed or failed with its message, and any cell that errors or runs too long.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError, Course
from ..engine.notebook import NotebookError, is_test_cell, nbgrader, read_notebook

NOT_IMPLEMENTED = ("raise NotImplementedError", "YOUR CODE HERE")


@dataclass
class Validation:
    notebook: str
    assignment: str
    exercises: list[tuple[str, bool]] = field(default_factory=list)  # answer cell id, implemented
    checks: list[tuple[str, str]] = field(default_factory=list)  # self-check name, "" when it passed else why
    problems: list[str] = field(default_factory=list)  # other cells that errored or ran too long

    @property
    def passed(self) -> bool:
        return bool(self.checks) and not any(why for _, why in self.checks)

    def lines(self) -> list[str]:
        out = [f"Validating {self.notebook} ({self.assignment}): your self-checks only. Hidden checks call your "
               "functions on other inputs when the notebook is graded; they are not run here.", "", "Exercises:"]
        out += [f"  {'implemented' if done else 'NOT IMPLEMENTED'}  {name}" for name, done in self.exercises]
        out += ["", "Self-checks:"]
        for name, why in self.checks:
            out.append(f"  {'PASS' if not why else 'FAIL'}  {name}")
            out += [f"        {line}" for line in why.splitlines()]
        if self.problems:
            out += ["", "Other cells:"] + [f"  {p}" for p in self.problems]
        passed = sum(1 for _, why in self.checks if not why)
        out += ["", f"{passed} of {len(self.checks)} self-checks passed."
                + (" Ready to submit." if self.passed else " Fix what failed, then validate again.")]
        return out


def _assignment_of(course: Course, path: Path, assignment_id: str | None) -> str:
    if assignment_id:
        return course.assignment(assignment_id).id
    from ..intake.collect import Signatures

    found, why = Signatures(course)(path)
    if not found:
        raise ConfigError(f"{path}: {why}; name it with --assignment.")
    return found


def _failure(outputs: list) -> str:
    """The message of a failed self-check, as the student would see it under the cell."""
    for output in outputs:
        if output.get("output_type") == "error":
            name, message = output.get("ename"), str(output.get("evalue", "")).strip()
            if name == "NotImplementedError":
                return "Not implemented yet: the function it checks still raises NotImplementedError."
            if name == "NameError":
                return f"NameError: {message}: run the cell that defines it, and make sure it runs without error."
            return f"{name}: {message}" if message else str(name)
    return ""


def validate(course: Course, path: Path, assignment_id: str | None = None, isolate: bool = True) -> Validation:
    from .. import doctor
    from ..engine.execute import execute, grader_dir
    from ..engine.restore import restore

    try:
        notebook = read_notebook(Path(path))
    except NotebookError as error:
        raise ConfigError(str(error)) from None
    assignment = course.assignment(_assignment_of(course, Path(path), assignment_id))
    if isolate:
        problems = doctor.sandbox(course)
        if problems:
            raise ConfigError(problems[0].replace("grading was refused", "validating was refused"))
    notebook, _ = restore(course, assignment, notebook)  # locked cells as released, as grading has them
    with tempfile.TemporaryDirectory(dir=grader_dir()):
        execution = execute(notebook, assignment.notebook, assignment, course, b"", "", {}, isolate, self_checks=True)
    result = Validation(Path(path).name, assignment.id)
    if execution.fatal:
        result.problems.append(execution.fatal)
    for number, cell in enumerate(notebook.cells, start=1):
        meta = nbgrader(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            result.exercises.append((meta.get("grade_id", f"cell {number}"),
                                     not any(mark in cell.source for mark in NOT_IMPLEMENTED)))
        if is_test_cell(cell):
            fault = execution.faults.get(number, "")
            why = _failure(execution.outputs.get(number, [])) if fault.startswith("raised") else fault
            result.checks.append((meta["grade_id"], why))
        elif number in execution.faults:
            result.problems.append(f"Cell {number} {execution.faults[number]}.")
    return result


def main(*, course: Course, path: Path, assignment_id: str | None = None, isolate: bool = True) -> int:
    """Print the validation; 0 when every self-check passes, 1 otherwise."""
    if not Path(path).is_file():
        raise ConfigError(f"{path} does not exist: name your notebook file.")
    result = validate(course, Path(path), assignment_id, isolate)
    print("\n".join(result.lines()))
    return 0 if result.passed else 1
