"""Is grading deterministic, and does a re-run keep what is already graded and unchanged?"""
import json
import shutil

import pytest

from course.grade import main as grade

NAMES = ["perfect", "sum-instead-of-mean", "untouched"]


@pytest.fixture
def class_dir(course, tmp_path):
    for name in NAMES:
        shutil.copytree(course.path("examples", "submitted", name, "01_losses"), tmp_path / "submitted" / name / "01_losses")
    return tmp_path


def results(out):
    return {p.parent.parent.name: json.loads(p.read_text()) for p in out.glob("*/*/results.json")}


def without_timing(result):
    return {**result, "execution_time": None}


@pytest.mark.slow
def test_grading_twice_gives_identical_results(course, class_dir):
    """Apart from timing, are two gradings of the same submissions byte-for-byte the same?"""
    first, second = class_dir / "first", class_dir / "second"
    grade(course=course, paths=[class_dir / "submitted"], out_dir=first, jobs=2)
    grade(course=course, paths=[class_dir / "submitted"], out_dir=second, jobs=1)
    a, b = results(first), results(second)
    assert set(a) == set(NAMES)
    for name in NAMES:
        assert without_timing(a[name]) == without_timing(b[name])
    assert (first / "grades.csv").read_text() == (second / "grades.csv").read_text()


def test_rerun_keeps_unchanged_and_regrades_changed_or_lost(course, class_dir):
    """After an interrupted or repeated run, is only what changed or was never finished graded?"""
    out = class_dir / "out"
    grade(course=course, paths=[class_dir / "submitted"], out_dir=out, jobs=2)
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/*/results.json")}

    # One notebook changes, one result is lost (as if the run was killed before writing it).
    changed = class_dir / "submitted" / "untouched" / "01_losses" / "losses.ipynb"
    shutil.copy(class_dir / "submitted" / "perfect" / "01_losses" / "losses.ipynb", changed)
    lost = out / "sum-instead-of-mean" / "01_losses" / "results.json"
    lost.unlink()
    (lost.parent / ".results.json.partial").write_text("{half")  # a write that never finished

    gradebook = grade(course=course, paths=[class_dir / "submitted"], out_dir=out, jobs=2).gradebook
    after = {p: p.stat().st_mtime_ns for p in out.glob("*/*/results.json")}
    kept = out / "perfect" / "01_losses" / "results.json"
    assert after[kept] == stamps[kept], "an unchanged submission was graded again"
    assert lost.exists(), "a lost result was not regraded"
    assert results(out)["untouched"]["score"] == results(out)["perfect"]["score"], "a changed notebook was not regraded"
    assert len(gradebook.strip().splitlines()) == 1 + len(NAMES)


def test_eta_weighs_what_is_left_by_its_assignment():
    """Graded longest first, a class's ETA must not assume every submission takes as long as the
    first ones: one 03 (10 s) and one 01 (1 s) done in 11 s leave one 01, about 1 s."""
    from course.intake.collect import Submission
    from course.grade import Progress

    progress = Progress([Submission("a", "03", None), Submission("b", "01", None), Submission("c", "01", None)])
    progress.update("03", 10.0)
    assert progress.eta(10.0) == pytest.approx(10.0 * 2)  # nothing known of 01 yet: as long as what was seen
    progress.update("01", 1.0)
    assert progress.eta(11.0) == pytest.approx(1.0)
