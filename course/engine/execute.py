"""Run one submission in its own sandboxed Jupyter kernel and collect its answers to the grader's calls.

This is the only stage where student code runs, and it runs in the kernel process, never here.
The grader's inputs go in as the source of probe cells; each probe call carries a fresh nonce, and
its answer comes back over the kernel's display channel as an opaque blob that only the judge
decodes (with `torch.load(weights_only=True)`). A probe cell with more than one answer, or one
whose nonce or key is not the call's, was tampered with: the call gets no answer, and the
instructor is told.
"""
from __future__ import annotations

import atexit
import base64
import inspect
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets import Int

from . import probe as probe_module
from ..config import Assignment, Course
from .kernels import SandboxedKernelManager, template_env
from .notebook import is_test_cell
from .probe import OUTCOME_MIME, blob
from .sandbox import make_box

RECOVER_SECONDS = 5  # how long an interrupted cell gets to stop before its kernel is killed
NOTEBOOK_OUTPUT_CELLS = 4  # the graded notebook keeps at most this many cells' worth of output_kb in all


@dataclass
class Execution:
    outcomes: dict[str, str] = field(default_factory=dict)  # call key -> base64 blob from the kernel
    faults: dict[int, str] = field(default_factory=dict)  # cell number (1-based) -> what went wrong
    fatal: str | None = None  # why nothing could be run at all
    status: str = "graded"  # or "not a notebook"; a grader-side failure is report.GRADER_ERROR, never a status here
    seconds: float = 0.0
    isolation: str = ""  # what the OS enforced around the kernel (course.engine.sandbox)
    restored: list[str] = field(default_factory=list)  # locked cells put back before running
    outputs: dict[int, list] = field(default_factory=dict)  # cell number -> its outputs, for the graded notebook
    tampering: list[str] = field(default_factory=list)  # what the probe saw that no honest notebook does
    setup_error: str = ""  # the grader's own setup cell failed in this kernel (its harness, or a notebook that broke it)


def _size(content: dict) -> int:
    return len(json.dumps(content, default=str))


class BoundedClient(NotebookClient):
    """nbclient's client, keeping at most `output_bytes` of output per cell and `notebook_bytes` in
    all, of every kind (streams, displays, results, errors, display updates). In a probe cell it
    keeps only the probe's answers: what a student function prints while the grader calls it is
    not kept."""

    output_bytes = Int(1 << 20).tag(config=True)
    notebook_bytes = Int(4 << 20).tag(config=True)

    def start_cell(self, probe: bool) -> None:
        self.probe, self.cell_used, self.cut = probe, 0, False
        self.notebook_used = getattr(self, "notebook_used", 0)

    def _room(self) -> int:
        return min(self.output_bytes - self.cell_used, self.notebook_bytes - self.notebook_used)

    def _take(self, size: int) -> bool:
        if size > self._room():
            self.cut = True
            return False
        self.cell_used += size
        self.notebook_used += size
        return True

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        if getattr(self, "probe", False):
            data = content.get("data") or {}
            if msg["msg_type"] != "display_data" or OUTCOME_MIME not in data:
                return None
            msg = {**msg, "content": {"data": {OUTCOME_MIME: data[OUTCOME_MIME]}, "metadata": {}}}
            outs.append(nbformat.v4.output_from_msg(msg))
            return outs[-1]
        if msg["msg_type"] == "stream":
            text = content.get("text", "")
            room = max(0, self._room())
            if len(text) > room:
                content["text"], self.cut = text[:room], True
            if not content["text"]:
                return None
            self._take(len(content["text"]))
            return super().output(outs, msg, display_id, cell_index)
        if not self._take(_size(content)):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        if getattr(self, "probe", False) or not self._take(_size(msg["content"])):
            return None
        return super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None  # widget state is never kept: it is output too, of unbounded size


def kernel_env(scratch: Path, threads: int) -> dict:
    """The kernel's whole environment: the template's allowlist, with HOME, TMPDIR and every
    per-user folder in the kernel's own scratch folder; never the grader's."""
    home, tmp = scratch / "home", scratch / "tmp"
    return {**template_env(threads), "HOME": str(home), "TMPDIR": str(tmp), "USER": "student", "LOGNAME": "student",
            "MPLCONFIGDIR": str(home / ".config" / "matplotlib"), "IPYTHONDIR": str(home / ".ipython"),
            "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
            "JUPYTER_RUNTIME_DIR": str(tmp), "PYTHONHASHSEED": "0"}


def plan_cells(notebook, assignment: Assignment, course: Course, self_checks: bool = False) -> list[tuple[int, str]]:
    """(cell number, source) of the code to run: the student's cells, minus nbgrader test cells
    (self-checks only; hidden checks happen in the judge), with grading parameters injected after
    the cell tagged `parameters`, papermill's convention. With `self_checks` (`course validate`),
    the test cells run too, their hidden sections removed."""
    parameters = {**assignment.parameters, "DATA_DIR": str(course.data_dir)}
    plan = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        if is_test_cell(cell):
            if self_checks:
                plan.append((number, visible_part(cell)))
            continue
        plan.append((number, cell.source))
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            injected = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
            plan.append((number, "# injected by the grader\n" + injected))
    return plan


def visible_part(cell) -> str:
    """A test cell's source without its `### BEGIN/END HIDDEN TESTS` section (nbgrader's ClearHiddenTests);
    nothing at all when its markers are unbalanced, so a hidden part never runs outside grading."""
    from nbgrader.preprocessors import ClearHiddenTests

    copy = nbformat.from_dict(json.loads(json.dumps(cell)))
    try:
        ClearHiddenTests().preprocess_cell(copy, {}, 0)
    except RuntimeError:
        return "raise RuntimeError('this self-check could not be read: ask your instructor for a fresh notebook')"
    return copy.source


def probe_cells(calls_blob: bytes, harness_source: str, keys: list[str]) -> list[tuple[str, str, str]]:
    """A setup cell that builds the probe from its own source (the grader's package is not
    importable in the kernel) with the grader's inputs as text, then one cell per call, each with a
    nonce drawn now: (key, nonce, source)."""
    payload = base64.b64encode(calls_blob).decode()
    setup = ("def __course_setup():\n"
             "    import sys, threading\n"
             "    shell = get_ipython()\n"
             "    for callbacks in shell.events.callbacks.values():\n"
             "        callbacks.clear()  # a notebook's hooks do not run around the grader's calls\n"
             "    shell.ast_transformers.clear()\n"
             "    shell.input_transformers_post.clear()\n"
             "    shell.input_transformers_cleanup[:] = [t for t in shell.input_transformers_cleanup\n"
             "                                          if getattr(t, '__module__', '').startswith('IPython.')]\n"
             "    sys.settrace(None); sys.setprofile(None); threading.settrace(None); threading.setprofile(None)\n"
             "    namespace = {'__name__': 'course_probe'}\n"
             f"    exec(compile({inspect.getsource(probe_module)!r}, '<course probe>', 'exec'), namespace)\n"
             f"    return namespace['Probe']({payload!r}, {harness_source!r}, globals()).publish\n"
             "__course_run = __course_setup()\n"
             "del __course_setup")
    cells = [("setup", "", setup)]
    for key in keys:
        nonce = secrets.token_hex(16)
        cells.append((key, nonce, f"__course_run({key!r}, {nonce!r})"))
    return cells


def read_answer(cell, key: str, nonce: str) -> tuple[str | None, str | None]:
    """(the blob answering `key`, what was wrong): exactly one answer, carrying this call's key and
    nonce, is an answer; anything else is tampering and answers nothing."""
    answers = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get(OUTCOME_MIME)
        if data is not None:
            answers.append(json.loads(data) if isinstance(data, str) else data)
    if not answers:
        return None, None
    if len(answers) > 1:
        return None, f"the grader's call {key!r} got {len(answers)} answers (an answer was forged)"
    answer = answers[0]
    if not isinstance(answer, dict) or answer.get("key") != key or answer.get("nonce") != nonce \
            or not isinstance(answer.get("blob"), str):
        return None, f"the answer to the grader's call {key!r} was not the probe's (an answer was forged)"
    return answer["blob"], None


def _error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            detail = output.get("evalue", "")
            return f"raised {output.get('ename')}{': ' + detail if detail else ''}"[:300]
    return None


def execute(notebook, name: str, assignment: Assignment, course: Course,
            calls_blob: bytes, harness_source: str, calls: dict, isolate: bool = True,
            self_checks: bool = False) -> Execution:
    """Execute the submission, then ask its kernel to answer every call in `calls`.

    A cell that kills the kernel is skipped and the notebook replayed without it, so the tests
    that can still run are run. Everything stops when the notebook budget is spent. The kernel sees
    the system, the Python environment and the data (read-only) and its own scratch folder; when
    this returns, every process it started has ended. `isolate=False` is --unsafe-no-isolation.
    """
    started = time.monotonic()
    result = Execution()
    limits = assignment.limits
    deadline = started + limits.notebook_timeout
    steps = [("cell", n, "", src) for n, src in plan_cells(notebook, assignment, course, self_checks)]
    if calls:
        steps += [("probe", key, nonce, src) for key, nonce, src in probe_cells(calls_blob, harness_source, list(calls))]
    functions = {key: call.fn for key, call in calls.items()}
    skipped: set[int] = set()
    scratch = Path(tempfile.mkdtemp(dir=grader_dir()))
    box = make_box(str(scratch), [str(course.data_dir)])
    nbformat.write(notebook, str(scratch / "work" / name))
    sandbox = {"memory_mb": limits.memory_mb, "threads": limits.threads, "isolate": isolate, "box": box}
    env = kernel_env(scratch, limits.threads)
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


_GRADER_DIR: Path | None = None


def grader_dir() -> Path:
    """This run's private folder (mode 0700, made once per `course grade` before its workers fork):
    kernels' scratch folders and the gradebooks for restoring cells. No kernel ever sees it: each
    one's filesystem holds its own scratch folders alone."""
    global _GRADER_DIR
    if _GRADER_DIR is None or not _GRADER_DIR.is_dir():
        _GRADER_DIR = Path(tempfile.mkdtemp(prefix="course-grade-"))
        atexit.register(_remove_grader_dir, _GRADER_DIR, os.getpid())
    return _GRADER_DIR


def _remove_grader_dir(path: Path, owner: int) -> None:
    if os.getpid() == owner:  # forked workers share it; its maker removes it
        shutil.rmtree(path, ignore_errors=True)


def _run_steps(steps, skipped, result, limits, deadline, scratch, env, sandbox, functions) -> int | None:
    """One pass over the steps in a fresh kernel. Returns the step that killed the kernel, if any.

    A cell past its time is interrupted by nbclient (interrupt_on_timeout); one that ignores the
    interrupt is killed by a watchdog RECOVER_SECONDS later, which ends this pass. A student
    function that timed out once is not called again: its other calls are answered with the
    timeout, so one endless loop cannot use up the budget of every other test. When the pass ends,
    the kernel and everything it started are killed before anything is written."""
    stuck: dict[str, str] = {}
    result.outputs.clear()  # a replay runs the cells again
    client = BoundedClient(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")]),
        kernel_name="python3",
        kernel_manager_class=SandboxedKernelManager,
        allow_errors=True,
        interrupt_on_timeout=True,
        store_widget_state=False,
        output_bytes=limits.output_kb * 1024,
        notebook_bytes=limits.output_kb * 1024 * NOTEBOOK_OUTPUT_CELLS,
    )
    client.km = client.create_kernel_manager()
    # Unix sockets, not TCP: the kernel has no network, and nothing else can connect to it.
    client.km.transport, client.km.ip = "ipc", str(scratch / "ipc" / "kernel")
    client.km.connection_file = str(scratch / "ipc" / "kernel.json")
    client.km.sandbox = sandbox
    cut: list[int] = []
    process = None
    try:
        with client.setup_kernel(cwd=str(scratch / "work"), env=env):
            process = client.km.provisioner.process
            result.isolation = client.km.provisioner.isolation
            for position, (kind, label, nonce, source) in enumerate(steps):
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
                client.start_cell(probe=kind == "probe")
                started = time.monotonic()
                watchdog = threading.Timer(client.timeout + RECOVER_SECONDS, process.kill)
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
                    if client.cut:
                        cut.append(label)
                    error = f"timed out after {client.timeout} s" if timed_out else _error(cell)
                    if error:
                        result.faults[label] = error
                elif label == "setup":
                    result.setup_error = _error(cell) or ""
                else:
                    answer, tampered = read_answer(cell, label, nonce)
                    if tampered:
                        result.tampering.append(tampered)
                        result.outcomes[label] = blob({"error": "TamperingError: the answer could not be trusted"})
                    elif timed_out and label in functions:
                        stuck[functions[label]] = blob({"error": f"TimeoutError: timed out after {client.timeout} s"})
                        result.outcomes[label] = stuck[functions[label]]
                    elif answer is not None:
                        result.outcomes[label] = answer
    finally:
        if process is not None and not process.kill_and_wait():
            result.tampering.append("processes it started could not be stopped within 10 s")
        if cut:
            kb = limits.output_kb
            more = f" (also in cell{'s' if len(cut) > 2 else ''} {', '.join(map(str, cut[1:]))})" if len(cut) > 1 else ""
            result.faults.setdefault(cut[0], f"printed or displayed more than is kept ({kb} KB per cell, "
                                             f"{kb * NOTEBOOK_OUTPUT_CELLS} KB per notebook); the rest was cut{more}")
    return None
