"""Restore a submission's locked cells from the source before it runs, with nbgrader's own
OverwriteCells and checksums, and say which cells a student changed or deleted.

OverwriteCells reads the source cells from a gradebook; each worker makes one per assignment by
running nbgrader's generate_assignment once into a scratch folder (see `course.release.generate`).
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from nbgrader.preprocessors import OverwriteCells

from .config import Assignment, Course
from .notebook import read_notebook

_GRADEBOOKS: dict[str, str] = {}


def gradebook_url(course: Course, assignment: Assignment) -> str:
    """A gradebook holding the assignment's source cells, made once per process."""
    if assignment.id not in _GRADEBOOKS:
        from .release import generate

        scratch = Path(tempfile.mkdtemp(prefix="course-gradebook-"))
        generate(course, assignment, scratch)
        _GRADEBOOKS[assignment.id] = f"sqlite:///{scratch / 'gradebook.db'}"
    return _GRADEBOOKS[assignment.id]


def _locked_sources(notebook) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("locked") and "grade_id" in c.metadata["nbgrader"]}


def restore(course: Course, assignment: Assignment, notebook) -> tuple[object, list[str]]:
    """The notebook with locked cells (and deleted test cells) restored; and one line per cell the
    student changed or deleted, compared with the released notebook the student was given (the
    gradebook's copies of test cells hold the hidden tests, which the student never saw)."""
    released = _locked_sources(read_notebook(course.path("release", assignment.id, assignment.notebook)))
    submitted = _locked_sources(notebook)
    restorer = OverwriteCells(add_missing_cells=True)
    restorer.log.setLevel(logging.ERROR)
    resources = {"nbgrader": {"notebook": Path(assignment.notebook).stem, "assignment": assignment.id,
                              "db_url": gradebook_url(course, assignment)}}
    notebook, _ = restorer.preprocess(notebook, resources)
    changed = sorted(name for name in released if name in submitted and submitted[name] != released[name])
    missing = sorted(name for name in released if name not in submitted)
    return notebook, ([f"Locked cell '{name}' was changed; the original was restored before grading." for name in changed]
                      + [f"Locked cell '{name}' was missing; it was put back before grading." for name in missing])
