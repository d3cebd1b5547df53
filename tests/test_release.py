"""Is release/ what nbgrader makes from source/, deterministic, and free of anything students must not see?"""
import json
import re

import pytest

from course import release
from course.config import ConfigError


def released_text(course) -> dict:
    return {p: p.read_text() for p in course.path("release").rglob("*") if p.is_file()}


def test_release_check_passes_on_main(course):
    """Is the committed release/ exactly what `course release` generates now?"""
    assert release.release(course, check=True) == []


def test_release_is_deterministic(course, tmp_path):
    """Do two nbgrader runs of the same source give the same bytes?"""
    for assignment in course.assignments.values():
        first = release.generate(course, assignment, tmp_path / "a")
        second = release.generate(course, assignment, tmp_path / "b")
        for path in first.rglob("*"):
            if path.is_file():
                assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()


def test_release_holds_no_solution_or_hidden_test(course):
    """Are nbgrader's solution and hidden-test regions gone, and every solution line with them?"""
    from course.notebook import nbgrader, read_notebook

    texts = released_text(course)
    assert texts, "release/ is empty"
    for path, text in texts.items():
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
            assert marker not in text, f"{path} contains {marker}"
    for assignment in course.assignments.values():
        source = read_notebook(course.path("source", assignment.id, assignment.notebook))
        released = json.dumps([c.source for c in read_notebook(course.path("release", assignment.id, assignment.notebook)).cells])
        for cell in source.cells:
            if not nbgrader(cell).get("solution"):
                continue
            inside = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, flags=re.S)
            for line in "\n".join(inside).splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#"):
                    assert json.dumps(line)[1:-1] not in released, f"solution line released: {line}"


def test_release_holds_nothing_from_autograder_or_solutions(course):
    """Does no file, and no distinctive line of a grader or reference, appear in release/?"""
    texts = released_text(course)
    names = {p.name for p in texts}
    for folder in ("autograder", "solutions"):
        for path in course.path(folder).rglob("*.py"):
            assert path.name not in names or path.suffix != ".py", f"{path.name} released"
            for line in path.read_text().splitlines():
                line = line.strip()
                if len(line) > 30 and not line.startswith(("#", "import", "from", '"""', "def ", "return")):
                    for released_path, text in texts.items():
                        assert json.dumps(line)[1:-1] not in text, f"{path}: '{line}' appears in {released_path}"


def test_points_disagreement_is_one_clear_error(course, tmp_path):
    """Does a test cell whose points differ from course.toml stop the release with one sentence?"""
    from dataclasses import replace

    assignment = course.assignment("01_losses")
    wrong = replace(assignment, tests={**assignment.tests, "test_mse_matches_reference": 5})
    with pytest.raises(ConfigError, match="test_mse_matches_reference.*points"):
        release.check_points_agree(course, wrong)
