"""Do the bundled example submissions get exactly the grades and diagnoses their specs promise?"""
import pytest

from conftest import SLOW_ASSIGNMENTS, example_specs, per_assignment

SPECS = example_specs()
CASES = [pytest.param(a, name, ex, id=f"{a}-{name}", marks=[pytest.mark.slow] if a in SLOW_ASSIGNMENTS else [])
         for a, examples in SPECS.items() for name, ex in examples.items()]


def failed(results) -> set:
    return {t["name"] for t in results["tests"] if t["score"] < t["max_score"]}


@pytest.mark.parametrize("assignment,name,example", CASES)
def test_example_loses_exactly_its_tests_and_is_diagnosed(graded_examples, course, assignment, name, example):
    """Does this submission fail exactly the tests its spec names, lose exactly their points, and get
    its mistake named (and no other mistake when it has none)?"""
    results = graded_examples[(name, assignment)]
    points = course.assignment(assignment).tests
    assert [t["name"] for t in results["tests"]] == list(points), "every graded test is reported, in order"
    assert failed(results) == set(example.fails)
    assert results["score"] == pytest.approx(sum(points.values()) - sum(points[t] for t in example.fails))
    mistakes = [m.split(" (")[0] for m in results["extra_data"]["mistakes"]]
    if example.mistake:
        assert example.mistake in mistakes
        for test in results["tests"]:
            if test["name"] in example.fails and test["status"] == "failed":
                assert "What differed:" in test["output"]
    else:
        assert mistakes == [], "no diagnosis may fire on a submission without a mistake"


@pytest.mark.parametrize("assignment", per_assignment(sorted(SPECS)))
def test_reference_scores_full_marks_and_release_scores_zero(graded_examples, course, assignment):
    """Does the reference (source notebook answers) score full marks and the untouched release 0?"""
    perfect, untouched = graded_examples[("perfect", assignment)], graded_examples[("untouched", assignment)]
    maximum = course.assignment(assignment).max_score
    assert perfect["score"] == perfect["max_score"] == maximum
    assert untouched["score"] == 0 and untouched["max_score"] == maximum
    assert untouched["extra_data"]["status"] == "graded", "the untouched release is graded, not a crash"


@pytest.mark.parametrize("assignment", per_assignment())
def test_gradebook_lists_every_example(graded_examples, assignment):
    """Does grades.csv hold one row per graded submission, with the columns instructors expect?"""
    graded = graded_examples.of(assignment)
    rows = (graded_examples.out / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student_id,assignment,score,max_score")
    assert len([row for row in rows[1:] if row.split(",")[1] == assignment]) == len(graded) == len(SPECS[assignment])


@pytest.mark.parametrize("assignment", per_assignment())
def test_feedback_never_shows_hidden_inputs_or_grader_code(graded_examples, assignment):
    """Is every feedback file free of grader internals (tracebacks, file paths, reference code)?"""
    for path in graded_examples.grade(assignment).glob(f"*/{assignment}/feedback.md"):
        text = path.read_text()
        for leak in ("Traceback", "autograder/", "solutions", "grader_inputs", "def test_", "generator=g"):
            assert leak not in text, f"{path}: {leak}"


@pytest.mark.parametrize("assignment", per_assignment())
def test_no_example_is_flagged_but_the_deliberate_tamperer(graded_examples, assignment):
    """Is extra_data.integrity empty for every example (static scan, probe and 03's judge-side notes alike),
    except the one that patches torch.testing on purpose?"""
    flagged = sorted(f"{key[0]}/{key[1]}" for key, results in graded_examples.of(assignment).items()
                     if results["extra_data"]["integrity"])
    assert flagged == (["tampers-with-assert-close/01_losses"] if assignment == "01_losses" else []), flagged
