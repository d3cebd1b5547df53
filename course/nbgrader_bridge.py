"""Let `nbgrader autograde` give the scores `course grade` gives.

Each nbgrader test cell's hidden section calls `check(assignment, test, globals())`. The student's
functions are called here, in the kernel (nbgrader's model), but the verdict comes from a separate
judge process started once per kernel (`python -m course.nbgrader_bridge`), so a notebook that
patches torch cannot pass a test that `course grade` fails. A notebook can still patch `check`
itself: nbgrader runs graders inside the student's kernel, and `course grade` exists so that it
never does.

What makes the verdicts `course grade`'s:
- the judge reads the student's cells from the notebook file nbgrader is running (its folder is the
  kernel's working directory), all of them, as `course grade` does, not only the cells run so far;
- each grader call is answered once per kernel, and again only when a global it read (or a global
  that the student's functions it read refer to) is no longer the same object, so a test cell's
  check sees what the notebook has defined when it runs, and 03's MNIST runs are not repeated in
  every test cell; what the student's code prints or warns meanwhile is dropped (nbgrader would
  score the cell 0 for a warning on stderr);
- the judge runs only the grader test of the cell it is asked about, with the mistakes about
  what that test checks, so a notebook's graders run about once in all, as under `course grade`.
A failing hidden check shows only its verdict, never this module's lines or the cell's hidden section.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import subprocess
import sys
import types
import warnings
from collections.abc import MutableMapping
from pathlib import Path

import pytest

_JUDGE: subprocess.Popen | None = None
_ANSWERS: dict[str, tuple[dict, str]] = {}  # call key -> (the globals it read, by identity; its blob)
_PROBES: dict[str, tuple] = {}  # assignment id -> (course, assignment, call keys, probe)
_MISSING = object()
_DECODED: dict[str, dict] = {}  # in the judge process: blob -> its decoded outcome (each decoded once)


def grading_parameters_cell(course, assignment) -> str:
    """What `course grade` runs right after the cell tagged `parameters` (engine/execute.py): the
    assignment's grading parameters and the data folder."""
    parameters = {**assignment.parameters, "DATA_DIR": str(course.data_dir)}
    return "# injected by the grader\n" + "\n".join(f"{name} = {value!r}" for name, value in parameters.items())


class GradingParameters:
    """An nbgrader autograde preprocessor (nbgrader_config.py puts it before Execute): the notebook
    runs with `course grade`'s parameters, a cell inserted after the one tagged `parameters`, so 03's
    own experiment is as small as under `course grade` and reads the shared MNIST."""

    def __init__(self, **kwargs):
        pass

    def __call__(self, nb, resources):
        import nbformat

        from .config import load

        course = load()  # nbgrader autograde runs in the course folder
        assignment = course.assignment(resources["nbgrader"]["assignment"])
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
                nb.cells.insert(index + 1, nbformat.v4.new_code_cell(grading_parameters_cell(course, assignment)))
                break
        return nb, resources


class WarningsAreNotFailures:
    """An nbgrader autograde preprocessor (nbgrader_config.py puts it after Execute): nbgrader scores a
    test cell 0 for any stderr output, so a torch UserWarning raised by the student's code in a
    self-check that passes would cost points `course grade` never charges. A test cell's stderr that
    holds no error is kept as ordinary output; errors still fail the cell."""

    def __init__(self, **kwargs):
        pass

    def __call__(self, nb, resources):
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "stream" and output.get("name") == "stderr":
                        output["name"] = "stdout"
        return nb, resources


class HiddenLinesInTracebacks:
    """An nbgrader generate_feedback preprocessor (nbgrader_config.py puts it before ClearHiddenTests):
    a failed self-check's traceback quotes the lines around the failing one, which can be the test
    cell's hidden section; those lines are dropped from every error output of the cell."""

    def __init__(self, **kwargs):
        pass

    def __call__(self, nb, resources):
        import re

        ansi = re.compile(r"\x1b\[[0-9;]*m")
        quoted = re.compile(r"^\s*(?:-*>\s*)?\d+\s(.*)$")  # IPython: "---> 12 source" or "     12 source"
        for cell in nb.cells:
            hidden = {line.strip() for line in _hidden_section(cell.get("source", "")) if line.strip()}
            for output in cell.get("outputs", []) if hidden else []:
                if output.get("output_type") == "error":
                    output["traceback"] = ["\n".join(line for line in entry.split("\n")
                                                     if not _quotes(ansi.sub("", line), quoted, hidden))
                                           for entry in output.get("traceback", [])]
        return nb, resources


def _hidden_section(source: str) -> list[str]:
    """The lines of a test cell's `### BEGIN/END HIDDEN TESTS` section, markers included."""
    lines, inside = [], False
    for line in source.split("\n"):
        inside = inside or "BEGIN HIDDEN TESTS" in line
        if inside:
            lines.append(line)
        inside = inside and "END HIDDEN TESTS" not in line
    return lines


def _quotes(line: str, quoted, hidden: set[str]) -> bool:
    match = quoted.match(line)
    return bool(match) and match.group(1).strip() in hidden


class HiddenCheckFailed(AssertionError):
    """Fails the nbgrader test cell; its traceback is the verdict alone (IPython's
    `_render_traceback_`), so feedback never shows the hidden section's code."""

    def _render_traceback_(self) -> list[str]:
        return [f"Hidden check failed: {self}"]


class _Reads(MutableMapping):
    """The notebook's globals, recording every name a call looks up; changes go to the globals
    themselves (the harness stands its own functions in for the student's while a call runs)."""

    def __init__(self, namespace: dict):
        self.namespace, self.names = namespace, set()

    def __getitem__(self, name):
        self.names.add(name)
        return self.namespace[name]

    def __contains__(self, name):
        self.names.add(name)
        return name in self.namespace

    def __setitem__(self, name, value):
        self.namespace[name] = value

    def __delitem__(self, name):
        del self.namespace[name]

    def __iter__(self):
        return iter(self.namespace)

    def __len__(self):
        return len(self.namespace)


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _referred(value) -> set[str]:
    """Global names a student's function (or the methods of a student's class) may look up."""
    if isinstance(value, types.FunctionType):
        return _code_names(value.__code__)
    if isinstance(value, type) and value.__module__ == "__main__":
        return set().union(*[_referred(v) for v in vars(value).values()] or [set()])
    return set()


def _dependencies(namespace: dict, names: set[str]) -> dict:
    """name -> the object it holds now (or _MISSING), for `names` and every global the student's
    functions among them refer to, transitively."""
    found: dict = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = value = namespace.get(name, _MISSING)
        todo.extend(_referred(value) - found.keys())
    return found


def _unchanged(namespace: dict, dependencies: dict) -> bool:
    return all(namespace.get(name, _MISSING) is value for name, value in dependencies.items())


def _answer(probe, namespace: dict, key: str) -> str:
    """The call's blob, from the cache while nothing it read has changed."""
    cached = _ANSWERS.get(key)
    if cached is not None and _unchanged(namespace, cached[0]):
        return cached[1]
    reads = _Reads(namespace)
    probe.student = reads
    # What the student's code prints or warns while the grader calls it stays out of the cell's output:
    # nbgrader scores a test cell with any stderr output 0, and `course grade` never shows it either.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blob = probe.answer(key)
    _ANSWERS[key] = (_dependencies(namespace, reads.names), blob)
    return blob


def _student_cells(notebook_name: str, namespace: dict) -> list[str]:
    """The student's code cells of the notebook being graded (the kernel runs in its folder), as
    `course grade` reads them; IPython's record of the cells run when there is no such file."""
    from .engine.notebook import read_notebook, student_cells

    path = Path.cwd() / notebook_name
    if path.is_file():
        try:
            return student_cells(read_notebook(path))
        except Exception:
            pass
    return [str(c) for c in namespace.get("In", [])]


def _judge_process() -> subprocess.Popen:
    global _JUDGE
    if _JUDGE is None or _JUDGE.poll() is not None:
        _JUDGE = subprocess.Popen([sys.executable, "-m", "course.nbgrader_bridge"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    return _JUDGE


def _probe(assignment_id: str, namespace: dict):
    """The course's assignment, and the probe that answers its grader calls (made once per kernel)."""
    from .config import load
    from .engine.judge import encode_calls, grader_calls
    from .engine.probe import Probe
    from .grade import harness_source

    if assignment_id not in _PROBES:
        course = load()  # nbgrader runs the notebook inside the course folder
        assignment = course.assignment(assignment_id)
        calls = grader_calls(course, assignment)
        probe = Probe(base64.b64encode(encode_calls(calls)).decode(), harness_source(course, assignment), namespace)
        _PROBES[assignment_id] = (course, assignment, list(calls), probe)
    return _PROBES[assignment_id]


def _verdict(assignment_id: str, test_name: str, namespace: dict) -> dict:
    course, assignment, calls, probe = _probe(assignment_id, namespace)
    request = {
        "root": str(course.root), "assignment": assignment_id, "test": test_name,
        "blobs": {key: _answer(probe, namespace, key) for key in calls},
        "cells": _student_cells(assignment.notebook, namespace),
    }
    judge = _judge_process()
    judge.stdin.write(json.dumps(request) + "\n")
    judge.stdin.flush()
    return json.loads(judge.stdout.readline())


def check(assignment_id: str, test_name: str, namespace: dict) -> None:
    """Raise HiddenCheckFailed (failing this nbgrader cell) when the hidden test fails."""
    try:
        reply = _verdict(assignment_id, test_name, namespace)
    except Exception as error:
        raise HiddenCheckFailed(f"the hidden check could not run ({type(error).__name__}); tell your instructor.") from None
    if not reply["passed"]:
        raise HiddenCheckFailed(reply["message"])


class _OnlyTest:
    """Runs one graded test of the assignment's graders (after GradingPlugin has seen them all), and
    recognises only the mistakes about what that test checks."""

    def __init__(self, test_name: str, grading, student, mistakes):
        self.test_name, self.grading, self.student, self.mistakes = test_name, grading, student, mistakes

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        from .engine.judge import recognise_mistakes

        items[:] = [item for item in items if item.originalname == self.test_name]
        for item in items:
            about = item.function.graded["about"]
            self.grading.fired.update(recognise_mistakes(self.student, [m for m in self.mistakes if about in m.about]))


def judge_test(course, assignment, request: dict):
    """The assignment's hidden graders on the kernel's answers, as `course grade`'s judge runs them
    (engine/judge.py), for the one test this cell stands for: its TestResult."""
    from .engine.judge import GradingPlugin, decode_outcome, grader_calls, grader_module
    from .grading import Student

    calls = grader_calls(course, assignment)
    blobs = request["blobs"]
    if len(_DECODED) > 4 * len(calls):  # answers of earlier notebooks
        _DECODED.clear()
    for blob in blobs.values():  # shared by the tests, as in one `course grade` judge run
        if blob not in _DECODED:
            _DECODED[blob] = decode_outcome(blob)
    outcomes = {key: _DECODED[blobs[key]] if key in blobs else {"not_run": "not defined when this cell ran"}
                for key in calls}
    student = Student(calls, outcomes, request["cells"])
    grading = GradingPlugin(student, assignment, {}, course)
    only = _OnlyTest(request["test"], grading, student, grader_module(course, assignment, "mistakes").MISTAKES)
    test_dir = course.path("autograder", assignment.id)
    args = [str(test_dir), "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:unraisableexception", "--import-mode=importlib",
            "-c", os.devnull, "--rootdir", str(test_dir), "-W", "ignore"]
    pytest.main(args, plugins=[grading, only])
    if grading.problem or request["test"] not in grading.results:
        raise RuntimeError(grading.problem or f"{request['test']} did not run")
    return grading.results[request["test"]]


def serve() -> None:
    """The judge process: one request per line on stdin, one verdict per line on stdout."""
    from .config import load

    protocol, sys.stdout = sys.stdout, sys.stderr  # nothing the graders print may corrupt a reply
    for line in sys.stdin:
        request = json.loads(line)
        try:
            course = load(Path(request["root"]))
            test = judge_test(course, course.assignment(request["assignment"]), request)
        except Exception as error:
            print(json.dumps({"passed": False, "message": f"the hidden check could not run ({type(error).__name__}); "
                              "tell your instructor."}), file=protocol, flush=True)
            continue
        message = "\n".join([test.description, f"What differed: {test.message}"] + [f"Likely cause: {m}" for m in test.mistakes])
        print(json.dumps({"passed": test.score == test.max_score, "message": message}), file=protocol, flush=True)


if __name__ == "__main__":
    serve()
