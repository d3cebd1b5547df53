"""Does `course export` hand the LMS every grade, and no grade that does not exist?

The grades are written with the grader's own writers (course/outputs/report.py), the roster as Canvas's
gradebook export writes it (its student columns, a Points Possible row, an assignment column with
its Canvas id, a read-only score column).
"""
from __future__ import annotations

import csv
import io
import json

import pytest

from course.engine import judge
from course.cli import main as cli
from course.engine.execute import Execution
from course.outputs.report import grader_error_results, results_json, write_under

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,01_losses (4312),Current Score
    Points Possible,,,,,19,(read only)
"Doe, Jane",101,S101,jdoe,Section A,,
"Smith, Jane",102,S102,jsmith,Section B,,
"Roe, Rick",103,,rroe,Section A,,
"""


def results(course, student, assignment, lost=()):
    """results.json with every graded test passed except those in `lost` (scored 0)."""
    tests = [judge.TestResult(name, name, float(p), 0.0 if name in lost else float(p), False)
             for name, p in course.assignment(assignment).tests.items()]
    return results_json(student, assignment, judge.Verdict(tests=tests, mistakes=[]), Execution(seconds=1.0), "", "f")


@pytest.fixture
def grades(course, tmp_path):
    out = tmp_path / "grades"
    first_test = next(iter(course.assignment("01_losses").tests))
    for r in [results(course, "jdoe", "01_losses", lost=[first_test]),
              grader_error_results("jdoe", "02_gradient_descent", "a grader crashed", 27.0),
              results(course, "smithjane_102", "01_losses"),  # a Canvas download's id: <name>_<Canvas ID>
              results(course, "smithjane_102", "02_gradient_descent"),
              results(course, "ghost", "01_losses")]:
        write_under(out, [r["extra_data"]["student_id"], r["extra_data"]["assignment"], "results.json"], json.dumps(r))
    return out


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_import_is_what_canvas_reads(course, grades, roster, tmp_path, capsys):
    """Canvas's header (Student, ID, SIS User ID, SIS Login ID, Section), a Points Possible row, one row
    per roster student in roster order, the roster's own column for an assignment Canvas already has?"""
    out = tmp_path / "canvas.csv"
    assert cli(["export", str(grades), "--format", "canvas", "--roster", str(roster), "--out", str(out)]) == 0
    table = rows(out.read_text())
    losses, descent = course.assignment("01_losses"), course.assignment("02_gradient_descent")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_losses (4312)",
                        "02_gradient_descent"]
    assert table[1] == ["Points Possible", "", "", "", "", f"{losses.max_score:g}", f"{descent.max_score:g}"]
    first_points = next(iter(losses.tests.values()))
    assert table[2] == ["Doe, Jane", "101", "S101", "jdoe", "Section A", f"{losses.max_score - first_points:g}", ""]
    assert table[3] == ["Smith, Jane", "102", "S102", "jsmith", "Section B", f"{losses.max_score:g}",
                        f"{descent.max_score:g}"]
    assert table[4] == ["Roe, Rick", "103", "", "rroe", "Section A", "", ""]
    assert len(table) == 5  # ghost is not in the roster: Canvas could not place it


def test_missing_students_are_named_on_stderr_never_dropped_silently(grades, roster, tmp_path, capsys):
    """A student graded but not in the roster, one in the roster with no grade, and a grader error
    (left blank, never 0): each named on stderr?"""
    assert cli(["export", str(grades), "--roster", str(roster), "--out", str(tmp_path / "c.csv")]) == 0
    err = capsys.readouterr().err
    assert "ghost is not in the roster" in err
    assert "in the roster but not in the grades (left blank): Roe, Rick." in err
    assert "no grade for 02_gradient_descent yet (a grader error; left blank, grade again): jdoe." in err


def test_wide_csv_with_per_test_columns(course, grades, tmp_path):
    """One row per graded student, one column per assignment, and per test with --per-test?"""
    out = tmp_path / "wide.csv"
    assert cli(["export", str(grades), "--format", "csv", "--per-test", "--out", str(out)]) == 0
    table = rows(out.read_text())
    losses_tests = list(course.assignment("01_losses").tests)
    assert table[0][:3] == ["student_id", "01_losses", f"01_losses:{losses_tests[0]}"]
    assert len(table[0]) == 1 + 1 + len(losses_tests) + 1 + len(course.assignment("02_gradient_descent").tests)
    by_student = {row[0]: dict(zip(table[0], row)) for row in table[1:]}
    assert sorted(by_student) == ["ghost", "jdoe", "smithjane_102"]
    assert by_student["jdoe"][f"01_losses:{losses_tests[0]}"] == "0"
    assert by_student["jdoe"]["02_gradient_descent"] == ""  # the grader error: blank, not 0
    assert by_student["jdoe"][f"02_gradient_descent:{next(iter(course.assignment('02_gradient_descent').tests))}"] == ""


def test_default_output_is_beside_the_grades(grades, roster):
    """Without --out, is the file written into the grades folder, where grades.csv is?"""
    assert cli(["export", str(grades), "--roster", str(roster)]) == 0
    assert rows((grades / "canvas-import.csv").read_text())[1][0] == "Points Possible"


@pytest.mark.parametrize("damage", ["empty grades folder", "results.json not JSON", "duplicate roster IDs",
                                    "no roster for canvas", "per-test for canvas"])
def test_bad_input_is_one_line_and_damages_nothing(grades, roster, tmp_path, capsys, damage):
    """Each bad input: one clear line, exit 2, and the export already there left exactly as it was?"""
    out = tmp_path / "canvas.csv"
    out.write_text("last week's export\n")
    args = ["export", str(grades), "--roster", str(roster), "--out", str(out)]
    expected = {"empty grades folder": "holds no", "results.json not JSON": "not valid JSON",
                "duplicate roster IDs": "gives ID 101 to two students", "no roster for canvas": "needs --roster",
                "per-test for canvas": "--per-test is for --format csv"}[damage]
    if damage == "empty grades folder":
        args[1] = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
    elif damage == "results.json not JSON":
        (grades / "jdoe" / "01_losses" / "results.json").write_text('{"score": 1')
    elif damage == "duplicate roster IDs":
        roster.write_text(ROSTER + '"Doe, John",101,S104,jodoe,Section B,,\n')
    elif damage == "no roster for canvas":
        args = ["export", str(grades), "--out", str(out)]
    else:
        args.append("--per-test")
    assert cli(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert out.read_text() == "last week's export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".csv")) == ["canvas.csv", "roster.csv"]
