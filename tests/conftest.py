"""Shared fixtures: the real course, graded once per session on the bundled example submissions."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# CI and these tests read the official MNIST files beside the checkout; never a silent skip.
os.environ.setdefault("COURSE_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))

from course.config import load  # noqa: E402


@pytest.fixture(scope="session")
def course():
    return load(ROOT)


def example_specs() -> dict:
    """assignment id -> {example name -> Example}, read from examples/specs/."""
    sys.path.insert(0, str(ROOT / "examples"))
    import build  # examples/build.py; the specs import Example from it by this name

    return build.load_specs(load(ROOT))


FAST_ASSIGNMENTS = ("01_losses", "02_gradient_descent")  # their examples grade in about a second each
SLOW_ASSIGNMENTS = ("03_mnist_optimizers",)  # MNIST training: about half a minute each, so the slow set


def per_assignment(assignments=None):
    """pytest params, one per assignment: 03's marked slow (its examples train on MNIST)."""
    return [pytest.param(a, marks=[pytest.mark.slow] if a in SLOW_ASSIGNMENTS else [])
            for a in (assignments or FAST_ASSIGNMENTS + SLOW_ASSIGNMENTS)]


class GradedExamples:
    """The bundled example submissions, graded by `course grade` (2 jobs) into one folder, one assignment
    at a time on first use: the fast set grades 01's and 02's only."""

    def __init__(self, course, out: Path):
        self.course, self.out, self.results = course, out, {}

    def grade(self, *assignments: str) -> Path:
        """Grade every example of these assignments (once per session); the folder they are in."""
        from course.grade import main

        todo = [a for a in assignments if not any(key[1] == a for key in self.results)]
        if todo:
            paths = sorted(p for a in todo for p in self.course.path("examples", "submitted").glob(f"*/{a}"))
            run = main(course=self.course, paths=paths, out_dir=self.out, jobs=2)
            assert not run.grader_errors and not run.not_graded, run.table()
            for path in self.out.glob("*/*/results.json"):
                self.results[(path.parent.parent.name, path.parent.name)] = json.loads(path.read_text())
        return self.out

    def __getitem__(self, key: tuple[str, str]) -> dict:
        self.grade(key[1])
        return self.results[key]

    def of(self, *assignments: str) -> dict:
        """(student, assignment) -> results, for every example of these assignments."""
        self.grade(*assignments)
        return {key: value for key, value in self.results.items() if key[1] in assignments}


@pytest.fixture(scope="session")
def graded_examples(course, tmp_path_factory):
    return GradedExamples(course, tmp_path_factory.mktemp("graded"))
