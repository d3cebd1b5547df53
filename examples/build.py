"""Build the example submissions in examples/submitted/ from the release notebooks.

Each `examples/specs/<assignment>.py` declares EXAMPLES: name -> Example. An example starts from the
released notebook, fills every answer cell with the reference answer (as a student who solved it
would, without nbgrader's markers), then replaces the cells it names with its own code. The spec also
says what grading must find: the tests that fail and the mistake recognised. The package's tests
check exactly that. Run `python examples/build.py` after changing a spec or a notebook;
`python examples/build.py --check` fails when examples/submitted/ is stale.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course.config import load  # noqa: E402
from course.engine.notebook import nbgrader  # noqa: E402

UNTOUCHED = "untouched"  # the release notebook as downloaded


@dataclass(frozen=True)
class Example:
    cells: dict = field(default_factory=dict)  # answer cell grade_id -> the student's code
    fails: frozenset = frozenset()  # graded tests this submission must fail
    mistake: str = ""  # the mistake grading must name ("" for none)
    note: str = ""  # what the example is, for a reader


def answers(source_notebook) -> dict[str, str]:
    """The reference answers as a student would have typed them: solution markers removed."""
    found = {}
    for cell in source_notebook.cells:
        meta = nbgrader(cell)
        if meta.get("solution"):
            text = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", cell.source + "\n", flags=re.M).rstrip("\n")
            found[meta["grade_id"]] = text
    return found


def load_specs(course) -> dict[str, dict[str, Example]]:
    specs = {}
    for path in sorted((ROOT / course.folders.examples / "specs").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_examples_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        specs[path.stem] = module.EXAMPLES
    return specs


def build(course, out_root: Path, only: str | None = None) -> list[Path]:
    written = []
    for assignment_id, examples in load_specs(course).items():
        if only and assignment_id != only:
            continue
        assignment = course.assignment(assignment_id)
        released = nbformat.read(course.path("release", assignment_id, assignment.notebook), as_version=4)
        reference = answers(nbformat.read(course.path("source", assignment_id, assignment.notebook), as_version=4))
        for name, example in examples.items():
            notebook = nbformat.from_dict(released)
            if name != UNTOUCHED:
                code = {**reference, **{k: textwrap.dedent(v).strip() for k, v in example.cells.items()}}
                for cell in notebook.cells:
                    grade_id = nbgrader(cell).get("grade_id")
                    if grade_id in code and nbgrader(cell).get("solution"):
                        cell.source = code[grade_id]
            path = out_root / name / assignment_id / assignment.notebook
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, str(path))
            written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if examples/submitted/ is stale")
    parser.add_argument("--assignment", default=None, help="build (or check) only this assignment's examples")
    args = parser.parse_args()
    course = load(ROOT)
    target = ROOT / course.folders.examples / "submitted"
    if not args.check:
        build(course, target, args.assignment)
        print(f"wrote {target}")
        return 0
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(course, Path(tmp), args.assignment)
        stale = [p for p in fresh if not (target / p.relative_to(tmp)).is_file()
                 or (target / p.relative_to(tmp)).read_bytes() != p.read_bytes()]
    for path in stale:
        print(f"stale: {path.relative_to(tmp)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
