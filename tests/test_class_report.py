"""Does `course report` tell an instructor what the class got wrong, read from results.json alone?

The class is written with the grader's own writers (course/outputs/report.py's results_json and
grader_error_results, course/engine/integrity.py's apply) and the lesson's real mistakes (their messages come
from autograder/*/mistakes.py), so the report reads exactly what `course grade` writes. The page is
then loaded in headless Chromium, with JavaScript on and off.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import browser
from browser import BrowserMissing, chromium, screenshot
from conftest import FAST_ASSIGNMENTS, SLOW_ASSIGNMENTS, example_specs
from course.engine import integrity
from course.outputs.classreport import DATA, PAGE
from course.cli import main as cli
from course.engine.execute import Execution
from course.engine import judge
from course.outputs.report import grader_error_results, results_json, write_under

HOSTILE = "<img src=x onerror=alert(1)>"  # a folder name is a student id: it must reach the page as text


def mistake(course, assignment: str, name: str, about: str):
    table = judge.grader_module(course, course.assignment(assignment), "mistakes").MISTAKES
    return next(m for m in table if m.name == name and about in m.about)


def submission(course, student, assignment, *, failed=(), mistakes=(), seconds=10.0, faults=None, flags=(), status="graded"):
    """results.json of one submission: every graded test passed except `failed` (test -> the Mistake it names)."""
    points = course.assignment(assignment).tests
    tests = [judge.TestResult(name, name.replace("_", " "), float(p), 0.0 if name in failed else float(p), False,
                        "it differed" if name in failed else "",
                        [failed[name].message()] if name in failed and failed[name] else [])
             for name, p in points.items()]
    if status != "graded":
        tests = [judge.TestResult(t.name, t.description, t.max_score, 0.0, False, "not run") for t in tests]
    verdict = judge.Verdict(tests=tests, mistakes=sorted(mistakes))
    execution = Execution(seconds=seconds, faults=dict(faults or {}), status=status,
                          fatal="losses.ipynb is not a valid notebook (Expecting value)." if status != "graded" else None)
    results = results_json(student, assignment, verdict, execution, "", "fingerprint")
    return integrity.apply(results, list(flags))


@pytest.fixture(scope="module")
def graded_class(course, tmp_path_factory):
    """A class of 11 on 01_losses and 3 on 02_gradient_descent, as `course grade` leaves it."""
    out = tmp_path_factory.mktemp("graded")
    softmax = mistake(course, "01_losses", "softmax before cross-entropy", "cross_entropy_manual")
    summed = mistake(course, "01_losses", "sum instead of mean", "mse_manual")
    class_results = [
        *(submission(course, s, "01_losses", failed={"test_cross_entropy_matches_reference": softmax},
                     mistakes=["softmax before cross-entropy (cross_entropy_manual)"], seconds=s_time)
          for s, s_time in (("s01", 8.0), ("s02", 9.0), ("s03", 12.0), (HOSTILE, 10.0))),
        *(submission(course, s, "01_losses", failed={"test_mse_matches_reference": summed},
                     mistakes=["sum instead of mean (mse_manual)"]) for s in ("s05", "s06")),
        submission(course, "s07", "01_losses", seconds=31.5,
                   faults={4: "timed out after 30 s", 9: "stopped the kernel (it crashed, exited or ran out of memory)"}),
        submission(course, "s08", "01_losses", flags=["assigns to torch.testing.assert_close (line 2)"]),
        submission(course, "s09", "01_losses", faults={6: "raised RuntimeError: [enforce fail at alloc_cpu.cpp:117] "
                   "data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000 bytes."}),
        submission(course, "s10", "01_losses", status="not a notebook"),
        grader_error_results("s11", "01_losses", "the graders could not run (ImportError: no module)",
                             course.assignment("01_losses").max_score),
        # A mistake recognised on a function whose tests passed: no feedback line names its short.
        submission(course, "s01", "02_gradient_descent", mistakes=["gradients never zeroed (gd_trajectory)"]),
        submission(course, "s02", "02_gradient_descent"),
        submission(course, "s03", "02_gradient_descent"),
    ]
    for results in class_results:
        extra = results["extra_data"]
        write_under(out, [extra["student_id"], extra["assignment"], "results.json"], json.dumps(results))
    return out


@pytest.fixture(scope="module")
def report(graded_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli(["report", str(graded_class), "--out", str(out)]) == 0
    return out, json.loads((out / DATA).read_text())


def assignment(summary, assignment_id):
    return next(a for a in summary["assignments"] if a["assignment"] == assignment_id)


def test_misconceptions_counted_per_student_with_the_short_that_teaches_them(report):
    """Is each mistake listed by the share of students who made it, most frequent first, with its short?"""
    _, summary = report
    first = summary["misconceptions"][0]
    # 9 notebooks of 01 were run and judged: not the file that is not a notebook, not the grader error.
    assert (first["mistake"], first["assignment"], first["count"], first["graded"]) == \
           ("softmax before cross-entropy", "01_losses", 4, 9)
    assert first["sentence"] == "44% softmax before cross-entropy → revisit Short 10 — No Softmax Before CrossEntropyLoss"
    assert sorted(first["students"]) == sorted(["s01", "s02", "s03", HOSTILE])
    assert first["functions"] == ["cross_entropy_manual"]
    # 1 of 3 on 02 (33%) comes before 2 of 9 on 01 (22%): the share orders, not the count
    assert [(m["mistake"], m["count"], m["short_number"]) for m in summary["misconceptions"][1:]] == \
           [("gradients never zeroed", 1, 13), ("sum instead of mean", 2, 5)]
    # the shorts to revisit, by how many students made a mistake one of them teaches
    assert [s["short"].split(" —")[0] for s in summary["shorts_to_revisit"]] == ["Short 10", "Short 05", "Short 13"]


def test_short_of_a_mistake_no_feedback_names_is_read_from_the_mistakes_table(report):
    """A mistake recognised where no test failed has no 'Likely cause' line: is its short still found?"""
    _, summary = report
    zeroed = next(m for m in summary["misconceptions"] if m["mistake"] == "gradients never zeroed")
    assert zeroed["short"].startswith("Short 13 — Gradient Descent Toy Example")
    assert (zeroed["count"], zeroed["graded"]) == (1, 3)


def test_a_grader_error_is_never_counted_as_a_zero(report, course):
    """Is a grader error left out of the scores and the mean, and listed as the grader's own error?"""
    _, summary = report
    losses = assignment(summary, "01_losses")
    full = course.assignment("01_losses").max_score
    assert (losses["submissions"], losses["graded"], losses["grader_errors"], losses["not_a_notebook"]) == (11, 10, 1, 1)
    assert len(losses["scores"]) == 10 and 0.0 in losses["scores"]  # the non-notebook's 0 is a real score
    expected_mean = (4 * (full - 2) + 2 * (full - 2) + 3 * full + 0) / 10  # both failed tests are worth 2
    assert losses["mean"] == pytest.approx(expected_mean, rel=0, abs=0.005)  # report.json rounds to 2 places
    assert {(e["student"], e["graded"]) for e in summary["grader"]["errors"]} == {("s11", False)}


def test_tests_are_ordered_by_how_many_students_lost_points(report):
    """Does the test most students lost points on come first, with its pass rate and mean points?"""
    _, summary = report
    tests = assignment(summary, "01_losses")["tests"]
    assert tests[0]["name"] == "test_cross_entropy_matches_reference"
    assert (tests[0]["lost_points"], tests[0]["students"]) == (5, 10)  # the four, and the non-notebook
    assert tests[0]["pass_rate"] == pytest.approx(0.5, rel=0, abs=1e-9)
    assert tests[0]["mean_points"] == pytest.approx(1.0, rel=0, abs=1e-9)  # 5 of 10 got its 2 points
    assert tests[1]["name"] == "test_mse_matches_reference" and tests[1]["lost_points"] == 3
    assert tests[-1]["lost_points"] == 1  # every other test: only the file that is not a notebook


def test_faults_and_tamper_flags_name_the_students(report):
    """Are timeouts, kernel deaths, non-notebooks and tamper flags each listed with the student?"""
    _, summary = report
    seen = {(f["kind"], f["student"]) for f in summary["faults"]}
    assert {("timeout", "s07"), ("kernel died (crash, exit or memory)", "s07"), ("out of memory", "s09"),
            ("not a notebook", "s10"), ("tamper flag", "s08")} <= seen
    assert ("error in a cell", "s09") not in seen  # the memory limit, not the student's exception
    assert summary["faults"][0]["kind"] == "tamper flag"  # what to act on first comes first
    assert not any(f["student"] == "s11" for f in summary["faults"])  # the grader's failure is not the student's


def test_runtime_median_and_slowest(report):
    """Is the runtime per assignment given as the median and the slowest student?"""
    _, summary = report
    losses = assignment(summary, "01_losses")
    # the 9 that ran: 8, 9, 12, 10, 10, 10, 31.5, 10, 10 seconds
    assert losses["runtime_median_s"] == pytest.approx(10.0, rel=0, abs=1e-9)
    assert losses["runtime_slowest"] == {"student": "s07", "seconds": 31.5}


def test_page_in_a_real_browser(report, tmp_path):
    """Does the page load in headless Chromium without a console error or any request beyond itself,
    with every figure decoded and every table there, readable with JavaScript off? (Screenshot saved.)"""
    out, summary = report
    page = out / PAGE
    with_data = [a for a in summary["assignments"] if a["scores"]]
    with chromium(width=1280, height=1600) as browser:
        for javascript in (True, False):
            loaded = browser.load(page, javascript=javascript)
            assert loaded.errors == [], loaded.errors
            assert {url.split(":", 1)[0] for url in loaded.requests} <= {"file", "data"}, loaded.requests
            images = browser.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
            assert len(images) == 1 + len(with_data)  # the mistakes chart, one histogram per assignment
            assert all(done and width > 200 and alt for done, width, alt in images), images
            assert browser.evaluate("document.querySelectorAll('figure figcaption').length") == len(images)
            tables = browser.evaluate("document.querySelectorAll('table').length")
            assert tables == 2 + 1 + len(summary["assignments"]) + 2  # mistakes, shorts; overview; tests; faults, grader
            text = browser.evaluate("document.body.innerText")
            assert "44% softmax before cross-entropy" in text and "revisit Short 10" in text
            assert HOSTILE in text  # shown as text, never as an element
            assert browser.evaluate("document.querySelectorAll('img[onerror]').length") == 0
        (tmp_path / "class-report.png").write_bytes(loaded.screenshot)
    assert loaded.screenshot.startswith(b"\x89PNG") and len(loaded.screenshot) > 20_000


def test_a_missing_browser_is_a_failure_never_a_skip(monkeypatch):
    """Without Chromium on PATH, does the browser test fail with what to run, rather than skip?"""
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(BrowserMissing, match="make setup"):
        browser.Chromium()


@pytest.mark.parametrize("damage", ["empty folder", "results.json not JSON", "missing folder"])
def test_bad_grades_folder_is_one_line_and_damages_nothing(graded_class, tmp_path, capsys, damage):
    """An empty grades folder or a results.json that is not JSON: one clear line, exit 2, and the
    report already written is left exactly as it was?"""
    out = tmp_path / "report"
    out.mkdir()
    (out / PAGE).write_text("the report of last week")
    grades = tmp_path / "grades"
    if damage == "empty folder":
        grades.mkdir()
    elif damage == "results.json not JSON":
        write_under(grades, ["s01", "01_losses", "results.json"], "{ half written")
    assert cli(["report", str(grades), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(grades) in err[0], err
    assert {"empty folder": "holds no", "results.json not JSON": "not valid JSON",
            "missing folder": "not a folder"}[damage] in err[0]
    assert (out / PAGE).read_text() == "the report of last week"
    assert sorted(p.name for p in out.iterdir()) == [PAGE]


@pytest.mark.parametrize("assignments", [pytest.param(FAST_ASSIGNMENTS, id="01-02"),
                                         pytest.param(FAST_ASSIGNMENTS + SLOW_ASSIGNMENTS, id="all",
                                                      marks=pytest.mark.slow)])
def test_the_example_class_report_lists_every_example_under_its_mistake(graded_examples, tmp_path, assignments):
    """On the example class as `course grade` grades it (the session's real grading): is every example
    listed under the mistake its spec names, each mistake with the students whose results name it and
    a short of the lesson, and every submission counted?"""
    out = tmp_path / "report"
    graded = graded_examples.of(*assignments)
    assert cli(["report", str(graded_examples.grade(*assignments)), "--out", str(out)]) == 0
    summary = json.loads((out / DATA).read_text())
    listed = {}  # one mistake may have a row per short (eps inside the square root: Adam's, RMSprop's)
    for m in summary["misconceptions"]:  # the folder may hold other assignments too (graded by other tests)
        if m["assignment"] in assignments:
            listed.setdefault((m["assignment"], m["mistake"]), set()).update(m["students"])
    for assignment in assignments:
        for name, example in example_specs()[assignment].items():
            if example.mistake:
                assert name in listed.get((assignment, example.mistake), set()), (assignment, name, example.mistake)
    named = {}
    for (student, assignment), results in graded.items():
        for entry in results["extra_data"]["mistakes"]:
            named.setdefault((assignment, entry.rsplit(" (", 1)[0]), set()).add(student)
    assert listed == named
    assert all(m["short"].startswith("Short ") and m["short_number"] for m in summary["misconceptions"])
    assert sum(a["submissions"] for a in summary["assignments"] if a["assignment"] in assignments) == len(graded)
    # The README's screenshot (docs/class-report.png) is this page: `python tests/browser.py PAGE PNG`.
    shot = screenshot(out / PAGE, tmp_path / "class-report.png")
    assert shot.errors == [] and shot.screenshot.startswith(b"\x89PNG"), shot.errors
