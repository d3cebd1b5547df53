"""Let `nbgrader autograde` give the scores `course grade` gives.

Each nbgrader test cell's hidden section calls `check(assignment, test, globals())`. The student's
functions are called here, in the kernel (nbgrader's model), but the verdict comes from a separate
judge process started once per kernel (`python -m course.nbgrader_bridge`), so a notebook that
patches torch cannot pass a test that `course grade` fails. A notebook can still patch `check`
itself: nbgrader runs graders inside the student's kernel, and `course grade` exists so that it
never does.
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

_JUDGE: subprocess.Popen | None = None


def check(assignment_id: str, test_name: str, namespace: dict) -> None:
    """Raise AssertionError (failing this nbgrader cell) when the hidden test fails."""
    from .config import load
    from .grade import harness_source
    from .judge import encode_calls, grader_calls
    from .probe import Probe

    course = load()  # nbgrader runs the notebook inside the course folder
    assignment = course.assignment(assignment_id)
    calls = grader_calls(course, assignment)
    probe = Probe(base64.b64encode(encode_calls(calls)).decode(), harness_source(course, assignment), namespace)
    request = {
        "root": str(course.root), "assignment": assignment_id, "test": test_name,
        "blobs": {key: probe.answer(key) for key in calls},
        "cells": [str(c) for c in namespace.get("In", [])],  # IPython's record of the cells run
    }
    global _JUDGE
    if _JUDGE is None or _JUDGE.poll() is not None:
        _JUDGE = subprocess.Popen([sys.executable, "-m", "course.nbgrader_bridge"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    _JUDGE.stdin.write(json.dumps(request) + "\n")
    _JUDGE.stdin.flush()
    reply = json.loads(_JUDGE.stdout.readline())
    if not reply["passed"]:
        raise AssertionError(reply["message"])


def serve() -> None:
    """The judge process: one request per line on stdin, one verdict per line on stdout."""
    from .config import load
    from .judge import judge

    protocol, sys.stdout = sys.stdout, sys.stderr  # nothing the graders print may corrupt a reply
    for line in sys.stdin:
        request = json.loads(line)
        course = load(Path(request["root"]))
        assignment = course.assignment(request["assignment"])
        verdict = judge(course, assignment, request["blobs"], request["cells"], "not defined when this cell ran")
        test = next(t for t in verdict.tests if t.name == request["test"])
        message = "\n".join([test.description, f"What differed: {test.message}"] + [f"Likely cause: {m}" for m in test.mistakes])
        print(json.dumps({"passed": test.score == test.max_score, "message": message}), file=protocol, flush=True)


if __name__ == "__main__":
    serve()
