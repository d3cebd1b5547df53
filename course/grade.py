"""`course grade`: every submission goes through execute (student kernel) -> judge (hidden graders)
-> report, in parallel workers; results are written as soon as they exist and reused on a re-run
when neither the notebook nor the graders changed.
"""
from __future__ import annotations

import hashlib
import secrets
import inspect
import sys
import time
from dataclasses import dataclass, field, replace
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from . import doctor
from .authoring import lesson
from .engine import integrity
from .outputs import report
from .intake.collect import Submission, collect
from .config import ConfigError, Course, load
from .engine.execute import Execution, execute, grader_dir
from .engine.kernels import prestart
from .engine.judge import encode_calls, grader_calls, grader_module, judge
from .engine.notebook import NotebookError, read_notebook, student_cells
from .engine.restore import gradebook_url, restore


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


class GraderError(Exception):
    """Something on the grader's side (its data, config, sandbox, graders or reference) failed:
    the submission gets no score, no feedback blaming the student, and is graded again next run."""


def grade_submission(course: Course, submission: Submission, isolate: bool = True) -> tuple[dict, object]:
    """Grade one submission; returns its results.json content and the notebook as graded (None when
    the file is not a notebook, or when the grader failed). `isolate=False` is --unsafe-no-isolation."""
    try:
        return _grade_submission(course, submission, isolate)
    except GraderError as error:
        return report.grader_error_results(submission.student_id, submission.assignment_id, str(error),
                                           course.assignment(submission.assignment_id).max_score), None


def _grade_submission(course: Course, submission: Submission, isolate: bool) -> tuple[dict, object]:
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
        except Exception as error:  # the engine failed, not the notebook
            raise GraderError(f"the grader could not run the notebook ({type(error).__name__}: {error})") from None
        execution.restored = restored
        cells = student_cells(notebook)
    static_flags = integrity.scan_notebook(notebook) if notebook is not None else []
    if execution.setup_error and not (static_flags or execution.tampering):  # the harness failed, not the student
        raise GraderError(f"the grader's setup cell failed in the kernel ({execution.setup_error})")
    if execution.setup_error:
        execution.tampering.append(f"the grader's setup cell failed after this notebook ran ({execution.setup_error})")
    not_run = execution.fatal or "the notebook stopped before the grader could call it (see the notebook problems)"
    try:
        verdict = judge(course, assignment, execution.outcomes, cells, not_run, calls)
    except Exception as error:  # a grader that cannot run (config, import, pytest) judges no one
        raise GraderError(f"the graders could not run ({type(error).__name__}: {error})") from None
    crashed = [f"{t.name}: {t.internal}" for t in verdict.tests if t.internal]
    if crashed:  # a grader or the reference crashed: no test of this submission is trusted
        raise GraderError(f"a grader crashed ({'; '.join(crashed)})")
    results = report.results_json(submission.student_id, submission.assignment_id, verdict, execution,
                                  submission.note, fingerprint(course, submission))
    results["extra_data"]["seed"] = assignment.seed
    flags = static_flags + execution.tampering + verdict.integrity
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


def _already_graded(course: Course, out_dir: Path, submission: Submission) -> bool:
    try:
        old = report.read_submission_results(out_dir, submission.student_id, submission.assignment_id)
    except OSError:  # an id no folder may have: graded (and refused) again
        return False
    extra = (old or {}).get("extra_data", {})
    return extra.get("status") != report.GRADER_ERROR and extra.get("fingerprint") == fingerprint(course, submission)


_COURSE: Course | None = None


def _start_worker(threads: int) -> None:
    """A worker's first step. Workers are forked from this process, which has imported everything
    they need, so they start at once; then their kernel template starts, and no submission is taken
    before it is warm: a submission's time budget never pays for the template's imports."""
    import torch

    torch.set_num_threads(1)  # the judge shares the cores with this worker's kernels (as DataLoader workers do)
    prestart(threads).wait_ready()


def _worker(root: str, submission: Submission, out_dir: str, isolate: bool) -> tuple[float, str]:
    """One submission in a worker process: grade it and write its results at once. Returns seconds, and
    the grader's own error ('' when it graded)."""
    global _COURSE
    started = time.monotonic()
    if _COURSE is None or str(_COURSE.root) != root:
        _COURSE = load(Path(root))
    results, graded = grade_submission(_COURSE, submission, isolate)
    write_results(_COURSE, Path(out_dir), results, graded)
    extra = results["extra_data"]
    return time.monotonic() - started, "; ".join(extra["grader_errors"]) if extra["status"] == report.GRADER_ERROR else ""


def write_results(course: Course, out_dir: Path, results: dict, graded) -> None:
    """Write one submission's results, the same whichever process graded it (a pool worker here, or
    this process for a Dask worker's)."""
    name = course.assignment(results["extra_data"]["assignment"]).notebook
    report.write_submission(out_dir, results, course.title, graded, name, lesson.load(course))


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


@dataclass
class Run:
    """What one `course grade` run did with every notebook it was given."""
    gradebook: str = ""  # grades.csv's text
    graded: list[Submission] = field(default_factory=list)
    kept: list[Submission] = field(default_factory=list)  # unchanged since last graded
    grader_errors: list[tuple[Submission, str]] = field(default_factory=list)  # graded again next run
    not_graded: list[str] = field(default_factory=list)  # one sentence each: what was not graded, and why

    @property
    def exit_status(self) -> int:
        """0 when every notebook given has a grade; 1 when one has none, or when there was nothing to grade."""
        return 0 if (self.graded or self.kept) and not (self.grader_errors or self.not_graded) else 1

    def table(self) -> str:
        """One table of what was graded, kept, and failed on the grader's side, per assignment; then
        every notebook not graded, with why."""
        rows = {}
        for column, items in (("graded", self.graded), ("kept", self.kept),
                              ("grader-error", [s for s, _ in self.grader_errors])):
            for submission in items:
                rows.setdefault(submission.assignment_id, dict.fromkeys(("graded", "kept", "grader-error"), 0))[column] += 1
        lines = [f"{'assignment':<24}{'graded':>8}{'kept':>8}{'grader-error':>14}"] if rows else []
        lines += [f"{a:<24}{r['graded']:>8}{r['kept']:>8}{r['grader-error']:>14}" for a, r in sorted(rows.items())]
        reasons = [f"{s.student_id}/{s.assignment_id}: grader error, graded again next run ({why})"
                   for s, why in self.grader_errors] + self.not_graded
        if reasons:
            lines += [f"Not graded ({len(reasons)}):"] + [f"  {r}" for r in reasons]
        if not (self.graded or self.kept or self.grader_errors):
            lines.append("Nothing was graded.")
        return "\n".join(lines)


def check_arguments(paths: list[Path], out_dir: Path, jobs: int) -> None:
    """What the caller typed, checked before anything is read or graded (exit status 2)."""
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: give at least 1 (submissions graded at once).")
    for path in map(Path, paths):
        if not path.exists():
            raise ConfigError(f"{path} does not exist: name the submissions folder, a zip, or notebooks.")
    problems = doctor.out_folder(out_dir)
    if problems:
        raise ConfigError(problems[0])


def main(*, course: Course, paths: list[Path], out_dir: Path, jobs: int, assignment: str | None = None,
         force: bool = False, nbgrader_db: str | None = None, nbgrader_dir: Path | None = None,
         unsafe: bool = False, cluster: str | None = None) -> Run:
    """Grade every submission under `paths` into `out_dir` (and into an nbgrader gradebook and its
    course folder's autograded/, if given). Raises ConfigError before grading anything when the
    arguments or the grader's setup are wrong course-wide (the sandbox included, unless `unsafe`);
    an assignment whose own setup fails (its graders, its data) is not graded, and the run says so."""
    check_arguments(paths, out_dir, jobs)
    if cluster:
        from .scale.cluster import check_address, grade_on_cluster

        check_address(cluster)
    if assignment is not None:
        course.assignment(assignment)  # an unknown id is one sentence, before anything is read
    # This run's private folder, made before the workers fork so that they share it; zips unpack into it.
    submissions, problems = collect(course, paths, assignment, workdir=grader_dir() / "intake")
    run = Run(not_graded=list(problems))
    if not submissions:
        if not problems:
            run.not_graded.append("no submission was found under " + ", ".join(map(str, paths)) + ".")
        return run
    findings = doctor.diagnose(course, sorted({s.assignment_id for s in submissions}), out_dir=out_dir,
                               isolate=not unsafe and not cluster)  # a cluster's workers check their own sandbox
    course_wide = [f for f in findings if f.scope == "course"]
    if course_wide:
        raise doctor.SetupError(course_wide)
    if unsafe:
        print("warning: --unsafe-no-isolation: student code runs with the grader's access to files, network and "
              "processes; every results.json says so.", file=sys.stderr)
    blocked = {}
    for finding in findings:
        blocked.setdefault(finding.scope, finding.problem)
    for submission in [s for s in submissions if s.assignment_id in blocked]:
        run.not_graded.append(f"{submission.notebook}: not graded, the grader's setup for "
                              f"{submission.assignment_id} failed ({blocked[submission.assignment_id]})")
    submissions = [s for s in submissions if s.assignment_id not in blocked]
    course = rotate_seeds(course)
    todo = [s for s in submissions if force or not _already_graded(course, out_dir, s)]
    run.kept = [s for s in submissions if s not in todo]
    if todo:
        import torchvision  # noqa: F401  (imported once here, not once per forked worker; graders read MNIST)

        for assignment_id in sorted({s.assignment_id for s in todo}):
            gradebook_url(course, course.assignment(assignment_id))  # once here, not once per worker
        # Longest budgets first, so that no long submission is left running alone at the end.
        todo.sort(key=lambda s: -course.assignment(s.assignment_id).limits.notebook_timeout)
        progress = Progress(todo)
        finished = (grade_on_cluster(cluster, course, todo, out_dir, jobs, not unsafe) if cluster
                    else _grade_in_pool(course, todo, out_dir, jobs, not unsafe))
        for submission, seconds, error in finished:
            if error:
                run.grader_errors.append((submission, error))
            else:
                run.graded.append(submission)
            progress.update(submission.assignment_id, seconds)
    run.gradebook = report.write_gradebook(out_dir)
    if nbgrader_db or nbgrader_dir:
        report.record_in_nbgrader(out_dir, course, nbgrader_db, nbgrader_dir)
    return run


def _grade_in_pool(course: Course, todo: list[Submission], out_dir: Path, jobs: int, isolate: bool):
    """Grade `todo` in worker processes forked from this one; yields (submission, seconds or None,
    the grader's error or '') as each is written."""
    global _COURSE
    _COURSE = course  # forked workers grade with this run's settings (its seeds among them)
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))), mp_context=get_context("fork"),
                             initializer=_start_worker, initargs=(course.limits.threads,)) as pool:
        futures = {pool.submit(_worker, str(course.root), s, str(out_dir), isolate): s for s in todo}
        for future in as_completed(futures):
            submission, seconds = futures[future], None
            try:
                seconds, error = future.result()
            except Exception as crash:  # a worker that died: that submission only, graded again next run
                error = f"the grading worker failed ({type(crash).__name__}: {crash})"
                _record_grader_error(course, out_dir, submission, error)
            yield submission, seconds, error


def _record_grader_error(course: Course, out_dir: Path, submission: Submission, error: str) -> None:
    results = report.grader_error_results(submission.student_id, submission.assignment_id, error,
                                          course.assignment(submission.assignment_id).max_score)
    try:
        report.write_submission(out_dir, results, course.title)
    except OSError:  # an id no folder may have: the run's table still names it
        pass
