"""`course grade`: every submission goes through execute (student kernel) -> judge (hidden graders)
-> report, in parallel workers; results are written as soon as they exist and reused on a re-run
when neither the notebook nor the graders changed.
"""
from __future__ import annotations

import hashlib
import secrets
import inspect
import sys
import tempfile
import time
from dataclasses import replace
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from . import integrity, report, sandbox
from .collect import Submission, collect
from .config import ConfigError, Course, load
from .execute import Execution, execute, grader_dir
from .kernels import prestart
from .judge import encode_calls, grader_calls, grader_module, judge
from .notebook import NotebookError, read_notebook, student_cells
from .restore import gradebook_url, restore


def fingerprint(course: Course, submission: Submission) -> str:
    """Changes when the notebook, the assignment's graders, the reference or its config change."""
    digest = hashlib.sha256(submission.notebook.read_bytes() if submission.notebook.is_file() else b"")
    graders = sorted(course.path("autograder", submission.assignment_id).rglob("*.py"))
    for path in graders + sorted(course.path("solutions").rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    assignment = course.assignment(submission.assignment_id)
    if course.grading.rotate_seed:  # a rotated seed is drawn per run: a kept grade stays kept
        assignment = replace(assignment, seed=0)
    digest.update(repr((assignment, course.data_dir, course.grading, submission.note)).encode())
    return digest.hexdigest()[:16]


def harness_source(course: Course, assignment) -> str:
    """Source of the harness functions the grader ships into the kernel (see inputs.HARNESS)."""
    inputs = grader_module(course, assignment, "inputs")
    return "\n\n".join(inspect.getsource(fn) for fn in getattr(inputs, "HARNESS", []))


def grade_submission(course: Course, submission: Submission, isolate: bool = True) -> tuple[dict, object]:
    """Grade one submission; returns its results.json content and the notebook as graded (None when
    the file is not a notebook). `isolate=False` is --unsafe-no-isolation."""
    assignment = course.assignment(submission.assignment_id)
    calls = grader_calls(course, assignment)
    try:
        notebook = read_notebook(submission.notebook)
    except NotebookError as error:
        execution, cells, notebook = Execution(fatal=str(error), status="not a notebook"), [], None
    else:
        try:
            notebook, restored = restore(course, assignment, notebook)
        except Exception as error:  # odd nbgrader metadata: grade the notebook as it is, and say so
            restored = [f"Locked cells could not be checked against the release ({type(error).__name__})."]
        try:
            execution = execute(notebook, assignment.notebook, assignment, course, encode_calls(calls),
                                harness_source(course, assignment), calls, isolate)
        except Exception as error:  # never lose a grade: what could not run scores 0, with the reason
            execution = Execution(fatal=f"the grader could not run this notebook ({type(error).__name__}: {error})",
                                  status="not run")
        execution.restored = restored
        cells = student_cells(notebook)
    not_run = execution.fatal or "the notebook stopped before the grader could call it (see the notebook problems)"
    verdict = judge(course, assignment, execution.outcomes, cells, not_run, calls)
    results = report.results_json(submission.student_id, submission.assignment_id, verdict, execution,
                                  submission.note, fingerprint(course, submission))
    results["extra_data"]["seed"] = assignment.seed
    flags = (integrity.scan_notebook(notebook) if notebook is not None else []) + execution.tampering + verdict.integrity
    integrity.apply(results, flags, course.grading.tamper_policy)  # before the graded copy: it shows the held score
    try:
        graded = None if notebook is None else report.graded_notebook(notebook, execution, results)
    except Exception:  # the graded copy is a courtesy; the grade never depends on it
        graded = None
    return results, graded


def rotate_seeds(course: Course) -> Course:
    """With `[grading] rotate_seed`, every assignment's grading seed is drawn anew for this run (from
    its configured seed and a secret), so hidden inputs learnt from one batch's feedback are not the
    next batch's. The accuracy thresholds were calibrated over seeds, so they hold for any."""
    if not course.grading.rotate_seed:
        return course
    draw = secrets.randbits(31)
    assignments = {key: replace(a, seed=(a.seed * 1_000_003 + draw) % 2**31) for key, a in course.assignments.items()}
    return replace(course, assignments=assignments)


def check_sandbox(course: Course, unsafe: bool) -> None:
    """Refuse to grade where a kernel cannot be isolated, unless the instructor said --unsafe-no-isolation."""
    if unsafe:
        print("warning: --unsafe-no-isolation: student code runs with the grader's access to files, network and "
              "processes; every results.json says so.", file=sys.stderr)
        return
    problem = sandbox.check(str(Path(tempfile.mkdtemp(dir=grader_dir()))), [str(course.data_dir)])
    if problem:
        raise ConfigError(f"the kernel sandbox cannot be built on this machine ({problem}), so grading was refused: "
                          "run as root, or allow unprivileged user namespaces (sysctl user.max_user_namespaces, "
                          "kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns), or pass "
                          "--unsafe-no-isolation to grade without it.")


def _already_graded(course: Course, out_dir: Path, submission: Submission) -> bool:
    try:
        old = report.read_submission_results(out_dir, submission.student_id, submission.assignment_id)
    except OSError:  # an id no folder may have: graded (and refused) again
        return False
    return bool(old) and old.get("extra_data", {}).get("fingerprint") == fingerprint(course, submission)


_COURSE: Course | None = None


def _start_worker(threads: int) -> None:
    """A worker's first step. Workers are forked from this process, which has imported everything
    they need, so they start at once; their kernel template starts now, in the background."""
    import torch

    torch.set_num_threads(1)  # the judge shares the cores with this worker's kernels (as DataLoader workers do)
    prestart(threads)


def _worker(root: str, submission: Submission, out_dir: str, isolate: bool) -> float:
    """One submission in a worker process: grade it and write its results at once. Returns seconds."""
    global _COURSE
    started = time.monotonic()
    if _COURSE is None or str(_COURSE.root) != root:
        _COURSE = load(Path(root))
    results, graded = grade_submission(_COURSE, submission, isolate)
    name = _COURSE.assignment(submission.assignment_id).notebook
    report.write_submission(Path(out_dir), results, _COURSE.title, graded, name)
    return time.monotonic() - started


class Progress:
    """A bar with an ETA on a terminal; in a log, one line per tenth of the class. The ETA weighs each
    submission left by how long its assignment's submissions have taken so far (they differ tenfold)."""

    def __init__(self, todo: list[Submission]):
        self.left = [s.assignment_id for s in todo]
        self.total, self.done, self.started = len(todo), 0, time.monotonic()
        self.seconds: dict[str, list[float]] = {}  # assignment id -> grading seconds of each one done
        self.show()

    def update(self, assignment_id: str, seconds: float | None) -> None:
        self.done += 1
        self.left.remove(assignment_id)
        if seconds is not None:
            self.seconds.setdefault(assignment_id, []).append(seconds)
        self.show()

    def eta(self, elapsed: float) -> float:
        every = [x for xs in self.seconds.values() for x in xs]
        if not every:
            return 0.0
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        return elapsed / sum(every) * sum(mean(self.seconds.get(a, every)) for a in self.left)

    def show(self) -> None:
        elapsed = time.monotonic() - self.started
        done, total = self.done, self.total
        line = f"{done}/{total} graded, {elapsed:4.0f} s elapsed, ETA {self.eta(elapsed):4.0f} s"
        if sys.stderr.isatty():
            bar = "#" * (24 * done // total) + "." * (24 - 24 * done // total)
            print(f"\r[{bar}] {line}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done == total or done % max(1, total // 10) == 0:
            print(line, file=sys.stderr, flush=True)


def main(*, course: Course, paths: list[Path], out_dir: Path, jobs: int, assignment: str | None = None,
         force: bool = False, nbgrader_db: str | None = None, nbgrader_dir: Path | None = None,
         unsafe: bool = False) -> tuple[str, list[str]]:
    """Grade every submission under `paths` into `out_dir` (and into an nbgrader gradebook and its
    course folder's autograded/, if given). Returns grades.csv's text and the problems with paths
    that could not be used. Refuses (ConfigError) where kernels cannot be isolated, unless `unsafe`."""
    submissions, problems = collect(course, paths, assignment)
    grader_dir()  # this run's private folder, made before the workers fork so that they share it
    check_sandbox(course, unsafe)
    course = rotate_seeds(course)
    todo = [s for s in submissions if force or not _already_graded(course, out_dir, s)]
    if len(todo) < len(submissions):
        print(f"{len(submissions) - len(todo)} submission(s) unchanged since last graded: kept.", file=sys.stderr)
    if todo:
        import torchvision  # noqa: F401  (imported once here, not once per forked worker; graders read MNIST)

        for assignment_id in sorted({s.assignment_id for s in todo}):
            gradebook_url(course, course.assignment(assignment_id))  # once here, not once per worker
        # Longest budgets first, so that no long submission is left running alone at the end.
        todo.sort(key=lambda s: -course.assignment(s.assignment_id).limits.notebook_timeout)
        global _COURSE
        _COURSE = course  # forked workers grade with this run's settings (its seeds among them)
        progress = Progress(todo)
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))), mp_context=get_context("fork"),
                                 initializer=_start_worker, initargs=(course.limits.threads,)) as pool:
            futures = {pool.submit(_worker, str(course.root), s, str(out_dir), not unsafe): s for s in todo}
            for future in as_completed(futures):
                submission, seconds = futures[future], None
                try:
                    seconds = future.result()
                except Exception as error:  # one submission's grading failure never stops the batch
                    problems.append(f"{submission.notebook}: grading failed ({type(error).__name__}: {error}).")
                progress.update(submission.assignment_id, seconds)
    gradebook = report.write_gradebook(out_dir)
    if nbgrader_db or nbgrader_dir:
        report.record_in_nbgrader(out_dir, course, nbgrader_db, nbgrader_dir)
    return gradebook, problems
