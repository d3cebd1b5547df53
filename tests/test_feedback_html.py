"""feedback.html, one per graded submission: the score, every check with its verdict, each mistake with the
short that teaches it quoted from the lesson, the student's own figures; self-contained, checked in a real
headless Chromium (screenshots in the test's folder)."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium

from course.authoring import lesson
from course.outputs.feedback import page

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT.parent / "shared" / "lesson"
PAGES = [  # (student, assignment, a short the page must quote or None); 03's trains on MNIST, so the slow set
    pytest.param("softmax-before-cross-entropy", "01_losses", 10, id="softmax-before-cross-entropy-01_losses"),
    pytest.param("grad-not-zeroed", "02_gradient_descent", 13, id="grad-not-zeroed-02_gradient_descent"),
    pytest.param("perfect", "03_mnist_optimizers", None, id="perfect-03_mnist_optimizers", marks=pytest.mark.slow),
]


def test_shorts_file_is_the_lessons():
    """Is autograder/shorts.json exactly what course/authoring/lesson.py extracts from ../shared/lesson (32 shorts)?"""
    extracted = lesson.extract(LESSON)
    assert len(extracted) == 32 and all(s.title and s.hook and s.mistake for s in extracted.values())
    assert (ROOT / "autograder" / lesson.SHORTS_FILE).read_text() == lesson.dumps(extracted), \
        "run `python -m course.authoring.lesson ../shared/lesson`"


def test_page_escapes_what_a_submission_wrote():
    """A student id, a message or a mistake carrying markup is shown as text, never run."""
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    results = {"score": 1, "max_score": 2, "output": evil,
               "tests": [{"name": "t", "score": 0, "max_score": 1, "status": "failed", "output": f"d\nWhat differed: {evil}"}],
               "extra_data": {"student_id": evil, "assignment": "01_losses", "mistakes": [f"{evil} (f)"],
                              "mistake_shorts": {evil: "Short 10 — x"}}}
    text = page(results, "Day 5", lesson.extract(LESSON))
    assert "<script>" not in text and "<img src=x" not in text and "&lt;script&gt;" in text


@pytest.mark.parametrize("student,assignment,short", PAGES)
def test_feedback_page_in_a_real_browser(graded_examples, course, tmp_path, student, assignment, short):
    """Loaded in headless Chromium: no console error, nothing fetched but the page, every check listed with its
    verdict, the named mistake with its short's title and common mistake, and (03) the student's own figure."""
    results = graded_examples[(student, assignment)]
    path = graded_examples.out / student / assignment / "feedback.html"
    with chromium(width=1100, height=1400) as browser:
        loaded = browser.load(path, javascript=True, full_page=True)
        text = browser.evaluate("document.body.innerText")
        images = browser.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        scripts = browser.evaluate("document.scripts.length")
    (tmp_path / f"{student}-{assignment}.png").write_bytes(loaded.screenshot)
    assert loaded.errors == [] and scripts == 0
    assert [r for r in loaded.requests if not r.startswith(("file://", "data:"))] == []
    assert f"Score: {results['score']:g} / {results['max_score']:g}" in text
    for test in results["tests"]:
        assert test["name"] in text
    assert text.count("✓ passed") == sum(t["status"] == "passed" for t in results["tests"])
    if short is not None:
        assert short in {lesson.number(s) for s in results["extra_data"]["mistake_shorts"].values()}
        quoted = lesson.extract(LESSON)[short]
        assert f"Short {short:02d} — {quoted.title}" in text and quoted.mistake.replace("`", "") in text
    if assignment == "03_mnist_optimizers":
        assert len(images) >= 2 and all(done and width > 100 for done, width in images), \
            "the student's loss-curve figure and the grader's runs beside the reference's"
        curves = results["extra_data"]["curves"]
        assert [c["title"] for c in curves] == ["Adam lr=0.001", "Adam lr=0.1", "SGD lr=0.01 momentum=0.9",
                                                 "Adam lr=0.001, ExponentialLR(gamma=0.5) stepped once per epoch"]
        assert all(c["yours"] and len(c["yours"]) == len(c["low"]) for c in curves)
        assert "The grader's training runs with your train()" in text
    assert len(loaded.screenshot) > 10_000


def _curves(yours):
    low = [2.3 / (1 + i) for i in range(47)]
    return [{"title": "Adam lr=0.001", "yours": yours, "low": low, "high": [2 * x for x in low]}]


def _results(curves):
    return {"score": 20, "max_score": 24, "output": "", "tests": [],
            "extra_data": {"student_id": "s", "assignment": "03_mnist_optimizers", "mistakes": [], "curves": curves}}


def test_page_draws_the_grader_runs_beside_the_reference():
    """A 03 result with loss curves gets one more figure, a PNG drawn here (matplotlib), with its explanation;
    a run with no usable losses still shows the reference's band; no curves, no section."""
    drawn = page(_results(_curves([3.0 / (1 + i) for i in range(47)])), "Day 5", {})
    assert drawn.count('<img alt="loss curves of the grader') == 1 and "data:image/png;base64,iVBORw0KGgo" in drawn
    assert "The grader's training runs with your train()" in drawn
    assert page(_results(_curves(None)), "Day 5", {}).count("<img") == 1
    assert page(_results(_curves([1.0] * 60)), "Day 5", {}).count("<img") == 1  # a run with more losses than steps
    assert "training runs" not in page(_results([]), "Day 5", {})


def test_page_stands_when_the_curves_are_malformed():
    """Curves that are not curves.py's format (a hand-edited results.json) leave the page without the figure."""
    for bad in ([{"title": "x"}], ["nonsense"], [{**_curves(None)[0], "high": []}], {"adam": "a dict"}):
        text = page(_results(bad), "Day 5", {})
        assert "<img" not in text and "Score: 20 / 24" in text


def test_curves_module_smooths_and_bands(course):
    """curves.py: 470 steps become 47 window means (the last window may be short); the band is the per-point
    lowest and highest over runs; loss_curves reads the student's budget runs and keeps a failed run as None."""
    from course.engine.judge import grader_module
    from course.grading import Call, Student

    assignment = course.assignment("03_mnist_optimizers")
    curves = grader_module(course, assignment, "curves")
    assert curves.smoothed([1.0] * 9 + [11.0, 4.0, 6.0]) == [2.0, 5.0]
    assert curves.band([[1.0] * 10 + [3.0], [2.0] * 10 + [1.0]]) == {"low": [1.0, 1.0], "high": [2.0, 3.0]}
    calls = {f"budget/{name}": Call("train", ()) for name in ("adam", "adam_lr_0.1", "sgd_momentum", "adam_exponential")}
    outcomes = {"budget/adam": {"value": {"losses": [2.0] * 470}},
                "budget/sgd_momentum": {"value": {"losses": [2.0] * 469 + [float("nan")]}},
                "budget/adam_exponential": {"error": "StudentError: boom"}}
    found = curves.loss_curves(Student(calls, outcomes, []), course)  # in budget.CONFIGS order
    assert [c["yours"] for c in found] == [[2.0] * 47, None, None, None] and len(found[0]["low"]) == 47
    assert found[0]["title"] == "Adam lr=0.001" and set(found[0]) == {"title", "yours", "low", "high"}
