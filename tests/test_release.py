"""Is release/ what nbgrader makes from source/, deterministic, and free of anything students must not see?"""
import json
import re

import pytest

from course.authoring import release
from course.config import ConfigError


def released_text(course) -> dict:
    return {p: p.read_text() for p in course.path("release").rglob("*") if p.is_file()}


@pytest.mark.slow
def test_release_is_deterministic(course, tmp_path):
    """Do two nbgrader runs of the same source give the same bytes?"""
    for assignment in course.assignments.values():
        first = release.generate(course, assignment, tmp_path / "a")
        second = release.generate(course, assignment, tmp_path / "b")
        for path in first.rglob("*"):
            if path.is_file():
                assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()


def test_release_never_ships_the_paired_text(course, tmp_path):
    """Does nbgrader leave out the source notebook's jupytext text (it holds the solutions)?"""
    from course.authoring.sources import pair_of

    assignment = course.assignment("01_losses")
    text = pair_of(course, assignment).text
    assert text.is_file() and "### BEGIN SOLUTION" in text.read_text()
    generated = release.generate(course, assignment, tmp_path)
    assert sorted(p.name for p in generated.iterdir()) == [assignment.notebook]


def test_stock_nbgrader_never_releases_the_paired_text(course, tmp_path):
    """With this course's nbgrader_config.py, does plain `nbgrader generate_assignment` (README, "Grading with
    stock nbgrader") leave out the jupytext text that holds the solutions?"""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy(course.root / name, tmp_path)
    shutil.copytree(course.path("source", "01_losses"), tmp_path / "source" / "01_losses")
    assert (tmp_path / "source" / "01_losses" / "losses.py").is_file()
    nbgrader = Path(sys.executable).parent / "nbgrader"
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ['PATH']}"}  # nbgrader runs alembic
    result = subprocess.run([str(nbgrader), "generate_assignment", "01_losses", "--force"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "release" / "01_losses").iterdir()) == ["losses.ipynb"]


def test_release_holds_no_solution_or_hidden_test(course):
    """Are nbgrader's solution and hidden-test regions gone, and every solution line with them?"""
    from course.engine.notebook import read_notebook

    texts = released_text(course)
    assert texts, "release/ is empty"
    for path, text in texts.items():
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
            assert marker not in text, f"{path} contains {marker}"
    for assignment in course.assignments.values():
        source = read_notebook(course.path("source", assignment.id, assignment.notebook))
        released = json.dumps([c.source for c in read_notebook(course.path("release", assignment.id, assignment.notebook)).cells])
        pattern = r"### BEGIN SOLUTION\n(.*?)### END SOLUTION"
        public = json.dumps([re.sub(pattern, "", c.source, flags=re.S) for c in source.cells])
        for cell in source.cells:
            for line in "\n".join(re.findall(pattern, cell.source, flags=re.S)).splitlines():
                line = json.dumps(line.split("  #")[0].strip())[1:-1]  # code without its comment
                # Lines that also stand outside the solution regions (a loop header, say) prove nothing.
                if len(line) > 12 and not line.startswith("#") and line not in public:
                    assert line not in released, f"solution line released: {line}"


def public_text(course) -> str:
    """What students may see anyway: the source notebooks with their solution regions removed."""
    from course.engine.notebook import read_notebook

    cells = []
    for a in course.assignments.values():
        for c in read_notebook(course.path("source", a.id, a.notebook)).cells:
            cells.append(re.sub(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", "", c.source, flags=re.S))
    return json.dumps(cells)


def test_release_holds_nothing_from_autograder_or_solutions(course):
    """Does no grader or reference file, nor any of their lines the notebooks do not show anyway,
    appear in release/?"""
    texts = released_text(course)
    names = {p.name for p in texts}
    public = public_text(course)
    for folder in ("autograder", "solutions"):
        for path in course.path(folder).rglob("*.py"):
            assert path.name not in names, f"{path.name} released"
            for line in path.read_text().splitlines():
                line = json.dumps(line.strip())[1:-1]
                if len(line) > 30 and not line.startswith(("#", "import", "from", "def ", "return")) and line not in public:
                    for released_path, text in texts.items():
                        assert line not in text, f"{path}: '{line}' appears in {released_path}"


def test_points_disagreement_is_one_clear_error(course, tmp_path):
    """Does a test cell whose points differ from course.toml stop the release with one sentence?"""
    from dataclasses import replace

    assignment = course.assignment("01_losses")
    wrong = replace(assignment, tests={**assignment.tests, "test_mse_matches_reference": 5})
    with pytest.raises(ConfigError, match="test_mse_matches_reference.*points"):
        release.check_points_agree(course, wrong)
