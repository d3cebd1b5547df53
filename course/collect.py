"""Find the submissions to grade: nbgrader's submitted/<student>/<assignment>/<notebook> trees, or
single notebooks. A path that cannot be used is one sentence in `problems`; the rest still count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Course


@dataclass(frozen=True)
class Submission:
    student_id: str
    assignment_id: str
    notebook: Path
    note: str = ""  # something the student should know about how the file was found


def _pick(course: Course, student: str, assignment_id: str, files: list[Path]) -> tuple[Submission | None, str]:
    expected = course.assignment(assignment_id).notebook
    exact = [f for f in files if f.name == expected]
    if exact:
        return Submission(student, assignment_id, exact[0]), ""
    if len(files) == 1:
        note = f"Your notebook is named {files[0].name}, not {expected}; it was graded anyway."
        return Submission(student, assignment_id, files[0], note), ""
    names = ", ".join(sorted(f.name for f in files))
    return None, f"{files[0].parent}: several notebooks ({names}) and none named {expected}; not graded."


def collect(course: Course, paths: list[Path], assignment_id: str | None = None) -> tuple[list[Submission], list[str]]:
    found: dict[tuple[str, str], list[Path]] = {}
    problems: list[str] = []
    for path in map(Path, paths):
        if not path.exists():
            problems.append(f"{path} does not exist.")
            continue
        files = [path] if path.is_file() else sorted(
            f for f in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
        if path.is_dir() and not files:
            problems.append(f"{path} holds no notebooks.")
        for file in files:
            parent = file.parent
            if parent.name in course.assignments:  # <student>/<assignment>/<notebook>
                key = (parent.parent.name, parent.name)
            elif assignment_id:
                key = (file.stem, assignment_id)
            else:
                by_name = [a.id for a in course.assignments.values() if a.notebook == file.name]
                if not by_name:
                    problems.append(f"{file}: cannot tell which assignment it is for; use the "
                                    "<student>/<assignment>/<notebook> layout or --assignment.")
                    continue
                key = (parent.name, by_name[0])
            found.setdefault(key, []).append(file)

    submissions = []
    for (student, assignment_id_), files in sorted(found.items()):
        submission, problem = _pick(course, student, assignment_id_, files)
        if submission:
            submissions.append(submission)
        if problem:
            problems.append(problem)
    return submissions, problems
