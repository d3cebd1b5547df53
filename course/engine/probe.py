"""Runs inside the student's kernel: answers the grader's calls with the student's own functions.

The engine ships this file's source into the kernel as a cell (the grader's package is not
importable there). Each answer leaves the kernel as a blob (`torch.save` of plain data: tensors,
numbers, strings and containers of them) that only the judge decodes, tagged with the call's key
and the nonce the call carried. Whatever the student's code does to this module or to torch
changes only its own answers, never how they are judged. An exception becomes its type, its
message (which the judge redacts) and the student's own line that raised it.
"""
from __future__ import annotations

import base64
import io
import linecache

import torch

OUTCOME_MIME = "application/vnd.course.outcome+json"


def plain(value):
    """What crosses back to the judge: tensors, numbers, strings and containers of them."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().as_subclass(torch.Tensor)
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return (tuple if isinstance(value, tuple) else list)(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if type(value).__module__ == "numpy":
        return plain(torch.as_tensor(value)) if getattr(value, "shape", ()) else value.item()
    return {"__unsupported__": type(value).__name__}


def blob(outcome: dict) -> str:
    buffer = io.BytesIO()
    try:
        torch.save(outcome, buffer)
    except Exception as error:
        buffer = io.BytesIO()
        torch.save({"error": f"the answer could not be saved ({type(error).__name__})"}, buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def student_line(error: BaseException) -> str:
    """The last line of the student's own cells that the exception (or the one it replaced) passed
    through: ipykernel names cell files ipykernel_<pid>/<hash>.py."""
    found, seen = "", set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if "ipykernel_" in filename or filename.startswith("<ipython-input"):
                found = linecache.getline(filename, tb.tb_lineno).strip() or found
            tb = tb.tb_next
        if found:
            return found[:200]
        error = error.__context__
    return found


class Probe:
    def __init__(self, payload: str, harness_source: str, student: dict):
        self.calls = torch.load(io.BytesIO(base64.b64decode(payload)), weights_only=True)
        self.harness: dict = {}
        exec(compile(harness_source, "<course harness>", "exec"), self.harness)  # inputs.HARNESS
        self.student = student

    def answer(self, key: str) -> str:
        call = self.calls[key]
        try:
            if call["harness"]:
                outcome = {"value": plain(self.harness[call["fn"]](self.student, *call["args"], **call["kwargs"]))}
            elif call["fn"] not in self.student:
                outcome = {"missing": call["fn"]}
            else:
                target = self.student[call["fn"]]
                outcome = {"value": plain(target if call["get"] else target(*call["args"], **call["kwargs"]))}
        except BaseException as error:  # the student's exception is data for the judge
            outcome = {"error": f"{type(error).__name__}: {error}"[:500], "line": student_line(error)}
        return blob(outcome)

    def publish(self, key: str, nonce: str) -> None:
        from IPython.display import publish_display_data

        publish_display_data({OUTCOME_MIME: {"key": key, "nonce": nonce, "blob": self.answer(key)}})
