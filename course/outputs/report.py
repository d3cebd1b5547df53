"""Write what grading found: per submission a Gradescope-style results.json and a feedback.md a
student can read; for the class, grades.csv rebuilt from every results.json on disk.

Every write below the output folder follows no symlink: a student who can plant one in that folder
must not be able to make the grader write into anyone's home.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import secrets
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator, Sequence

RESULTS = "results.json"
FEEDBACK = "feedback.md"
FEEDBACK_PAGE = "feedback.html"
AUTOGRADED = "autograded"  # nbgrader's folder of graded notebooks: autograded/<student>/<assignment>/
GRADEBOOK = "grades.csv"
COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "integrity"]
GRADER_ERROR = "grader-error"  # the grader's side failed: no score, graded again on the next run

# Each folder below the output folder is opened relative to its parent's descriptor, never by path,
# and O_NOFOLLOW makes a symlink fail instead of being followed.
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafePath(OSError):
    """A path below the output folder is a symlink, not a folder, or not a plain name: nothing was written."""


def safe_name(name: str) -> str:
    """`name` if it is one plain path component (a student, assignment or file name), else UnsafePath."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        raise UnsafePath(f"{name!r} is not a plain file or folder name, so nothing was written for it.")
    return name


def submission_dir(out_dir: Path, student_id: str, assignment_id: str) -> Path:
    return Path(out_dir) / safe_name(student_id) / safe_name(assignment_id)


@contextmanager
def open_folder(root: Path, parts: Sequence[str], create: bool = True) -> Iterator[int]:
    """A descriptor of root/parts..., each part made with os.mkdir when missing (if `create`) and
    opened relative to its parent with O_NOFOLLOW, so no symlink below `root` is ever followed."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # root: the caller resolved it once
    try:
        for part in parts:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(safe_name(part), 0o755, dir_fd=fd)
            child = _open_child_folder(fd, safe_name(part), root)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_child_folder(fd: int, name: str, root: Path) -> int:
    try:
        return os.open(name, _FOLDER_FLAGS, dir_fd=fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):  # ELOOP: a symlink, refused by O_NOFOLLOW
            raise UnsafePath(f"{name} under {root} is a symlink or not a folder, so the grader refused to use it.") \
                from None
        raise


def write_under(root: Path, parts: Sequence[str], data: str | bytes) -> Path:
    """Write `data` to root/parts... atomically (a temporary file, then a rename in the same folder),
    following no symlink below `root`; a symlink where the file goes is replaced, its target untouched."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()  # the user may name the output folder through symlinks; below it, none
    *folders, name = [safe_name(part) for part in parts]
    payload = data.encode() if isinstance(data, str) else data
    with open_folder(root, folders) as fd:
        tmp = f".{name}.{secrets.token_hex(8)}"
        file_fd = os.open(tmp, _NEW_FILE_FLAGS, 0o600, dir_fd=fd)
        try:
            with os.fdopen(file_fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)  # rename() replaces a symlink, never follows it
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
    return root.joinpath(*folders, name)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a killed run never leaves half a file; a symlink
    at `path` is replaced, not followed (folders above it are the caller's: prefer `write_under`)."""
    write_under(Path(path).parent, [Path(path).name], text)


def read_under(root: Path, parts: Sequence[str]) -> bytes | None:
    """The bytes of root/parts..., or None when missing, not a plain file, or when any part below
    `root` is a symlink."""
    *folders, name = parts
    try:
        with open_folder(Path(root).resolve(), folders, create=False) as fd:
            # O_NONBLOCK: a planted FIFO must not hang the grader; it is refused just below.
            file_fd = os.open(safe_name(name), _READ_FLAGS, dir_fd=fd)
            with os.fdopen(file_fd, "rb") as handle:
                return handle.read() if stat.S_ISREG(os.fstat(file_fd).st_mode) else None
    except OSError:  # missing, a symlink, not a file: as if never written
        return None


def read_submission_results(out_dir: Path, student_id: str, assignment_id: str) -> dict | None:
    """One submission's results.json, or None when it is missing, damaged or reached through a symlink."""
    data = read_under(out_dir, [student_id, assignment_id, RESULTS])
    try:
        return json.loads(data) if data is not None else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


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
            "mistake_shorts": dict(getattr(verdict, "shorts", {})),  # mistake name -> "Short NN — title"
            "grader_errors": [f"{t.name}: {t.internal}" for t in verdict.tests if t.internal],
            "grader_notes": list(getattr(verdict, "notes", [])),  # what a grader could not check; instructor only
            "curves": list(getattr(verdict, "curves", [])),  # grader runs' loss curves beside the reference's
            "fingerprint": fingerprint,
        },
    }


def grader_error_results(student_id: str, assignment_id: str, reason: str, max_score: float) -> dict:
    """results.json for a submission the grader failed on: no score, nothing said against the student's
    work, the reason for the instructor only, and no fingerprint, so the next run grades it again."""
    return {
        "score": None,
        "max_score": max_score,
        "output": "Your notebook has not been graded yet: the grader had a problem of its own, not one in your "
                  "work. Your instructor has been told, and it will be graded again.",
        "execution_time": 0.0,
        "tests": [],
        "extra_data": {
            "student_id": student_id,
            "assignment": assignment_id,
            "status": GRADER_ERROR,
            "mistakes": [],
            "grader_errors": [reason],
            "integrity": [],
            "fingerprint": "",
        },
    }


def _score(results: dict) -> str:
    return "" if results.get("score") is None else f"{results['score']:g}"


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
        f"**Score:** {_score(results) or 'not graded yet'} / {results['max_score']:g}",
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

    from ..engine.notebook import is_test_cell, nbgrader

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


def write_submission(out_dir: Path, results: dict, title: str, notebook=None, name: str = "",
                     shorts: dict | None = None) -> Path:
    """Write feedback.md and feedback.html (quoting `shorts`, the lesson's, by number), the graded
    notebook as `name` (when there is one), then results.json, each into out_dir/<student>/<assignment>/
    without following a symlink (UnsafePath when one is there)."""
    import nbformat

    from .feedback import figures, page

    extra = results["extra_data"]
    folder = [extra["student_id"], extra["assignment"]]
    write_under(out_dir, [*folder, FEEDBACK], feedback_markdown(results, title))
    write_under(out_dir, [*folder, FEEDBACK_PAGE], page(results, title, shorts or {}, figures(notebook)))
    if notebook is not None:
        write_under(out_dir, [*folder, name], nbformat.writes(notebook))
    # Last: results.json marks the submission "done".
    write_under(out_dir, [*folder, RESULTS], json.dumps(results, indent=2, sort_keys=True) + "\n")
    return Path(out_dir).resolve().joinpath(*folder)


def read_results(out_dir: Path) -> list[dict]:
    """Every out_dir/<student>/<assignment>/results.json, sorted by student then assignment; folders
    and files that are symlinks are skipped, as are damaged files (re-graded on the next run)."""
    found = []
    for student in _real_folders(Path(out_dir), []):
        for assignment in _real_folders(Path(out_dir), [student]):
            results = read_submission_results(out_dir, student, assignment)
            if results is not None:
                found.append(results)
    return found


def _real_folders(root: Path, parts: list[str]) -> list[str]:
    """The names of the folders (not symlinks) in root/parts..., sorted."""
    try:
        with open_folder(Path(root).resolve(), parts, create=False) as fd:
            with os.scandir(fd) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def integrity_column(results: dict) -> str:
    """grades.csv's integrity cell: empty when clean (or graded before the scan existed), else "N flagged"."""
    flags = results.get("extra_data", {}).get("integrity") or []
    return f"{len(flags)} flagged" if flags else ""


def write_gradebook(out_dir: Path) -> str:
    """Rebuild grades.csv from the per-submission results on disk; returns its text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for results in read_results(out_dir):
        extra = results["extra_data"]
        writer.writerow([extra["student_id"], extra["assignment"], _score(results),
                         f"{results['max_score']:g}", extra["status"], integrity_column(results)])
    write_under(out_dir, [GRADEBOOK], buffer.getvalue())
    return buffer.getvalue()


def record_in_nbgrader(out_dir: Path, course, db_url: str | None, nbgrader_dir: Path | None) -> int:
    """Put every graded submission's scores into an nbgrader gradebook, one nbgrader test cell per
    graded test (same name), and its graded notebook into the nbgrader course folder's autograded/,
    so formgrader, `nbgrader export` and `nbgrader generate_feedback` see them next to the manually
    graded answers. Give either: the gradebook defaults to `nbgrader_dir`/gradebook.db, the course
    folder to the folder of a SQLite gradebook.
    Returns how many submissions were recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    from ..config import ConfigError
    from ..authoring.release import tools_on_path

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
            if extra.get("status") == GRADER_ERROR:  # no score to record until it is graded
                continue
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
                # As nbgrader's SaveAutoGrades: an auto-graded cell with its score needs no person.
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            gradebook.db.commit()
            folder = [extra["student_id"], assignment.id, assignment.notebook]
            graded = read_under(out_dir, folder)
            if graded is not None:  # no symlink followed below either folder
                write_under(nbgrader_dir, [AUTOGRADED, *folder], graded)
            recorded += 1
    return recorded
