"""The source notebooks as jupytext pairs, kept in step by `course release`.

Each assignment's source notebook is two files that hold the same cells:
- `source/<a>/<nb>.py`, jupytext's percent format: the file to edit, diff and review;
- `source/<a>/<nb>.ipynb`: what nbgrader and Jupyter read.
`source/jupytext.toml` pairs them, so Jupyter (with jupytext) and `jupytext --sync` keep them in step too.

Syncing a pair (plain `course release`): when the two disagree, the file changed since the last sync
wins; `source/synced.json` records each pair's cells at its last sync. A pair with no record follows
jupytext's rule: the newer file wins. When both files changed since the last sync, nothing is
written and the instructor is told which two: delete the one to drop, and `course release` rebuilds
it from the other.

What every sync then writes into the cells (the job of the former tools/nbbuild.py):
- each test cell ends with its hidden section, which runs the grader test of the same name under
  `nbgrader autograde` (nbgrader removes it on release);
- an answer whose solution region starts with `# body of <function> in solutions/<module>.py ...`
  gets that function's body, so the reference exists once, in solutions/;
- each cell's id is its nbgrader grade_id, so the same cells always give the same bytes.

`course release --check` (`problems`) writes nothing and names each file that is out of step.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

from ..config import Assignment, ConfigError, Course
from ..engine.notebook import is_test_cell, nbgrader

TEXT_FORMAT = "py:percent"
RECORD_NAME = "synced.json"
RECORD_ABOUT = ("Written by `course release`: each source notebook's cells at its last sync (a sha256), so that "
                "a change to only one of its two files (.py or .ipynb) is told from a change to both.")

HIDDEN_SECTION = """### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check({assignment!r}, {test!r}, globals())
### END HIDDEN TESTS"""
BRIDGE_SECTION = re.compile(
    r"\n*[ \t]*### BEGIN HIDDEN TESTS\n(?:(?!### END HIDDEN TESTS).)*?course\.nbgrader_bridge"
    r"(?:(?!### END HIDDEN TESTS).)*### END HIDDEN TESTS[ \t]*", re.S)
REFERENCE_MARKER = re.compile(r"^(?P<indent>[ \t]*)# body of (?P<function>\w+) in (?P<module>solutions/[\w/]+\.py)\b.*$")
END_SOLUTION = re.compile(r"^[ \t]*### END SOLUTION")


@dataclass(frozen=True)
class Pair:
    key: str  # "<assignment>/<notebook stem>", its name in the sync record
    text: Path
    notebook: Path


def pair_of(course: Course, assignment: Assignment) -> Pair:
    notebook = course.path("source", assignment.id, assignment.notebook)
    return Pair(f"{assignment.id}/{notebook.stem}", notebook.with_suffix(".py"), notebook)


def shown(course: Course, path: Path) -> str:
    """A path as the instructor typed it: relative to the course folder."""
    try:
        return str(path.relative_to(course.root))
    except ValueError:
        return str(path)


# --- reading and writing the two sides ------------------------------------------------------------

def read_text(path: Path):
    return jupytext.reads(path.read_text(), fmt=TEXT_FORMAT)


def read_ipynb(path: Path):
    return nbformat.read(str(path), as_version=4)


def as_text(notebook) -> str:
    """The percent-format text of a notebook, as jupytext writes it."""
    return jupytext.writes(notebook, fmt=TEXT_FORMAT)


def cells_of(notebook) -> list:
    """What the two sides must agree on: each cell's type, source and the metadata the text keeps."""
    seen = jupytext.reads(as_text(notebook), fmt=TEXT_FORMAT)
    return [[c.cell_type, c.source, json.dumps(c.metadata, sort_keys=True)] for c in seen.cells]


def digest(cells: list) -> str:
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def ipynb_bytes(notebook) -> bytes:
    """What nbformat.write puts in the file."""
    text = nbformat.writes(notebook)
    return (text if text.endswith("\n") else text + "\n").encode()


# --- what release writes into the cells ------------------------------------------------------------

def with_hidden_section(source: str, assignment_id: str, test: str) -> str:
    """A test cell's source ending in its one hidden section (replacing any earlier bridge section)."""
    visible = BRIDGE_SECTION.sub("", source).rstrip()
    return f"{visible}\n{HIDDEN_SECTION.format(assignment=assignment_id, test=test)}"


def reference_body(root: Path, module: str, function: str) -> str:
    """The body of a top-level function in solutions/ (after its docstring), dedented; comments kept."""
    path = root / module
    if not path.is_file():
        raise ConfigError(f"an answer cell names {module}, which does not exist.")
    source = path.read_text()
    found = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == function]
    if not found:
        raise ConfigError(f"an answer cell names {function} in {module}, which has no such function.")
    node = found[0]
    if node.decorator_list:
        raise ConfigError(f"{function} in {module} is decorated, so its body alone is not the reference; "
                          "keep that answer as text in the notebook.")
    lines = source.splitlines()
    has_docstring = isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
        and isinstance(node.body[0].value.value, str)
    if has_docstring and len(node.body) == 1:
        raise ConfigError(f"{function} in {module} has no body after its docstring.")
    start = node.body[0].end_lineno if has_docstring else node.body[0].lineno - 1
    while start > node.lineno and not has_docstring and lines[start - 1].strip().startswith("#"):
        start -= 1  # the comments just above the first statement belong to the body
    body = "\n".join(lines[start:node.end_lineno])
    return textwrap.dedent(body).strip("\n")


def marked_regions(lines: list[str]) -> list[tuple[re.Match, int, int]]:
    """Each reference marker with the lines of the body it governs: (marker, first, end), end exclusive."""
    regions = []
    for i, line in enumerate(lines):
        marker = REFERENCE_MARKER.match(line)
        if marker:
            end = next((j for j in range(i + 1, len(lines)) if END_SOLUTION.match(lines[j])), len(lines))
            regions.append((marker, i + 1, end))
    return regions


def indented_reference(root: Path, marker: re.Match) -> list[str]:
    body = reference_body(root, marker["module"], marker["function"])
    return [marker["indent"] + line if line.strip() else "" for line in body.split("\n")]


def with_reference_bodies(source: str, root: Path) -> str:
    """Each marked solution region filled with the body of the function its marker names."""
    lines = source.split("\n")
    for marker, first, end in reversed(marked_regions(lines)):
        lines[first:end] = indented_reference(root, marker)
    return "\n".join(lines)


def drifted_functions(source: str, root: Path) -> list[re.Match]:
    """The markers whose region is not their function's body."""
    lines = source.split("\n")
    return [m for m, first, end in marked_regions(lines) if lines[first:end] != indented_reference(root, m)]


def expanded(notebook, assignment_id: str, root: Path):
    """The notebook with its hidden sections and reference bodies as release writes them."""
    notebook = nbformat.from_dict(notebook)
    for cell in notebook.cells:
        if is_test_cell(cell):
            cell.source = with_hidden_section(cell.source, assignment_id, nbgrader(cell)["grade_id"])
        elif cell.cell_type == "code" and nbgrader(cell).get("solution"):
            cell.source = with_reference_bodies(cell.source, root)
    return notebook


def notebook_from_text(text: str, previous=None):
    """The .ipynb for a text: no outputs; each cell's id its grade_id (else the id it had before);
    notebook metadata as the text has it, with language_info reduced to the language's name."""
    notebook = jupytext.reads(text, fmt=TEXT_FORMAT)
    if previous is not None:
        kept = combine_inputs_with_outputs(jupytext.reads(text, fmt=TEXT_FORMAT), previous)
        for cell, old in zip(notebook.cells, kept.cells):
            cell.id = old.id
    for cell in notebook.cells:
        cell.id = nbgrader(cell).get("grade_id", cell.id)
    notebook.metadata.pop("jupytext", None)
    kernel = notebook.metadata.get("kernelspec", {})
    notebook.metadata["language_info"] = {"name": kernel.get("language", "python")}
    nbformat.validate(notebook)
    return notebook


# --- the sync record -------------------------------------------------------------------------------

def record_path(course: Course) -> Path:
    return course.path("source", RECORD_NAME)


def read_record(course: Course) -> dict:
    path = record_path(course)
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        raise ConfigError(f"{shown(course, path)} is not JSON; delete it (the next release writes it again).") from None


def write_record(course: Course, record: dict) -> None:
    text = json.dumps({"about": RECORD_ABOUT, **{k: v for k, v in sorted(record.items()) if k != "about"}}, indent=1)
    path = record_path(course)
    if not path.is_file() or path.read_text() != text + "\n":
        path.write_text(text + "\n")


# --- deciding which side wins ----------------------------------------------------------------------

def changed_sides(pair: Pair, record: dict) -> list[Path]:
    """The files of the pair whose cells differ from the last sync's (both when there is no record)."""
    recorded = record.get(pair.key)
    sides = {pair.text: cells_of(read_text(pair.text)), pair.notebook: cells_of(read_ipynb(pair.notebook))}
    return [path for path, cells in sides.items() if digest(cells) != recorded]


def newer(pair: Pair) -> Path:
    """jupytext's rule for a pair never synced: the file written last wins (the text on a tie)."""
    return pair.notebook if pair.notebook.stat().st_mtime > pair.text.stat().st_mtime else pair.text


def winner(course: Course, pair: Pair, record: dict) -> Path:
    """The file whose cells the pair takes: the only one, the one changed since the last sync, or the newer."""
    if not pair.text.is_file() and not pair.notebook.is_file():
        raise ConfigError(f"{shown(course, pair.notebook)} does not exist (nor its text {pair.text.name}).")
    if not pair.text.is_file() or not pair.notebook.is_file():
        return pair.text if pair.text.is_file() else pair.notebook
    if cells_of(read_text(pair.text)) == cells_of(read_ipynb(pair.notebook)):
        return pair.text
    if pair.key not in record:
        return newer(pair)
    changed = changed_sides(pair, record)
    if len(changed) == 2:
        raise ConfigError(
            f"{shown(course, pair.text)} and {pair.notebook.name} both changed since the last sync and disagree: "
            f"delete the one whose edits to drop, and `course release` rebuilds it from the other.")
    return changed[0]


def synced_text(course: Course, assignment: Assignment, pair: Pair, record: dict) -> str:
    """The text both files of the pair hold once synced."""
    source = winner(course, pair, record)
    notebook = read_text(source) if source == pair.text else read_ipynb(source)
    return as_text(expanded(notebook, assignment.id, course.root))


# --- the two entry points --------------------------------------------------------------------------

def sync(course: Course, assignment: Assignment) -> list[str]:
    """Bring the pair in step (writing only files whose bytes change); returns what was written."""
    pair = pair_of(course, assignment)
    record = read_record(course)
    text = synced_text(course, assignment, pair, record)
    previous = read_ipynb(pair.notebook) if pair.notebook.is_file() else None
    written = []
    for path, content in ((pair.text, text.encode()), (pair.notebook, ipynb_bytes(notebook_from_text(text, previous)))):
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
            written.append(shown(course, path))
    record[pair.key] = digest(cells_of(jupytext.reads(text, fmt=TEXT_FORMAT)))
    write_record(course, record)
    return written


def problems(course: Course, assignment: Assignment) -> list[str]:
    """Why `course release` would change the pair (one sentence each, naming the file); writes nothing."""
    pair = pair_of(course, assignment)
    missing = [p for p in (pair.text, pair.notebook) if not p.is_file()]
    if missing:
        return [f"{shown(course, p)} is missing: `course release` writes it from its pair." for p in missing]
    text, notebook = read_text(pair.text), read_ipynb(pair.notebook)
    if cells_of(text) != cells_of(notebook):
        return [stale_pair(course, pair, text, notebook)]
    found = drifted_answers(course, pair, text) + missing_hidden_sections(course, pair, text, assignment.id)
    synced = as_text(expanded(text, assignment.id, course.root))
    if not found and pair.text.read_text() != synced:
        found.append(f"{shown(course, pair.text)} is not as `course release` writes it; run `course release`.")
    if not found and pair.notebook.read_bytes() != ipynb_bytes(notebook_from_text(synced, notebook)):
        found.append(f"{shown(course, pair.notebook)} is not as `course release` writes it "
                     "(cell ids, outputs or metadata); run `course release`.")
    if not found and read_record(course).get(pair.key) != digest(cells_of(text)):
        found.append(f"{shown(course, record_path(course))} does not record the last sync of {pair.key}; "
                     "run `course release`.")
    return found


def stale_pair(course: Course, pair: Pair, text, notebook) -> str:
    """One sentence: the two files disagree, at which cell, and which one changed since the last sync."""
    mine, theirs = cells_of(text), cells_of(notebook)
    at = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    cells = text.cells if at < len(text.cells) else notebook.cells
    cell = cells[min(at, len(cells) - 1)]
    name = nbgrader(cell).get("grade_id") or f"number {at + 1}"
    record = read_record(course)
    changed = changed_sides(pair, record) if pair.key in record else []
    since = {1: f" ({changed[0].name} changed since the last sync)", 2: " (both changed since the last sync)"}
    return (f"{shown(course, pair.text)} and {pair.notebook.name} disagree at cell {name}"
            f"{since.get(len(changed), '')}; run `course release` to sync them.")


def drifted_answers(course: Course, pair: Pair, text) -> list[str]:
    return [f"{shown(course, pair.text)}: answer cell {nbgrader(cell).get('grade_id')} differs from "
            f"{marker['function']} in {marker['module']}; run `course release` to copy it "
            "(edit the function there, not the cell)."
            for cell in text.cells if cell.cell_type == "code" and nbgrader(cell).get("solution")
            for marker in drifted_functions(cell.source, course.root)]


def missing_hidden_sections(course: Course, pair: Pair, text, assignment_id: str) -> list[str]:
    return [f"{shown(course, pair.text)}: test cell {nbgrader(c)['grade_id']} lacks its hidden section "
            "(or has an old one); run `course release` to write it."
            for c in text.cells if is_test_cell(c)
            and c.source != with_hidden_section(c.source, assignment_id, nbgrader(c)["grade_id"])]
