"""Notes for the instructor, never shown to the student: where what the student's kernel reported about the
grader's runs disagrees with what the judge measured itself (measure.py). Scores never depend on them
(the judge's figures already won); a disagreement is a sign that the notebook tampered with the
harness (patched torch, changed DATA_DIR, trained more than it reported), worth a look by a person.

The engine calls `integrity_notes(student, course)` after judging and shows what it returns to the
instructor only.
"""
from __future__ import annotations

import math

from course.grading import sibling

budget = sibling(__file__, "budget")
measure = sibling(__file__, "measure")

FINGERPRINT_RTOL = 1e-9  # float64 sums of the same float32 pixels: only the summation order can differ


def _value(student, key):
    outcome = student.case(key).outcome
    value = outcome.get("value") if isinstance(outcome, dict) else None
    return value if isinstance(value, dict) else None


def _budget_notes(student, course, key: str) -> list[str]:
    seen = _value(student, key)
    if seen is None:
        return []
    notes = []
    _config, plan, seed = student.case(key).args
    losses = seen.get("losses") if isinstance(seen.get("losses"), list) else []
    judged = None
    try:
        judged = measure.accuracy(course.data_dir, seen.get("weights"))
    except Exception:
        notes.append(f"{key}: the kernel sent back weights that are not the lesson MLP's parameters.")
    kernel = seen.get("accuracy")
    if judged is not None and isinstance(kernel, float) and not math.isclose(kernel, judged, abs_tol=measure.ONE_IMAGE):
        notes.append(f"{key}: kernel reported accuracy {kernel:.4f} but the judge measured {judged:.4f}.")
    steps = seen.get("optimizer_steps")
    # More steps than losses hides work; fewer is an ordinary mistake (a train() that ignores the optimizer
    # it is given, or never calls step()), which the tests already charge and name.
    if isinstance(steps, int) and steps > len(losses):
        notes.append(f"{key}: the kernel counted {steps} optimizer steps but train() returned {len(losses)} losses "
                     f"(the budget is {measure.budget_steps(plan)} steps).")
    if losses and isinstance(losses[0], float):
        expected = measure.first_losses(str(course.data_dir), plan["train_size"], plan["batch_size"], seed)
        if measure.first_loss_gap(losses[0], expected) != 0:
            notes.append(f"{key}: first loss {losses[0]:.4f}, but the grader's initial weights on the first batch give "
                         f"{expected[0]:.4f} (train mode) / {expected[1]:.4f} (eval mode): pretrained weights, or a "
                         "history that does not start at the first step.")
    data, own = seen.get("data"), measure.data_fingerprint(str(course.data_dir), plan["train_size"])
    if not (isinstance(data, list) and len(data) == len(own)
            and all(isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=FINGERPRINT_RTOL) for a, b in zip(data, own))):
        notes.append(f"{key}: the kernel trained and tested on other data than the grader's MNIST "
                     f"(images and pixel sums {data!r:.120} against {list(own)!r:.120}): was DATA_DIR changed?")
    return notes


def _evaluate_notes(student, course) -> list[str]:
    seen = _value(student, "evaluate/0")
    if seen is None:
        return []
    try:
        judged = measure.accuracy(course.data_dir, seen.get("weights"))
    except Exception:
        return ["evaluate/0: the kernel sent back weights that are not the lesson MLP's parameters."]
    kernel = seen.get("expected")
    if isinstance(kernel, float) and not math.isclose(kernel, judged, abs_tol=measure.ONE_IMAGE):
        return [f"evaluate/0: kernel reported accuracy {kernel:.4f} but the judge measured {judged:.4f}."]
    return []


def integrity_notes(student, course) -> list[str]:
    """Instructor-only lines, one per disagreement between the kernel's own figures and the judge's, e.g.
    "budget/adam: kernel reported accuracy 0.9900 but the judge measured 0.1100". Empty for an honest
    notebook. Never raises: a note that cannot be made is itself a note."""
    notes = []
    for key in [f"budget/{name}" for name in budget.CONFIGS] + ["evaluate/0"]:
        try:
            notes += _evaluate_notes(student, course) if key == "evaluate/0" else _budget_notes(student, course, key)
        except Exception as error:
            notes.append(f"{key}: could not be compared ({type(error).__name__}: {error}).")
    return notes
