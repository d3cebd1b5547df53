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


@pytest.fixture(scope="session")
def graded_examples(course, tmp_path_factory):
    """Every example submission graded once by `course grade` (2 jobs): (student, assignment) -> results."""
    from course.grade import main

    out = tmp_path_factory.mktemp("graded")
    main(course=course, paths=[course.path("examples", "submitted")], out_dir=out, jobs=2)
    return {
        (path.parent.parent.name, path.parent.name): json.loads(path.read_text())
        for path in out.glob("*/*/results.json")
    } | {"__out__": out}
