"""`course export`: the class's grades for an LMS, read from the results.json files of `course grade`.

`--format canvas` writes what Canvas's gradebook import reads (its GradebookImporter): a header row
`Student, ID, SIS User ID, SIS Login ID, Section, <assignment>...`, then a `Points Possible` row, then
one row per student of the roster (Canvas finds each student by ID, else SIS User ID, else SIS Login
ID). `--format csv` writes a plain wide table, one row per student, with `--per-test` a column per
graded test too. A grade that does not exist (not submitted, or a grader error) is left blank, never 0,
and every student missing from the roster or from the grades is named on stderr.
"""
from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .classreport import graded, read_class
from ..config import ConfigError, Course
from .report import GRADER_ERROR, write_under

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
REQUIRED = ["Student", "ID", "SIS Login ID", "Section"]  # Canvas leaves SIS User ID out without the permission
POINTS_POSSIBLE = "Points Possible"
DEFAULT_NAMES = {"canvas": "canvas-import.csv", "csv": "grades-wide.csv"}
# A Canvas download names a student `<sortable name>_<Canvas user ID>` (course/intake/lms.py): the ID is the tail.
_CANVAS_DOWNLOAD_ID = re.compile(r"(?:\w+?_)?(\d+)")


@dataclass(frozen=True)
class Person:
    """One row of the roster, as Canvas's gradebook export names its columns."""
    name: str
    canvas_id: str
    sis_user_id: str
    sis_login_id: str
    section: str

    def columns(self) -> list[str]:
        return [self.name, self.canvas_id, self.sis_user_id, self.sis_login_id, self.section]


# --- the roster ---------------------------------------------------------------------------------------

def read_roster(path: Path) -> tuple[list[Person], list[str]]:
    """The roster's students (Canvas's gradebook export, or any CSV with its student columns) and its
    header; ConfigError, in one sentence, when it is missing, lacks a column, or repeats an ID."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"the roster {path} cannot be read ({error.__class__.__name__}).") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(f"the roster {path} has no {', '.join(missing)} column: export it from Canvas's "
                          f"gradebook (its first columns are {', '.join(CANVAS_COLUMNS)}).")
    people = []
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if row["Student"].startswith(POINTS_POSSIBLE) or not (row["ID"] or row["SIS Login ID"] or row.get("SIS User ID")):
            continue  # Canvas's points-possible and muted rows, blank lines
        people.append(Person(row["Student"], row["ID"], row.get("SIS User ID", ""), row["SIS Login ID"], row["Section"]))
    if not people:
        raise ConfigError(f"the roster {path} lists no student.")
    _refuse_duplicates(path, people)
    return people, header


def _refuse_duplicates(path: Path, people: list[Person]) -> None:
    for column, value_of in (("ID", lambda p: p.canvas_id), ("SIS User ID", lambda p: p.sis_user_id),
                             ("SIS Login ID", lambda p: p.sis_login_id)):
        seen: dict[str, Person] = {}
        for person in people:
            value = value_of(person)
            if value and value in seen:
                raise ConfigError(f"the roster {path} gives {column} {value} to two students ({seen[value].name} "
                                  f"and {person.name}): fix the roster; nothing was written.")
            seen[value] = person


def match(student_id: str, people: list[Person]) -> list[Person]:
    """The roster rows a student id of `course grade` names: its SIS Login ID, SIS User ID or Canvas ID,
    or the Canvas ID at the end of a Canvas download's `<name>_<ID>`."""
    direct = [p for p in people if student_id in (p.sis_login_id, p.sis_user_id, p.canvas_id)]
    if direct:
        return direct
    download = _CANVAS_DOWNLOAD_ID.fullmatch(student_id)
    return [p for p in people if download and p.canvas_id == download.group(1)]


# --- the grades -----------------------------------------------------------------------------------------

def gradebook(class_results: list[dict]) -> dict[str, dict[str, dict]]:
    """student id -> assignment -> results.json."""
    table: dict[str, dict[str, dict]] = {}
    for results in class_results:
        extra = results["extra_data"]
        table.setdefault(extra["student_id"], {})[extra["assignment"]] = results
    return table


def assignments_in(course: Course, class_results: list[dict]) -> list[str]:
    """The assignments graded, in course.toml's order."""
    found = {r["extra_data"]["assignment"] for r in class_results}
    known = [a for a in course.assignments if a in found]
    return known + sorted(found - set(known))


def points_possible(course: Course, assignment_id: str, class_results: list[dict]) -> float:
    if assignment_id in course.assignments:
        return course.assignments[assignment_id].max_score
    return max(float(r["max_score"]) for r in class_results if r["extra_data"]["assignment"] == assignment_id)


def score_cell(results: dict | None) -> str:
    """The score as the LMS should get it: blank when there is none (never a 0 for a grader error)."""
    return f"{float(results['score']):g}" if results is not None and graded(results) else ""


def gaps(table: dict[str, dict[str, dict]], students: list[str], assignments: list[str]) -> list[str]:
    """One sentence per assignment naming the students with no grade for it, and why."""
    sentences = []
    for assignment in assignments:
        missing = [s for s in students if assignment not in table.get(s, {})]
        failed = [s for s in students if table.get(s, {}).get(assignment, {}).get("extra_data", {}).get("status") == GRADER_ERROR]
        if missing:
            sentences.append(f"no grade for {assignment} (not graded; left blank): {', '.join(missing)}.")
        if failed:
            sentences.append(f"no grade for {assignment} yet (a grader error; left blank, grade again): {', '.join(failed)}.")
    return sentences


# --- the two formats ------------------------------------------------------------------------------------

def canvas(course: Course, class_results: list[dict], people: list[Person], roster_header: list[str]) -> tuple[str, list[str]]:
    """Canvas's gradebook import CSV for the roster's students, and the sentences for stderr."""
    table, assignments = gradebook(class_results), assignments_in(course, class_results)
    owner: dict[Person, str] = {}
    problems = []
    for student in sorted(table):
        rows = match(student, people)
        if len(rows) > 1:
            problems.append(f"{student} matches {len(rows)} roster rows ({', '.join(p.name for p in rows)}): "
                            "not exported.")
        elif not rows:
            problems.append(f"{student} is not in the roster: not exported.")
        elif rows[0] in owner:
            problems.append(f"{student} and {owner[rows[0]]} are both {rows[0].name} in the roster: "
                            f"only {owner[rows[0]]} exported.")
        else:
            owner[rows[0]] = student
    absent = [p.name for p in people if p not in owner]
    if absent:
        problems.append(f"in the roster but not in the grades (left blank): {', '.join(absent)}.")
    problems += gaps(table, [owner[p] for p in people if p in owner], assignments)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CANVAS_COLUMNS + [canvas_title(a, roster_header) for a in assignments])
    writer.writerow([POINTS_POSSIBLE, "", "", "", ""] + [f"{points_possible(course, a, class_results):g}" for a in assignments])
    for person in people:
        own = table.get(owner.get(person, ""), {})
        writer.writerow(person.columns() + [score_cell(own.get(a)) for a in assignments])
    return buffer.getvalue(), problems


def canvas_title(assignment_id: str, roster_header: list[str]) -> str:
    """The roster's own column for the assignment (`01_losses (4312)` in a Canvas export, so the import
    updates that assignment), else the assignment id (Canvas then creates it)."""
    pattern = re.compile(rf"{re.escape(assignment_id)}(?: \(\d+\))?")
    return next((h for h in roster_header if pattern.fullmatch(h)), assignment_id)


def wide(course: Course, class_results: list[dict], per_test: bool,
         people: list[Person] | None = None) -> tuple[str, list[str]]:
    """One row per student, one column per assignment (and per graded test with `per_test`)."""
    table, assignments = gradebook(class_results), assignments_in(course, class_results)
    tests = {a: _test_names(course, a, class_results) for a in assignments} if per_test else {}
    header = ["student_id"] + (["name", "section"] if people is not None else [])
    for a in assignments:
        header += [a] + [f"{a}:{t}" for t in tests.get(a, [])]
    students, problems = sorted(table), []
    named: dict[str, Person] = {}
    if people is not None:
        for student in students:
            rows = match(student, people)
            if len(rows) == 1:
                named[student] = rows[0]
            else:
                problems.append(f"{student} is {'not in the roster' if not rows else 'in several roster rows'}: "
                                "its name and section are left blank.")
        absent = [p for p in people if p not in named.values()]
        if absent:
            problems.append(f"in the roster but not in the grades (rows with no grade): {', '.join(p.name for p in absent)}.")
        students += [p.sis_login_id or p.canvas_id for p in absent]
        named |= {p.sis_login_id or p.canvas_id: p for p in absent}
    problems += gaps(table, sorted(table), assignments)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for student in students:
        row = [student] + ([named[student].name, named[student].section] if student in named else
                           (["", ""] if people is not None else []))
        for a in assignments:
            results = table.get(student, {}).get(a)
            scores = {t["name"]: t["score"] for t in (results or {}).get("tests", [])} if results and graded(results) else {}
            row += [score_cell(results)] + [f"{float(scores[t]):g}" if t in scores else "" for t in tests.get(a, [])]
        writer.writerow(row)
    return buffer.getvalue(), problems


def _test_names(course: Course, assignment_id: str, class_results: list[dict]) -> list[str]:
    names = list(course.assignments[assignment_id].tests) if assignment_id in course.assignments else []
    for results in class_results:
        if results["extra_data"]["assignment"] == assignment_id:
            names += [t["name"] for t in results.get("tests", []) if t["name"] not in names]
    return names


def main(*, course: Course, grades_dir: Path, fmt: str, roster: Path | None, out: Path | None,
         per_test: bool = False) -> int:
    """Write the export (default: GRADES_DIR/canvas-import.csv or grades-wide.csv), replacing the file
    atomically; every student missing from the roster or the grades is named on stderr. Returns 0."""
    if fmt == "canvas" and roster is None:
        raise ConfigError("--format canvas needs --roster: Canvas's gradebook export (Grades > Export) gives "
                          f"the {', '.join(CANVAS_COLUMNS)} columns Canvas matches students by.")
    if fmt == "canvas" and per_test:
        raise ConfigError("--per-test is for --format csv: Canvas would make every test an assignment.")
    class_results = read_class(Path(grades_dir))
    people, header = read_roster(roster) if roster is not None else (None, [])
    if fmt == "canvas":
        text, problems = canvas(course, class_results, people, header)
    else:
        text, problems = wide(course, class_results, per_test, people)
    target = Path(out) if out is not None else Path(grades_dir) / DEFAULT_NAMES[fmt]
    if target.is_dir():
        raise ConfigError(f"--out {target} is a folder: name the CSV file to write.")
    written = write_under(target.parent, [target.name], text)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(written)
    return 0
