"""`course doctor`: check the grader's own setup before any student's notebook is touched.

A failure here is the instructor's to fix, never a student's score: `course grade` runs these checks
first and grades nothing that a failed check concerns; `course release` runs the config checks.
Each failed check is one sentence saying what is wrong and how to fix it.

The checks, in order (as nbgrader declares its preprocessors). Ordering rules:
- the graders' files come first: the test-name check reads them;
- test names before data: a course.toml typo is found without touching the data;
- the data before the sandbox, which mounts it;
- the out folder and the sandbox are about this machine and run, course-wide, last.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import DATA_ENV, Assignment, ConfigError, Course


@dataclass(frozen=True)
class Finding:
    scope: str  # "course", or the assignment id it concerns
    problem: str  # one sentence: what is wrong, and how to fix it


class SetupError(ConfigError):
    """The grader's setup failed course-wide checks: nothing was graded."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__(" ".join(f.problem for f in findings))


# --- the graders and the reference --------------------------------------------------------------

def grader_files(course: Course, assignment: Assignment) -> list[str]:
    """autograder/<a>/ holds inputs.py, mistakes.py and test files; the reference modules they import exist."""
    folder = course.path("autograder", assignment.id)
    if not folder.is_dir():
        return [f"{folder} does not exist: every assignment in course.toml needs its hidden graders there."]
    problems = [f"{folder / name} does not exist: the graders of {assignment.id} need it."
                for name in ("inputs.py", "mistakes.py") if not (folder / name).is_file()]
    if not sorted(folder.glob("test_*.py")):
        problems.append(f"{folder} has no test_*.py file: {assignment.id} has no graders.")
    for module in sorted(_reference_modules(folder)):
        if not course.path("solutions", f"{module}.py").is_file():
            problems.append(f"the graders of {assignment.id} import solutions.{module}, but "
                            f"{course.path('solutions', module + '.py')} does not exist.")
    release = course.path("release", assignment.id, assignment.notebook)
    if not release.is_file():
        problems.append(f"{release} does not exist: run `course release {assignment.id}` first.")
    return problems


def _reference_modules(folder: Path) -> set[str]:
    found = set()
    for path in folder.glob("*.py"):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue  # the test-name check says so
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "solutions":
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("solutions."):
                found.add(node.module.split(".")[1])
    return found


def declared_tests(course: Course, assignment: Assignment) -> list[str]:
    """Every test course.toml names is a grader in autograder/<a>/, and every grader is named there."""
    defined: set[str] = set()
    problems = []
    for path in sorted(course.path("autograder", assignment.id).glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError) as error:
            problems.append(f"{path} cannot be read as Python ({type(error).__name__}): fix the grader file.")
            continue
        defined |= {node.name for node in tree.body
                    if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    if problems:
        return problems
    where = f"course.toml [assignments.{assignment.id}.tests]"
    for name in assignment.tests:
        if name not in defined:
            near = difflib.get_close_matches(name, sorted(defined), n=1)
            hint = f"; did you mean {near[0]}?" if near else "."
            problems.append(f"{where} names {name}, which no grader in autograder/{assignment.id} defines{hint}")
    for name in sorted(defined - set(assignment.tests)):
        problems.append(f"autograder/{assignment.id} defines {name}, which {where} does not list: "
                        "give it its points there, or remove it.")
    if not problems:
        from .authoring.release import check_points_agree

        try:
            check_points_agree(course, assignment)
        except ConfigError as error:
            problems.append(str(error))
    return problems


# --- the data ------------------------------------------------------------------------------------

# The official MNIST files as torchvision reads them (uncompressed IDX): name -> (bytes, MD5). torchvision's
# own MD5s (MNIST.resources) are of the .gz files; they are checked too when the .gz files are kept.
MNIST_FILES = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637"),
}
DATASETS = {"MNIST": MNIST_FILES}


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_problem(data_dir: Path, name: str) -> str:
    """'' when data_dir/<name>/raw holds the complete official files, else what is wrong with them."""
    raw = Path(data_dir) / name / "raw"
    if not Path(data_dir).is_dir():
        return f"{data_dir} does not exist"
    if not raw.is_dir():
        return f"{raw} does not exist"
    for file, (size, md5) in DATASETS[name].items():
        path = raw / file
        if not path.is_file():
            return f"{path} is missing"
        if path.stat().st_size != size:
            return f"{path} has {path.stat().st_size} bytes, not {size} (an interrupted download?)"
        if _md5(path) != md5:
            return f"{path} is not the official file (its MD5 differs)"
    if name == "MNIST":
        from torchvision.datasets import MNIST

        for gz, md5 in MNIST.resources:
            if (raw / gz).is_file() and _md5(raw / gz) != md5:
                return f"{raw / gz} does not match torchvision's MD5"
    return ""


def _download(data_dir: Path, name: str) -> str:
    """Download `name` once into the course's data folder with torchvision; '' when it worked."""
    from torchvision import datasets

    created = [p for p in (data_dir / name / "raw", data_dir / name, data_dir) if not p.exists()]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        getattr(datasets, name)(root=str(data_dir), train=True, download=True)
    except Exception as error:
        for folder in created:  # a failed download leaves no empty folders behind (deepest first)
            try:
                folder.rmdir()
            except OSError:
                break
        return f"{type(error).__name__}: {str(error).splitlines()[0].rstrip(':') if str(error) else ''}"
    finally:
        socket.setdefaulttimeout(previous)
    return ""


def data(course: Course, assignment: Assignment, download: bool = True) -> list[str]:
    """The datasets the assignment reads are complete in the data folder. When that folder is course.toml's
    own data_dir (not COURSE_DATA_DIR), a missing dataset is downloaded there once, then checked."""
    problems = []
    from_env = bool(os.environ.get(DATA_ENV))
    source = (f"{DATA_ENV}={os.environ.get(DATA_ENV)}" if from_env
              else f"course.toml's data_dir ({course.data_dir})")
    for name in assignment.datasets:
        problem = dataset_problem(course.data_dir, name)
        if problem and download and not from_env and not (course.data_dir / name).exists():
            failed = _download(course.data_dir, name)
            problem = dataset_problem(course.data_dir, name)
            if problem and failed:
                problem += f"; downloading it failed ({failed})"
        if problem:
            problems.append(f"{assignment.id} reads {name} from {source}, but {problem}: set {DATA_ENV} (or "
                            f"data_dir in course.toml) to a folder holding {name}/raw/ with the official files, "
                            "or run `course doctor` where a network is reachable to download them once.")
    return problems


# --- this machine --------------------------------------------------------------------------------

def out_folder(out_dir: Path) -> list[str]:
    """The results folder can be created and written."""
    out_dir = Path(out_dir)
    existing = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return [f"--out {out_dir}: {existing} is a file, not a folder; name a folder for the results."]
    target = out_dir if out_dir.exists() else existing
    if target is None or not os.access(target, os.W_OK | os.X_OK):
        return [f"--out {out_dir}: {target} is not writable by this user; name a folder you can write."]
    return []


def sandbox(course: Course) -> list[str]:
    from .engine import sandbox as box
    from .engine.execute import grader_dir

    with tempfile.TemporaryDirectory(dir=grader_dir()) as work:  # removed again: doctor runs before every grading
        problem = box.check(work, [str(course.data_dir)])
    if not problem:
        return []
    return [f"the kernel sandbox cannot be built on this machine ({problem}), so grading was refused: run as "
            "root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces, "
            "kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns; in Docker, a seccomp "
            "profile that allows unshare, e.g. --security-opt seccomp=unconfined), or pass "
            "--unsafe-no-isolation to grade without it."]


# --- the list ------------------------------------------------------------------------------------

ASSIGNMENT_CHECKS = [grader_files, declared_tests]  # then `data`, which only grading needs


def diagnose(course: Course, assignment_ids: list[str] | None = None, *, grading: bool = True,
             out_dir: Path | None = None, isolate: bool = True, download: bool = True) -> list[Finding]:
    """Run the checks for these assignments (default: all). `grading` adds the data, the out folder and
    the sandbox to the config checks that `course release` needs."""
    findings = []
    for assignment in map(course.assignment, assignment_ids or list(course.assignments)):
        checks = ASSIGNMENT_CHECKS if grading else [declared_tests]
        problems = [p for check in checks for p in check(course, assignment)]
        if grading and not problems:
            problems = data(course, assignment, download)
        findings += [Finding(assignment.id, p) for p in problems]
    if out_dir is not None:
        findings += [Finding("course", p) for p in out_folder(out_dir)]
    if grading and isolate:
        findings += [Finding("course", p) for p in sandbox(course)]
    return findings


def main(*, course: Course, out_dir: Path | None = None, isolate: bool = True) -> int:
    """`course doctor`: print every check's outcome; 0 when all hold, 1 otherwise."""
    findings = diagnose(course, out_dir=out_dir, isolate=isolate)
    scopes = [*course.assignments, "course"]
    for scope in scopes:
        failed = [f.problem for f in findings if f.scope == scope]
        label = "this machine" if scope == "course" else scope
        print(f"{'ok  ' if not failed else 'FAIL'} {label}")
        for problem in failed:
            print(f"     {problem}")
    print("Ready to grade." if not findings else f"{len(findings)} problem(s): fix them, then run `course doctor` again.")
    return 1 if findings else 0
