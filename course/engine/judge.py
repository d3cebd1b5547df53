"""Judge a submission's answers with the assignment's hidden pytest graders, in a process that never
runs student code: answers arrive as blobs and are decoded with `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import base64
import io
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType

import pytest
import torch

from ..config import Assignment, ConfigError, Course
from ..grading import Call, Mismatch, Mistake, Student, redact, sibling


@dataclass
class TestResult:
    name: str
    description: str
    max_score: float
    score: float
    visible: bool
    message: str = ""  # why it failed, for the student
    mistakes: list[str] = field(default_factory=list)  # mistakes named for this failure
    internal: str = ""  # a grader error, for the instructor's log only


@dataclass
class Verdict:
    tests: list[TestResult]
    mistakes: list[str]  # every mistake recognised in the submission, "name (function)"
    integrity: list[str] = field(default_factory=list)  # where the kernel's own figures disagree with the judge's
    notes: list[str] = field(default_factory=list)  # what a grader could not check (Student.note), instructor only
    shorts: dict[str, str] = field(default_factory=dict)  # mistake name -> the short that teaches it
    curves: list[dict] = field(default_factory=list)  # the feedback page's loss curves (autograder's curves.py)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)


def grader_module(course: Course, assignment: Assignment, name: str) -> ModuleType:
    """Import autograder/<assignment>/<name>.py (trusted grader code) under a unique module name."""
    path = course.path("autograder", assignment.id, f"{name}.py")
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: the graders of {assignment.id} need it.")
    if str(course.root) not in sys.path:
        sys.path.insert(0, str(course.root))  # graders import the reference as `solutions.<module>`
    return sibling(path, name)


def grader_calls(course: Course, assignment: Assignment) -> dict[str, Call]:
    """The calls the kernel must answer, built from the grading seed (the same in every process)."""
    return grader_module(course, assignment, "inputs").grader_inputs(assignment.seed)


def encode_calls(calls: dict[str, Call]) -> bytes:
    buffer = io.BytesIO()
    torch.save({key: call.wire() for key, call in calls.items()}, buffer)
    return buffer.getvalue()


def decode_outcome(blob: str) -> dict:
    """The kernel's answer as plain data; a student's exception message is redacted here, once,
    before any grader or feedback sees it."""
    try:
        outcome = torch.load(io.BytesIO(base64.b64decode(blob)), weights_only=True)
    except Exception:
        return {"error": "its answer could not be read back (was it a plain tensor or number?)"}
    if not isinstance(outcome, dict):
        return {"error": "its answer could not be read back"}
    if isinstance(outcome.get("error"), str):
        outcome["error"] = redact(outcome["error"])
    if not isinstance(outcome.get("line", ""), str):
        outcome.pop("line")
    return outcome


class GradingPlugin:
    """Gives tests the `student` fixture and records each graded test's outcome."""

    def __init__(self, student: Student, assignment: Assignment, fired: dict[str, list[Mistake]],
                 course: Course | None = None):
        self._student, self.assignment, self.fired, self._course = student, assignment, fired, course
        self.results: dict[str, TestResult] = {}
        self.problem = ""  # an instructor's configuration problem, raised after pytest returns

    @pytest.fixture
    def student(self) -> Student:
        return self._student

    @pytest.fixture
    def course(self) -> Course:
        """The course as the grader loaded it: graders that measure on data read it from
        `course.data_dir`, never from anything the student's kernel said."""
        return self._course

    def pytest_collection_modifyitems(self, items):
        declared = set(self.assignment.tests)
        found = {item.originalname for item in items}
        if declared != found:
            extra, missing = sorted(found - declared), sorted(declared - found)
            items[:] = []
            self.problem = (
                f"autograder/{self.assignment.id} and course.toml disagree: "
                + (f"tests not in course.toml: {', '.join(extra)}. " if extra else "")
                + (f"course.toml tests with no grader: {', '.join(missing)}." if missing else "")
            )

    def pytest_runtest_makereport(self, item, call):
        if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
            return None
        meta = getattr(item.function, "graded", None)
        if meta is None:
            self.problem = f"{item.nodeid} is not marked @graded(...)."
            return None
        points = float(self.assignment.tests[item.originalname])
        result = TestResult(item.originalname, meta["description"], points, points, meta["visible"])
        if call.excinfo is not None:
            error = call.excinfo.value
            result.score = 0.0
            if isinstance(error, Mismatch):
                result.message = str(error)
            elif isinstance(error, AssertionError):
                result.message = "The answer did not pass this check."
            else:  # a grader bug must not leak internals to the student
                result.message = f"The grader could not check this ({type(error).__name__}); your instructor has been told."
                result.internal = f"{type(error).__name__}: {error}"
            result.mistakes = [m.message() for m in self.fired.get(meta["about"], [])]
        self.results[item.originalname] = result
        return None


def recognise_mistakes(student: Student, mistakes: list[Mistake]) -> dict[str, list[Mistake]]:
    """Which of the lesson's mistakes each function or answer shows, by function name."""
    fired: dict[str, list[Mistake]] = {}
    for mistake in mistakes:
        for about in mistake.about:
            try:
                hit = mistake.recognise(student, about)
            except Exception:
                hit = False
            if hit:
                fired.setdefault(about, []).append(mistake)
    return fired


def judge(course: Course, assignment: Assignment, blobs: dict[str, str], cells: list[str],
          not_run: str, calls: dict[str, Call] | None = None) -> Verdict:
    """Run the hidden graders on the student's answers to `calls` (built from the grading seed when
    not given); `not_run` explains calls with no answer."""
    calls = calls if calls is not None else grader_calls(course, assignment)
    outcomes = {key: decode_outcome(blobs[key]) if key in blobs else {"not_run": not_run} for key in calls}
    student = Student(calls, outcomes, cells)
    fired = recognise_mistakes(student, grader_module(course, assignment, "mistakes").MISTAKES)
    plugin = GradingPlugin(student, assignment, fired, course)
    test_dir = course.path("autograder", assignment.id)
    args = [str(test_dir), "-p", "no:cacheprovider", "-p", "no:terminal", "--import-mode=importlib",
            "-c", os.devnull, "--rootdir", str(test_dir), "-W", "ignore"]
    code = pytest.main(args, plugins=[plugin])
    if plugin.problem:
        raise ConfigError(plugin.problem)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise ConfigError(f"the graders in {test_dir} could not run (pytest exit code {int(code)}).")
    tests = [plugin.results[name] for name in assignment.tests if name in plugin.results]
    mistakes = sorted({f"{m.name} ({about})" for about, ms in fired.items() for m in ms})
    shorts = {m.name: m.short for ms in fired.values() for m in ms}
    return Verdict(tests, mistakes, integrity_notes(course, assignment, student), student.notes, shorts,
                   feedback_curves(course, assignment, student))


def integrity_notes(course: Course, assignment: Assignment, student: Student) -> list[str]:
    """The assignment's own instructor-only notes (autograder/<assignment>/integrity.py, when it has
    one): where what the kernel reported about itself disagrees with what the judge measured."""
    if not course.path("autograder", assignment.id, "integrity.py").is_file():
        return []
    try:
        return list(grader_module(course, assignment, "integrity").integrity_notes(student, course))
    except Exception as error:  # a note is a courtesy to the instructor; the grade never depends on it
        return [f"the integrity notes could not be made ({type(error).__name__})"]


def feedback_curves(course: Course, assignment: Assignment, student: Student) -> list[dict]:
    """The assignment's loss curves for the feedback page (autograder/<assignment>/curves.py, when it has
    one): the student's grader runs beside the reference's. A figure is a courtesy: never the grade."""
    if not course.path("autograder", assignment.id, "curves.py").is_file():
        return []
    try:
        return list(grader_module(course, assignment, "curves").loss_curves(student, course))
    except Exception:
        return []
