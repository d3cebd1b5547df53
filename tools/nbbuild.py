"""Write an nbgrader source notebook from a compact list of cells (an authoring aid, not a stage).

Usage from an authoring script:  write(path, [md("..."), code("..."), answer("id", "..."), check("id", 2, "...")])
Cell ids equal nbgrader grade ids, so every build of the same cells gives the same bytes.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat


def _meta(grade_id, *, grade=False, solution=False, locked=True, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(grade_id: str, text: str):
    cell = nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip(), id=grade_id)
    cell.metadata = _meta(grade_id)
    return cell


def code(grade_id: str, text: str, tags: tuple = ()):
    """A locked code cell the student runs but does not edit (imports, data, parameters)."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip(), id=grade_id)
    cell.metadata = _meta(grade_id)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def answer(grade_id: str, text: str, tags: tuple = ()):
    """An autograded answer cell: what lies between BEGIN/END SOLUTION is removed on release."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip(), id=grade_id)
    cell.metadata = _meta(grade_id, solution=True, locked=False)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def written(grade_id: str, points: float, text: str):
    """A manually graded markdown answer."""
    cell = nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip(), id=grade_id)
    cell.metadata = _meta(grade_id, grade=True, solution=True, locked=False, points=points)
    return cell


def check(grade_id: str, points: float, text: str):
    """A locked test cell: its visible asserts are the student's self-check; its points are those
    of the hidden grader test of the same name (course.toml)."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip(), id=grade_id)
    cell.metadata = _meta(grade_id, grade=True, points=points)
    return cell


HIDDEN = """
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check({assignment!r}, {test!r}, globals())
### END HIDDEN TESTS"""


def write(path, cells) -> None:
    """Write the notebook; every test cell gets a hidden section that runs its grader test under
    nbgrader autograde (nbgrader removes it on release)."""
    assignment = Path(path).parent.name
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and "BEGIN HIDDEN TESTS" not in cell.source:
            cell.source += HIDDEN.format(assignment=assignment, test=meta["grade_id"])
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
