"""Restore a submission's locked cells from the source before it runs, with nbgrader's own
OverwriteCells and checksums, and say which cells a student changed or deleted.

OverwriteCells reads the source cells from a gradebook; each worker makes one per assignment by
running nbgrader's generate_assignment once into a scratch folder (see `course.release.generate`).
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from nbgrader.preprocessors import OverwriteCells

from .config import Assignment, Course
from .notebook import read_notebook

def gradebook_url(course: Course, assignment: Assignment) -> str:
    """A gradebook holding the assignment's source cells. It is made once per version of the source
    notebook and shared by every worker (made first by `course grade` before the workers start), in
    the folder kernels never see."""
    from .execute import scratch_parent
    from .release import generate

    source = course.path("source", assignment.id, assignment.notebook).read_bytes()
    folder = scratch_parent() / "gradebooks" / f"{assignment.id}-{hashlib.sha256(source).hexdigest()[:16]}"
    if not (folder / "gradebook.db").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent))
        generate(course, assignment, scratch)
        try:
            scratch.rename(folder)  # atomic: a worker racing us finds all of it or none
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # another process made it first
    return f"sqlite:///{folder / 'gradebook.db'}"


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
