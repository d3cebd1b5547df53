"""Restore a submission's locked cells from the source before it runs, with nbgrader's own
OverwriteCells and checksums, and say which cells a student changed or deleted.

OverwriteCells reads the source cells from a gradebook; each worker makes one per assignment by
running nbgrader's generate_assignment once into a scratch folder (see `course.authoring.release.generate`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from nbgrader.preprocessors import OverwriteCells

from ..config import Assignment, Course
from .notebook import read_notebook

def cache_dir() -> Path:
    """The grader's own cache (mode 0700), outside every course folder; no kernel ever sees it."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course-day5"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    return root


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gradebook_url(course: Course, assignment: Assignment) -> str:
    """A gradebook holding the assignment's source cells, made once per version of the source
    notebook (first by `course grade`, before its workers start) and shared by every worker. A kept
    one is used only when its digest is the one recorded when it was made; otherwise it is made anew."""
    from ..authoring.release import generate

    source = course.path("source", assignment.id, assignment.notebook).read_bytes()
    folder = cache_dir() / "gradebooks" / f"{assignment.id}-{hashlib.sha256(source).hexdigest()[:16]}"
    database, digest = folder / "gradebook.db", folder / "gradebook.sha256"
    if not (database.is_file() and digest.is_file() and digest.read_text() == _digest(database)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent))
        generate(course, assignment, scratch)
        (scratch / "gradebook.sha256").write_text(_digest(scratch / "gradebook.db"))
        try:
            scratch.rename(folder)  # atomic: a worker racing us finds all of it or none
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # another process made it first
    return f"sqlite:///{database}"


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
