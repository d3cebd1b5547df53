"""Loss curves for the student's feedback page: per grader config, the loss history of the grader's budget
run with the student's train(), beside the band the reference's runs lie in (written by `course calibrate`
into thresholds.toml from the same runs it measures the thresholds on).

Both are smoothed the same way: the mean of each WINDOW consecutive steps. A figure is a courtesy: the
engine calls `loss_curves(student, course)` after judging, and no score ever depends on what it returns.
"""
from __future__ import annotations

import math

from course.grading import sibling

budget = sibling(__file__, "budget")

WINDOW = 10  # steps per point: a budget run's 470 steps become 47 points
DIGITS = 4  # losses are written rounded to 4 decimals (a figure needs no more)


def smoothed(losses: list[float]) -> list[float]:
    """The mean loss of each WINDOW consecutive steps (the last window may be shorter)."""
    return [round(math.fsum(losses[i:i + WINDOW]) / len(losses[i:i + WINDOW]), DIGITS)
            for i in range(0, len(losses), WINDOW)]


def band(histories: list[list[float]]) -> dict:
    """{"low": [...], "high": [...]}: per smoothed point, the lowest and highest of the reference's runs."""
    curves = [smoothed(h) for h in histories]
    return {"low": [min(points) for points in zip(*curves)], "high": [max(points) for points in zip(*curves)]}


def _student_losses(student, key: str) -> list[float] | None:
    """The budget run's losses as the kernel returned them, when they are a list of finite floats."""
    outcome = student.case(key).outcome
    value = outcome.get("value") if isinstance(outcome, dict) else None
    losses = value.get("losses") if isinstance(value, dict) else None
    if not isinstance(losses, list) or not losses or not all(isinstance(x, float) and math.isfinite(x) for x in losses):
        return None
    return losses


def loss_curves(student, course) -> list[dict]:
    """Per grader config, in budget.CONFIGS order: {"title": what the student may be told of the config,
    "yours": the run's smoothed losses (None when it gave no usable losses), "low", "high": the reference's
    band}. No config name, window or step count: feedback never states the budget (README)."""
    reference = budget.thresholds().get("curves", {})
    curves = []
    for name, config in budget.CONFIGS.items():
        if name not in reference:
            continue
        losses = _student_losses(student, f"budget/{name}")
        curves.append({"title": budget.describe(config), "yours": None if losses is None else smoothed(losses),
                       "low": list(reference[name]["low"]), "high": list(reference[name]["high"])})
    return curves
