"""Write what grading found: per submission a Gradescope-style results.json and a feedback.md a
student can read; for the class, grades.csv rebuilt from every results.json on disk.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

RESULTS = "results.json"
FEEDBACK = "feedback.md"
AUTOGRADED = "autograded"  # nbgrader's folder of graded notebooks: autograded/<student>/<assignment>/
GRADEBOOK = "grades.csv"
COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]


def submission_dir(out_dir: Path, student_id: str, assignment_id: str) -> Path:
    return Path(out_dir) / student_id / assignment_id


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def results_json(student_id: str, assignment_id: str, verdict, execution, note: str, fingerprint: str) -> dict:
    """Gradescope's results schema (score, tests[] with name/score/max_score/output), plus our own
    fields under extra_data."""
    problems = _problems(execution, note)
    tests = []
    for t in verdict.tests:
        lines = [t.description]
        if t.score < t.max_score:
            lines += [f"What differed: {t.message}"] + [f"Likely cause: {m}" for m in t.mistakes]
        tests.append({
            "name": t.name,
            "score": t.score,
            "max_score": t.max_score,
            "status": "passed" if t.score == t.max_score else "failed",
            "output": "\n".join(lines),
            "visibility": "visible" if t.visible else "after_published",
        })
    return {
        "score": verdict.score,
        "max_score": verdict.max_score,
        "output": "\n".join(problems) if problems else "Your notebook ran without problems.",
        "execution_time": round(execution.seconds, 1),
        "tests": tests,
        "extra_data": {
            "student_id": student_id,
            "assignment": assignment_id,
            "status": execution.status,
            "isolation": execution.isolation,
            "mistakes": verdict.mistakes,
            "grader_errors": [f"{t.name}: {t.internal}" for t in verdict.tests if t.internal],
            "fingerprint": fingerprint,
        },
    }


def _problems(execution, note: str) -> list[str]:
    problems = ([note] if note else []) + execution.restored
    if execution.fatal:
        problems.append(f"The file could not be graded: {execution.fatal}")
    problems += [f"Cell {n} {reason}." for n, reason in sorted(execution.faults.items())]
    return problems


def feedback_markdown(results: dict, title: str) -> str:
    extra = results["extra_data"]
    lines = [
        f"# {title}: {extra['assignment']}",
        "",
        f"**Student:** {extra['student_id']}  ",
        f"**Score:** {results['score']:g} / {results['max_score']:g}",
        "",
        "## Your notebook",
        "",
        results["output"],
        "",
        "## Checks",
        "",
    ]
    for test in results["tests"]:
        mark = "✅" if test["status"] == "passed" else "❌"
        description, *details = test["output"].split("\n")
        lines.append(f"- {mark} **{test['name']}** ({test['score']:g}/{test['max_score']:g}): {description}")
        lines += [f"  - {d}" for d in details]
    if extra["mistakes"]:
        lines += ["", "## Mistakes recognised", ""] + [f"- {m}" for m in extra["mistakes"]]
    return "\n".join(lines) + "\n"


def graded_notebook(notebook, execution, results: dict):
    """The notebook as graded (nbgrader's "autograded" copy): every code cell with the outputs it
    gave in the grading kernel and the problem it had, if any; every test cell without its hidden
    section, its output being the verdict. `nbgrader generate_feedback` renders this."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests

    from .notebook import is_test_cell, nbgrader

    graded = nbformat.from_dict(json.loads(json.dumps(notebook)))  # a copy; the caller's stays as is
    tests = {t["name"]: t for t in results["tests"]}
    clear = ClearHiddenTests()
    for number, cell in enumerate(graded.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.outputs = [nbformat.from_dict(o) for o in execution.outputs.get(number, [])]
        if number in execution.faults:
            cell.outputs.append(nbformat.v4.new_output("stream", name="stderr",
                                                       text=f"[course grade] This cell {execution.faults[number]}.\n"))
        test = tests.get(nbgrader(cell).get("grade_id"))
        if is_test_cell(cell) and test:
            try:
                clear.preprocess_cell(cell, {}, number - 1)
            except RuntimeError:  # unbalanced markers: show no source rather than a hidden part
                cell.source = "# (test code not shown)"
            description, *details = test["output"].split("\n")
            verdict = f"{test['name']} ({test['score']:g}/{test['max_score']:g}): {description}"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"passed {verdict}\n")
                            if test["status"] == "passed" else
                            nbformat.v4.new_output("error", ename="AssertionError", evalue=f"failed {verdict}",
                                                   traceback=[f"AssertionError: failed {verdict}", *details])]
    return graded


def write_submission(out_dir: Path, results: dict, title: str, notebook=None, name: str = "") -> Path:
    """Write feedback.md, the graded notebook as `name` (when there is one), then results.json."""
    import nbformat

    extra = results["extra_data"]
    folder = submission_dir(out_dir, extra["student_id"], extra["assignment"])
    write_atomic(folder / FEEDBACK, feedback_markdown(results, title))
    if notebook is not None:
        write_atomic(folder / name, nbformat.writes(notebook))
    write_atomic(folder / RESULTS, json.dumps(results, indent=2, sort_keys=True) + "\n")  # last: it marks "done"
    return folder


def read_results(out_dir: Path) -> list[dict]:
    found = []
    for path in sorted(Path(out_dir).glob(f"*/*/{RESULTS}")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue  # a damaged file is re-graded on the next run
    return found


def write_gradebook(out_dir: Path) -> str:
    """Rebuild grades.csv from the per-submission results on disk; returns its text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for results in read_results(out_dir):
        extra = results["extra_data"]
        writer.writerow([extra["student_id"], extra["assignment"], f"{results['score']:g}",
                         f"{results['max_score']:g}", extra["status"]])
    write_atomic(Path(out_dir) / GRADEBOOK, buffer.getvalue())
    return buffer.getvalue()


def record_in_nbgrader(out_dir: Path, course, db_url: str | None, nbgrader_dir: Path | None) -> int:
    """Put every graded submission's scores into an nbgrader gradebook, one nbgrader test cell per
    graded test (same name), and its graded notebook into the nbgrader course folder's autograded/,
    so formgrader, `nbgrader export` and `nbgrader generate_feedback` see them next to the manually
    graded answers. Give either: the gradebook defaults to `nbgrader_dir`/gradebook.db, the course
    folder to the folder of a SQLite gradebook.
    Returns how many submissions were recorded."""
    import shutil

    from nbgrader.api import Gradebook, MissingEntry

    from .config import ConfigError
    from .release import tools_on_path

    if db_url is None:  # nbgrader's own default: gradebook.db in the course folder
        db_url = f"sqlite:///{Path(nbgrader_dir).resolve() / 'gradebook.db'}"
    if nbgrader_dir is None:
        if not db_url.startswith("sqlite:///"):
            raise ConfigError(f"the nbgrader gradebook {db_url} is not a SQLite file, so its course folder is "
                              "unknown: name it with --nbgrader-dir.")
        nbgrader_dir = Path(db_url[len("sqlite:///"):]).parent
    tools_on_path()
    recorded = 0
    with Gradebook(db_url) as gradebook:
        for results in read_results(out_dir):
            extra = results["extra_data"]
            assignment = course.assignment(extra["assignment"])
            notebook_id = Path(assignment.notebook).stem
            try:
                gradebook.find_assignment(assignment.id)
            except MissingEntry:
                raise ConfigError(f"the nbgrader gradebook {db_url} has no assignment '{assignment.id}': "
                                  "run `nbgrader generate_assignment` there first.") from None
            gradebook.update_or_create_student(extra["student_id"])
            try:
                gradebook.find_submission(assignment.id, extra["student_id"])
            except MissingEntry:
                gradebook.add_submission(assignment.id, extra["student_id"])
            for test in results["tests"]:
                grade = gradebook.find_grade(test["name"], notebook_id, assignment.id, extra["student_id"])
                grade.auto_score = test["score"]
            gradebook.db.commit()
            graded = submission_dir(out_dir, extra["student_id"], assignment.id) / assignment.notebook
            if graded.is_file():
                target = Path(nbgrader_dir) / AUTOGRADED / extra["student_id"] / assignment.id / assignment.notebook
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(graded, target)
            recorded += 1
    return recorded
