"""Is `course bundle` a Gradescope autograder that installs with plain pip, holds what grading needs
and nothing else, writes one honest results.json whatever happens, and grades as `course grade` does?"""
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from course.scale import bundle
from course.doctor import MNIST_FILES
from course.scale.gradescope import WHEN, for_gradescope, summary

ASSIGNMENTS = ["01_losses", "02_gradient_descent", "03_mnist_optimizers"]
# A few examples per assignment, each with its own verdict: full marks, a named mistake, nothing done.
REPLAYED = {
    "01_losses": ["perfect", "sum-instead-of-mean", "untouched"],
    "02_gradient_descent": ["perfect", "adam-no-bias-correction", "untouched"],
    "03_mnist_optimizers": ["perfect", "no-zero-grad"],
}
GRADESCOPE_ZIP_MB = 100  # our own ceiling for an upload (Gradescope publishes none we could find); 03's is ~12 MB


@pytest.fixture(scope="module")
def bundles(course, tmp_path_factory):
    """Every assignment bundled once: assignment id -> the zip."""
    folder = tmp_path_factory.mktemp("bundles")
    return {a: bundle.build(course, a, folder / f"{a}.zip") for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_zip_follows_gradescopes_layout_and_holds_only_this_assignment(course, bundles, assignment):
    """setup.sh and run_autograder executable at the root; the graders, reference, release, course.toml
    of this assignment alone; its data when it reads some; no examples, no other assignment."""
    with zipfile.ZipFile(bundles[assignment]) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        toml = tomllib.loads(archive.read("course.toml").decode())
        settings = json.loads(archive.read("bundle.json"))
    assert {"setup.sh", "run_autograder", "course.toml", "bundle.json", "requirements.txt"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert list(toml["assignments"]) == [assignment] and toml["course"]["data_dir"] == "data"
    assert settings["assignment"] == assignment and settings["max_score"] == course.assignment(assignment).max_score
    notebook = course.assignment(assignment).notebook
    assert {f"release/{assignment}/{notebook}", f"source/{assignment}/{notebook}"} <= names
    assert any(n.startswith(f"autograder/{assignment}/test_") for n in names)
    assert "engine/course/scale/gradescope.py" in names and "engine/pyproject.toml" in names
    others = [a for a in ASSIGNMENTS if a != assignment]
    assert not [n for n in names if any(a in n for a in others) or n.startswith("examples/") or "__pycache__" in n]
    data = sorted(n for n in names if n.startswith("data/"))
    if "MNIST" in course.assignment(assignment).datasets:
        assert data == [f"data/MNIST/raw/{name}" for name in sorted(MNIST_FILES)]
    else:
        assert data == []
    assert bundles[assignment].stat().st_size < GRADESCOPE_ZIP_MB * 1e6


def test_setup_installs_pinned_cpu_torch_with_plain_pip(bundles):
    """Does setup.sh install Python 3.11, the CPU-only torch and torchvision at pyproject's pins, then the
    pinned rest and this package with pip, and nothing from conda, a browser or TeX?"""
    with zipfile.ZipFile(bundles["03_mnist_optimizers"]) as archive:
        setup = archive.read("setup.sh").decode()
        requirements = archive.read("requirements.txt").decode().split()
    pins = tomllib.loads((Path(bundle.ENGINE_ROOT) / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = [p for p in pins if p.startswith(("torch==", "torchvision=="))]
    assert len(torch) == 2 and f"--index-url \"$TORCH_INDEX_URL\" {' '.join(torch)}" in setup
    assert "https://download.pytorch.org/whl/cpu" in setup and "python3.11 -m venv" in setup
    assert "-r \"$SOURCE/requirements.txt\"" in setup and "--no-deps \"$SOURCE/engine\"" in setup
    commands = "\n".join(line.split("#")[0] for line in setup.lower().splitlines())
    for absent in ("conda", "chromium", "texlive", "xelatex", "pandoc"):
        assert absent not in commands
    assert all("==" in line for line in requirements), "every dependency is pinned"
    assert not [r for r in requirements if r.split("==")[0] in ("torch", "torchvision", "distributed")]


def test_bundle_is_the_same_bytes_when_nothing_changed(course, bundles, tmp_path):
    again = bundle.build(course, "01_losses", tmp_path / "again.zip")
    assert again.read_bytes() == bundles["01_losses"].read_bytes()


def two_tests(second: str = "failed") -> dict:
    """The engine's results: a visible test that passed, and a test not marked visible."""
    tests = [{"name": "test_a", "status": "passed", "score": 1, "max_score": 1, "visibility": "visible"},
             {"name": "test_b", "status": second, "score": int(second == "passed"), "max_score": 1,
              "visibility": "after_published"}]
    return {"score": 1 + int(second == "passed"), "max_score": 2, "output": "Your notebook ran without problems.",
            "tests": tests, "extra_data": {"status": "graded"}}


@pytest.mark.parametrize("hidden", ["after_due_date", "after_published", "hidden", "visible"])
def test_visibility_is_mapped_and_all_passed_never_hides_a_failure(hidden):
    """Is each test not marked visible shown when the bundle says, and is "all passed" said only when every
    test, shown or not, passed?"""
    results = for_gradescope(two_tests(), hidden)
    assert [t["visibility"] for t in results["tests"]] == ["visible", hidden]
    assert "All" not in results["output"]
    if hidden == "visible":
        assert results["output"].endswith("Checks shown now: 1 of 2 passed.")
    else:
        assert results["output"].endswith("Checks shown now: 1 of 1 passed. 1 more check(s) are shown "
                                          f"{WHEN[hidden]}; the score counts them.")
    assert results["stdout_visibility"] == "hidden"
    assert for_gradescope(two_tests("passed"), hidden)["output"].endswith("All 2 checks passed.")
    assert summary([]) == ""


def lay_out(zip_path: Path, root: Path, notebook: Path | None = None) -> Path:
    bundle.lay_out(zip_path, root)
    (root / "submission").mkdir(parents=True)
    if notebook is not None:
        shutil.copy(notebook, root / "submission" / notebook.name)
    return root


def run_autograder(root: Path, python: str = sys.executable) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DATA_DIR"}
    subprocess.run([str(root / "run_autograder")], env={**env, "COURSE_PYTHON": python}, cwd=root,
                   capture_output=True, text=True, timeout=600)
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.slow  # runs the bundle's run_autograder end to end, as the replay below does
def test_grader_error_is_one_results_json_never_a_final_zero(bundles, tmp_path, course):
    """When the bundle's own graders are broken, is results.json written once, as a grader-error with no
    score and no tests, telling the student a score shown is not their grade, the reason kept for the
    instructor? And when the grader cannot even start?"""
    root = lay_out(bundles["01_losses"], tmp_path / "autograder",
                   course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"))
    (root / "source" / "autograder" / "01_losses" / "inputs.py").unlink()
    results = run_autograder(root)
    assert results["score"] is None and results["tests"] == []
    assert results["extra_data"]["status"] == "grader-error" and "inputs.py" in results["extra_data"]["grader_errors"][0]
    assert "is not your grade" in results["output"] and "passed" not in results["output"]
    assert sorted(p.name for p in (root / "results").iterdir()) == ["results.json"], "written once, atomically"

    shutil.rmtree(root / "results")
    results = run_autograder(root, python="/nonexistent/python")
    assert results["score"] is None and results["extra_data"]["status"] == "grader-error"
    assert "not your grade" in results["output"] and "exited with status 127" in results["extra_data"]["grader_errors"][0]


@pytest.mark.slow  # runs the bundle's run_autograder end to end, as the replay below does
def test_submission_without_a_notebook_scores_zero_with_why(bundles, tmp_path, course):
    """Is a submission holding no notebook graded 0 on every test, with one sentence saying what to submit?"""
    root = lay_out(bundles["01_losses"], tmp_path / "autograder")
    (root / "submission" / "losses.py").write_text("def mse_manual(a, b): ...\n")
    results = run_autograder(root)
    assert results["score"] == 0 and [t["score"] for t in results["tests"]] == [0] * len(course.assignment("01_losses").tests)
    assert results["output"].startswith("No notebook (.ipynb file) was found in your submission (it held losses.py)")
    assert results["extra_data"]["status"] == "not a notebook"


def replay(course, bundles, assignment, names, check_dir):
    notebooks = [next(course.path("examples", "submitted", n, assignment).glob("*.ipynb")) for n in names]
    return bundle.check(course, bundles[assignment], check_dir, notebooks, setup=False)


def test_replayed_bundle_grades_as_course_grade(course, bundles, tmp_path, capsys):
    """Does the 01 bundle, replayed in a fake /autograder tree (`course bundle --check --no-setup`) on an
    example with a named mistake, give it the scores `course grade` gives, with its kernel sandboxed as an
    unprivileged uid?"""
    assert replay(course, bundles, "01_losses", ["sum-instead-of-mean"], tmp_path) == 0
    assert "Every score agrees with course grade." in capsys.readouterr().out
    results = json.loads((tmp_path / "autograder" / "results" / "results.json").read_text())
    assert results["extra_data"]["isolation"].startswith("isolated:")
    if os.geteuid() == 0:
        assert "an unprivileged uid of its own" in results["extra_data"]["isolation"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_bundle_replays_its_examples_as_course_grade(course, bundles, tmp_path, capsys, assignment):
    """Does each assignment's bundle give a few of its examples the scores `course grade` gives them?"""
    assert replay(course, bundles, assignment, REPLAYED[assignment], tmp_path) == 0
    assert "Every score agrees with course grade." in capsys.readouterr().out
