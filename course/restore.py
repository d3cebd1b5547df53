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

_GRADEBOOKS: dict[str, str] = {}


class RestoreCells(OverwriteCells):
    """OverwriteCells, remembering what it had to put back (nbgrader only logs it)."""

    def report_change(self, name, attr, old, new):
        self.changes.append((name, attr))


def gradebook_url(course: Course, assignment: Assignment) -> str:
    """A gradebook holding the assignment's source cells, made once per process."""
    if assignment.id not in _GRADEBOOKS:
        from .release import generate

        scratch = Path(tempfile.mkdtemp(prefix="course-gradebook-"))
        generate(course, assignment, scratch)
        _GRADEBOOKS[assignment.id] = f"sqlite:///{scratch / 'gradebook.db'}"
    return _GRADEBOOKS[assignment.id]


def restore(course: Course, assignment: Assignment, notebook) -> tuple[object, list[str]]:
    """The notebook with locked cells (and deleted test cells) restored; and one line per change."""
    restorer = RestoreCells(add_missing_cells=True)
    restorer.log.setLevel(logging.ERROR)
    restorer.changes = []
    before = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    resources = {"nbgrader": {"notebook": Path(assignment.notebook).stem, "assignment": assignment.id,
                              "db_url": gradebook_url(course, assignment)}}
    notebook, _ = restorer.preprocess(notebook, resources)
    after = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    lines = [f"Locked cell '{name}' was changed ({attr}); the original was restored before grading."
             for name, attr in sorted(set(restorer.changes))]
    lines += [f"Cell '{name}' was missing; it was put back before grading." for name in sorted(after - before - {None})]
    return notebook, lines
