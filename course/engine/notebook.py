"""Reading submitted notebooks defensively, and telling nbgrader's cell kinds apart."""
from __future__ import annotations

from pathlib import Path

import nbformat


class NotebookError(Exception):
    """The file cannot be graded as a notebook; the message says why, in one sentence."""


def read_notebook(path: Path):
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path} does not exist.")
    text = path.read_text(errors="replace")
    if not text.strip():
        raise NotebookError(f"{path.name} is empty, not a notebook.")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several types for malformed JSON or schema
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise NotebookError(f"{path.name} is not a valid notebook ({reason[:120]}).") from None
    if not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path.name} is not a valid notebook (it has no cells).")
    return notebook


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    """An nbgrader autograder-test cell: graded, locked, not an answer."""
    meta = nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def student_cells(notebook) -> list[str]:
    """The code cells the student's notebook runs (test cells excluded), for reading, never running."""
    return [c.source for c in notebook.cells if c.cell_type == "code" and not is_test_cell(c)]
