"""Run one submission in its own Jupyter kernel and collect its answers to the grader's calls.

This is the only stage where student code runs, and it runs in the kernel process, never here.
The grader's inputs go in as the source of a probe cell; the answers come back over the kernel's
display channel as opaque blobs that only the judge decodes (with `torch.load(weights_only=True)`).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets import Int

from .kernels import SandboxedKernelManager

from .config import Assignment, Course
from .notebook import is_test_cell
from .probe import OUTCOME_MIME, blob

RECOVER_SECONDS = 5  # how long an interrupted cell gets to stop before its kernel is killed


@dataclass
class Execution:
    outcomes: dict[str, str] = field(default_factory=dict)  # call key -> base64 blob from the kernel
    faults: dict[int, str] = field(default_factory=dict)  # cell number (1-based) -> what went wrong
    fatal: str | None = None  # why nothing could be run at all
    status: str = "graded"  # or "not a notebook", or "not run" (the grader could not run it)
    seconds: float = 0.0
    isolation: str = ""  # what the OS enforced around the kernel (course.sandbox)
    restored: list[str] = field(default_factory=list)  # locked cells put back before running
    outputs: dict[int, list] = field(default_factory=dict)  # cell number -> its outputs, for the graded notebook


class BoundedClient(NotebookClient):
    """nbclient's client, keeping at most `output_bytes` of text output per cell."""

    output_bytes = Int(1 << 20).tag(config=True)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            text = msg["content"].get("text", "")
            used = sum(len(o.get("text", "")) for o in outs if o.get("output_type") == "stream")
            if used >= self.output_bytes:
                return None
            msg["content"]["text"] = text[: self.output_bytes - used]
        return super().output(outs, msg, display_id, cell_index)


def plan_cells(notebook, assignment: Assignment, course: Course) -> list[tuple[int, str]]:
    """(cell number, source) of the code to run: the student's cells, minus nbgrader test cells
    (self-checks only; hidden checks happen in the judge), with grading parameters injected after
    the cell tagged `parameters`, papermill's convention."""
    parameters = {**assignment.parameters, "DATA_DIR": str(course.data_dir)}
    plan = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        plan.append((number, cell.source))
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            injected = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
            plan.append((number, "# injected by the grader\n" + injected))
    return plan


def probe_cells(calls_blob: bytes, harness_source: str, keys: list[str]) -> list[tuple[str, str]]:
    """A setup cell that receives the grader's inputs as text, then one cell per call."""
    payload = base64.b64encode(calls_blob).decode()
    setup = (f"from course.probe import Probe as __course_Probe\n"
             f"__course_run = __course_Probe({payload!r}, {harness_source!r}, globals()).publish\n"
             "del __course_Probe")
    return [("setup", setup)] + [(key, f"__course_run({key!r})") for key in keys]


def _outcome(cell) -> dict | None:
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get(OUTCOME_MIME)
        if data:
            return json.loads(data) if isinstance(data, str) else data
    return None


def _error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            detail = output.get("evalue", "")
            return f"raised {output.get('ename')}{': ' + detail if detail else ''}"[:300]
    return None


def execute(notebook, name: str, assignment: Assignment, course: Course,
            calls_blob: bytes, harness_source: str, calls: dict, hide: list[Path] = ()) -> Execution:
    """Execute the submission, then ask its kernel to answer every call in `keys`.

    A cell that kills the kernel is skipped and the notebook replayed without it, so the tests
    that can still run are run. Everything stops when the notebook budget is spent. The kernel sees
    its own scratch folder, the data (read-only), and none of `hide`.
    """
    started = time.monotonic()
    result = Execution()
    limits = assignment.limits
    deadline = started + limits.notebook_timeout
    steps = [("cell", n, src) for n, src in plan_cells(notebook, assignment, course)]
    steps += [("probe", key, src) for key, src in probe_cells(calls_blob, harness_source, list(calls))]
    functions = {key: call.fn for key, call in calls.items()}
    skipped: set[int] = set()
    parent = scratch_parent()
    scratch = Path(tempfile.mkdtemp(dir=parent))
    (scratch / "work").mkdir()
    (scratch / "ipc").mkdir()
    nbformat.write(notebook, str(scratch / "work" / name))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    sandbox = {
        "memory_mb": limits.memory_mb,
        "threads": limits.threads,
        # Other submissions' scratch folders share `parent`: hide it, keep our own.
        "hide": sorted({str(p) for p in map(Path, hide) if _hideable(p, course)} | {str(parent)}),
        "readonly": [str(course.data_dir)],
    }

    try:
        while True:
            restart = _run_steps(steps, skipped, result, limits, deadline, scratch, env, sandbox, functions)
            if restart is None:
                break
            skipped.add(restart)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def scratch_parent() -> Path:
    """Where kernels' scratch folders (and the graders' gradebooks) live; every kernel sees only its own."""
    parent = Path(tempfile.gettempdir()) / "course-kernels"
    parent.mkdir(exist_ok=True)
    return parent


def _hideable(path: Path, course: Course) -> bool:
    """A folder may be emptied for the kernel unless the kernel needs what is in it: this Python
    environment, the course package, or the data."""
    path = Path(path).resolve()
    needed = [Path(sys.prefix).resolve(), Path(__file__).resolve().parent, course.data_dir.resolve()]
    return not any(n == path or path in n.parents for n in needed)


def _run_steps(steps, skipped, result, limits, deadline, scratch, env, sandbox, functions) -> int | None:
    """One pass over the steps in a fresh kernel. Returns the step that killed the kernel, if any.

    A cell past its time is interrupted by nbclient (interrupt_on_timeout); one that ignores the
    interrupt is killed by a watchdog RECOVER_SECONDS later, which ends this pass. A student
    function that timed out once is not called again: its other calls are answered with the
    timeout, so one endless loop cannot use up the budget of every other test."""
    stuck: dict[str, str] = {}
    result.outputs.clear()  # a replay runs the cells again
    client = BoundedClient(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")]),
        kernel_name="python3",
        kernel_manager_class=SandboxedKernelManager,
        allow_errors=True,
        interrupt_on_timeout=True,
        output_bytes=limits.output_kb * 1024,
    )
    client.km = client.create_kernel_manager()
    # Unix sockets, not TCP: the kernel has no network, and nothing else can connect to it.
    client.km.transport, client.km.ip = "ipc", str(scratch / "ipc" / "kernel")
    client.km.connection_file = str(scratch / "ipc" / "kernel.json")
    client.km.sandbox = {**sandbox, "keep": str(scratch)}
    with client.setup_kernel(cwd=str(scratch / "work"), env=env):
        result.isolation = client.km.provisioner.isolation
        for position, (kind, label, source) in enumerate(steps):
            if position in skipped:
                continue
            if kind == "probe" and functions.get(label) in stuck:
                result.outcomes[label] = stuck[functions[label]]
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if kind == "cell":
                    result.faults.setdefault(label, "not run: the notebook's time budget was used up")
                continue
            cell = client.nb.cells[0] = nbformat.v4.new_code_cell(source)
            client.timeout = max(1, int(min(limits.cell_timeout, remaining)))
            started = time.monotonic()
            watchdog = threading.Timer(client.timeout + RECOVER_SECONDS, client.km.provisioner.process.kill)
            watchdog.start()
            try:
                client.execute_cell(cell, 0)
            except DeadKernelError:
                timed_out = time.monotonic() - started >= client.timeout
                if kind == "cell":
                    result.faults[label] = (f"timed out after {client.timeout} s and could not be interrupted"
                                            if timed_out else "stopped the kernel (it crashed, exited or ran out of memory)")
                return position
            finally:
                watchdog.cancel()
            timed_out = time.monotonic() - started >= client.timeout
            if kind == "cell":
                result.outputs.setdefault(label, []).extend(cell.outputs)
                error = f"timed out after {client.timeout} s" if timed_out else _error(cell)
                if error:
                    result.faults[label] = error
            elif label != "setup":
                outcome = _outcome(cell)
                if timed_out and label in functions:
                    stuck[functions[label]] = blob({"error": f"TimeoutError: timed out after {client.timeout} s"})
                    result.outcomes[label] = stuck[functions[label]]
                elif outcome:
                    result.outcomes[outcome["key"]] = outcome["blob"]
    return None


