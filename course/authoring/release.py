"""`course release`: make the student notebooks in release/ from source/ with nbgrader's own
generate_assignment, and check that release/ is in sync.

Each source notebook is a jupytext pair (`<nb>.py` and `<nb>.ipynb`, course/authoring/sources.py):
a release syncs the pair first; `--check` reports a pair out of step, and writes nothing.

nbgrader runs into a scratch folder (with a scratch gradebook), so release/ only ever changes when
the output differs: a second run changes no byte, and `--check` compares without writing.
"""
from __future__ import annotations

import filecmp
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..config import Assignment, ConfigError, Course
from ..engine.notebook import is_test_cell, nbgrader, read_notebook
from . import sources


def check_points_agree(course: Course, assignment: Assignment) -> None:
    """Each nbgrader test cell is one graded test: same name, same points as course.toml."""
    notebook = read_notebook(course.path("source", assignment.id, assignment.notebook))
    cells = {nbgrader(c)["grade_id"]: float(nbgrader(c).get("points", 0)) for c in notebook.cells if is_test_cell(c)}
    declared = {name: float(points) for name, points in assignment.tests.items()}
    for name in sorted(set(cells) | set(declared)):
        if cells.get(name) != declared.get(name):
            raise ConfigError(
                f"{assignment.id}: test '{name}' has {cells.get(name, 'no')} points in the notebook's test cell "
                f"but {declared.get(name, 'no')} in course.toml; make them agree."
            )


def tools_on_path() -> None:
    """nbgrader creates gradebooks by running `alembic` from PATH: make it this environment's."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def generate(course: Course, assignment: Assignment, out_dir: Path) -> Path:
    """Run nbgrader generate_assignment for one assignment; returns the generated folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    tools_on_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.source_directory = course.folders.source
    config.CourseDirectory.release_directory = str(out_dir)  # absolute: nbgrader joins it onto root
    config.CourseDirectory.db_url = f"sqlite:///{out_dir / 'gradebook.db'}"
    config.CourseDirectory.assignment_id = assignment.id
    config.GenerateAssignment.create_assignment = True
    # The paired text file holds the solutions: it never goes to students.
    config.CourseDirectory.ignore = CourseDirectory().ignore + [sources.pair_of(course, assignment).text.name]
    coursedir = CourseDirectory(config=config)
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.log.setLevel(logging.WARNING)
    try:
        converter.start()
    except Exception as error:  # nbgrader reports bad metadata as exceptions; keep its sentence
        raise ConfigError(f"nbgrader could not release {assignment.id}: {str(error).splitlines()[0]}") from None
    return out_dir / assignment.id


def _differences(generated: Path, released: Path) -> list[str]:
    if not released.is_dir():
        return [f"{released} is missing"]
    comparison = filecmp.dircmp(generated, released)
    changed = [f"{released / name} differs" for name in comparison.diff_files]
    changed += [f"{released / name} is missing" for name in comparison.left_only]
    changed += [f"{released / name} should not be there" for name in comparison.right_only]
    # dircmp compares by stat signature first; compare bytes so --check cannot be fooled by mtimes.
    for name in comparison.same_files:
        if (generated / name).read_bytes() != (released / name).read_bytes():
            changed.append(f"{released / name} differs")
    return changed


def release(course: Course, assignment_ids: list[str] | None = None, check: bool = False) -> list[str]:
    """Regenerate release/ (or only compare, with `check`). Returns what changed or is stale."""
    from ..doctor import SetupError, diagnose

    stale: list[str] = []
    ids = assignment_ids or list(course.assignments)
    for assignment in map(course.assignment, ids):  # the pairs first: what follows reads the .ipynb
        stale += sources.problems(course, assignment) if check else sources.sync(course, assignment)
    findings = diagnose(course, ids, grading=False)  # course.toml against the graders, before nbgrader runs
    if findings:
        raise SetupError(findings)
    for assignment in map(course.assignment, ids):
        check_points_agree(course, assignment)
        with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
            generated = generate(course, assignment, Path(scratch))
            released = course.path("release", assignment.id)
            changes = _differences(generated, released)
            stale += changes
            if changes and not check:
                shutil.rmtree(released, ignore_errors=True)
                shutil.copytree(generated, released)
    return stale
