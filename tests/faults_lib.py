"""The planted faults shared by tests/test_faults.py (graded by the local pool) and tests/test_cluster.py
(the same faults through Dask): each fault planted in an otherwise perfect 01_losses notebook, and a
copy of the course with short limits to grade them under."""
import json
import shutil
from pathlib import Path

import nbformat

from course.config import load

LIMITS = "[assignments.01_losses.limits]\ncell_timeout = 6\nnotebook_timeout = 60\noutput_kb = 64\n"
FULL = load(Path(__file__).resolve().parents[1]).assignment("01_losses").max_score  # perfect marks, whatever course.toml gives


def cell_index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def append_to(grade_id, code):
    def plant(nb):
        nb.cells[cell_index(nb, grade_id)].source += "\n\n" + code
    return plant


def insert_after(grade_id, code):
    def plant(nb):
        nb.cells.insert(cell_index(nb, grade_id) + 1, nbformat.v4.new_code_cell(code))
    return plant


def prepend_to(grade_id, code):
    def plant(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = code + "\n\n" + cell.source
    return plant


def delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def edit_locked_cells(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and cell.cell_type == "code":
            cell.source = "pass  # edited by the student"


def duplicate_and_reorder(nb):
    nb.cells.append(nb.cells[cell_index(nb, "mse_mae")])
    quiz = nb.cells.pop(cell_index(nb, "quiz"))
    nb.cells.insert(0, quiz)


# name -> (how to plant it, expected score, a phrase the feedback must contain)
FAULTS = {
    "infinite-loop": (append_to("mse_mae", "while True:\n    pass"), FULL, "timed out after 6 s"),
    "endless-function": (append_to("mse_mae", "def mse_manual(pred, target):\n    while True:\n        pass"),
                         FULL - 3, "TimeoutError"),  # its value test, and the by-hand point (it needs working values)
    "memory-bomb": (insert_after("mse_mae", "hog = []\nwhile True:\n    hog.append(torch.ones(10**9))  # 4 GB a step"),
                    FULL, "can't allocate memory"),
    "sys-exit": (insert_after("imports", "import sys\nsys.exit(3)"), FULL, "SystemExit"),
    "os-exit": (insert_after("imports", "import os\nos._exit(1)"), FULL, "stopped the kernel"),
    "kernel-killed": (insert_after("bce", "import os\nos.kill(os.getpid(), 9)"), FULL, "stopped the kernel"),
    "exception-in-cell": (prepend_to("bce", "raise ValueError('half-finished idea')"), FULL - 4, "raised ValueError: half-finished idea"),
    "prints-100mb": (insert_after("imports", "print('x' * 100_000_000)"), FULL, "the rest was cut"),
    "deletes-its-folder": (insert_after("imports", "import os, shutil\nshutil.rmtree(os.path.abspath('..'), ignore_errors=True)"),
                           FULL, "ran without problems"),
    "test-cells-deleted": (delete_test_cells, FULL, "was missing; it was put back"),
    "locked-cells-edited": (edit_locked_cells, FULL, "was changed"),
    "duplicated-and-reordered": (duplicate_and_reorder, FULL, ""),
}
BROKEN_FILES = {"not-json": ("{ this is not json", "not a valid notebook"), "empty-file": ("", "is empty")}


def fault_course(course, root: Path):
    """A copy of `course` at `root` with LIMITS for 01_losses, and `root/submitted` holding every fault of
    FAULTS, every file of BROKEN_FILES and a perfect notebook, one student each. Returns (the copy, submitted)."""
    for folder in ("source", "release", "autograder", "solutions"):
        shutil.copytree(course.path(folder), root / folder)
    (root / "course.toml").write_text((course.root / "course.toml").read_text()
                                      .replace("[assignments.01_losses.limits]\n", LIMITS, 1)
                                      .replace("cell_timeout = 30\nnotebook_timeout = 120\n", "", 1))
    small = load(root)
    assert small.assignment("01_losses").limits.cell_timeout == 6
    perfect = perfect_notebook(course)
    submitted = root / "submitted"
    for name, (plant, _, _) in FAULTS.items():
        notebook = nbformat.from_dict(json.loads(json.dumps(perfect)))
        plant(notebook)
        nbformat.write(notebook, str(folder_of(submitted, name) / "losses.ipynb"))
    for name, (text, _) in BROKEN_FILES.items():
        (folder_of(submitted, name) / "losses.ipynb").write_text(text)
    nbformat.write(perfect, str(folder_of(submitted, "perfect") / "losses.ipynb"))
    return small, submitted


def perfect_notebook(course):
    return nbformat.read(course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"), as_version=4)


def folder_of(submitted: Path, student: str) -> Path:
    folder = submitted / student / "01_losses"
    folder.mkdir(parents=True)
    return folder


def feedback(out, name):
    return (out / name / "01_losses" / "feedback.md").read_text()
