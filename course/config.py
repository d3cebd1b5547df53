"""Read `course.toml` once into typed settings: folders, assignments, points, limits, seeds, grading policy.

Every key is declared below with its type, default and description (as otter-grader declares its
config), so an unknown key, a wrong type or a missing file is one clear sentence, never a traceback.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_NAME = "course.toml"
DATA_ENV = "COURSE_DATA_DIR"


class ConfigError(Exception):
    """A problem a user can cause and fix: the message is one sentence naming what and where."""


def key(kind: type, default: Any = None, help: str = "", required: bool = False, choices: tuple = ()):
    """Declare a config key: its type, its default, its description, whether it must be given, and
    the values it may take (any of its type when `choices` is empty)."""
    return field(default=default, metadata={"kind": kind, "help": help, "required": required, "choices": choices})


@dataclass(frozen=True)
class Folders:
    source: str = key(str, "source", "nbgrader instructor notebooks, one folder per assignment")
    release: str = key(str, "release", "student notebooks generated from source/ by `course release`")
    autograder: str = key(str, "autograder", "hidden pytest graders, one folder per assignment")
    solutions: str = key(str, "solutions", "reference implementations the graders compare against")
    examples: str = key(str, "examples", "example submissions, nbgrader layout <student>/<assignment>/<notebook>")


@dataclass(frozen=True)
class Limits:
    cell_timeout: int = key(int, 60, "seconds one cell may run before it is interrupted")
    notebook_timeout: int = key(int, 300, "seconds the whole notebook may run, probes included")
    memory_mb: int = key(int, 6144, "address-space cap of the kernel (RLIMIT_AS); torch and ipykernel map about 3.7 GB")
    threads: int = key(int, 1, "torch/OpenMP threads per kernel, so parallel workers do not oversubscribe cores")
    output_kb: int = key(int, 1024, "kilobytes of text output kept per cell; the rest is cut")


@dataclass(frozen=True)
class Grading:
    tamper_policy: str = key(str, "flag", "what a submission flagged by course/engine/integrity.py gets: 'flag' records "
                             "the flags for the instructor only; 'zero' scores it 0 and holds it for review",
                             choices=("flag", "zero"))
    submission_pattern: str = key(str, "", "for LMS downloads other than Canvas, Moodle and Blackboard: a Python "
                                  "regular expression matched at the start of each file's '/'-separated path inside "
                                  "the download, with nbgrader zip_collect's named groups: student_id, and optionally "
                                  "timestamp or attempt, late, file_id")
    rotate_seed: bool = key(bool, False, "draw a fresh grading seed for each `course grade` run, derived from each "
                            "assignment's seed; thresholds are calibrated over seeds, so they stay valid")


@dataclass(frozen=True)
class Assignment:
    id: str = key(str, required=True, help="the assignment folder name, e.g. 01_losses")
    notebook: str = key(str, required=True, help="the notebook file name inside the assignment folder")
    seed: int = key(int, required=True, help="grading-time seed for hidden inputs (never the visible tests' seed)")
    tests: dict = key(dict, required=True, help="graded pytest test name -> points")
    parameters: dict = key(dict, None, "values injected after the notebook's `parameters` cell at grading time")
    datasets: list = key(list, None, "torchvision datasets the assignment reads from the data folder (e.g. [\"MNIST\"]), "
                         "checked by `course doctor` before grading")
    limits: Limits = key(Limits, None, "limits for this assignment; unset keys fall back to [limits]")

    @property
    def max_score(self) -> float:
        return float(sum(self.tests.values()))


@dataclass(frozen=True)
class Course:
    root: Path
    id: str
    title: str
    data_dir: Path
    folders: Folders
    limits: Limits
    assignments: dict[str, Assignment]
    grading: Grading = field(default_factory=Grading)

    def path(self, folder: str, *parts: str) -> Path:
        """The one place paths are built: `course.path("release", "01_losses", "losses.ipynb")`."""
        return self.root / getattr(self.folders, folder) / Path(*parts)

    def assignment(self, assignment_id: str) -> Assignment:
        if assignment_id not in self.assignments:
            import difflib

            near = difflib.get_close_matches(assignment_id, list(self.assignments), n=1)
            hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(self.assignments) or 'none'}."
            raise ConfigError(f"{CONFIG_NAME}: no assignment '{assignment_id}'; {hint}")
        return self.assignments[assignment_id]


def _build(cls, table: dict, where: str, base=None):
    """Make dataclass `cls` from a TOML table, rejecting unknown keys and wrong types by name."""
    declared = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(declared))
    if unknown:
        raise ConfigError(f"{CONFIG_NAME}: unknown key '{where}.{unknown[0]}' (known: {', '.join(declared)}).")
    values = {}
    for name, f in declared.items():
        if name in table:
            values[name] = _checked(table[name], f, f"{where}.{name}")
        elif f.metadata.get("required"):
            raise ConfigError(f"{CONFIG_NAME}: '{where}' is missing required key '{name}' ({f.metadata['help']}).")
        elif base is not None:
            values[name] = getattr(base, name)
    return cls(**values)


def _checked(value: Any, declared, where: str) -> Any:
    """`value` if it has the declared key's type (and is one of its choices), else one ConfigError."""
    kind, choices = declared.metadata["kind"], declared.metadata.get("choices")
    # TOML's `true` is an int to Python (bool subclasses int): only a bool key may take it.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{CONFIG_NAME}: '{where}' must be {kind.__name__}, got {value!r}.")
    if choices and value not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        raise ConfigError(f"{CONFIG_NAME}: '{where}' must be {allowed}, got {value!r}.")
    return value


def _assignment(assignment_id: str, table: dict, limits: Limits) -> Assignment:
    where = f"assignments.{assignment_id}"
    table = dict(table, id=assignment_id)
    own_limits = _build(Limits, table.pop("limits", {}), f"{where}.limits", base=limits)
    assignment = _build(Assignment, table, where)
    from .doctor import DATASETS  # the datasets `course doctor` knows how to check

    for name in assignment.datasets or []:
        if name not in DATASETS:
            raise ConfigError(f"{CONFIG_NAME}: '{where}.datasets' names {name!r}; known: {', '.join(DATASETS)}.")
    for test, points in assignment.tests.items():
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
            raise ConfigError(f"{CONFIG_NAME}: '{where}.tests.{test}' must be a positive number of points.")
    return Assignment(**{**assignment.__dict__, "parameters": assignment.parameters or {},
                         "datasets": list(assignment.datasets or []), "limits": own_limits})


def usable_cores(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup's CPU quota (a container
    given 2 CPUs on a 64-core host has 64 in os.cpu_count() but room for 2 grading jobs)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds course.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ConfigError(f"no {CONFIG_NAME} found in {here} or any folder above it.")


def load(root: Path | None = None) -> Course:
    """Read course.toml under `root` (or the nearest one above the working directory)."""
    root = Path(root).resolve() if root else find_root()
    config_file = root / CONFIG_NAME
    if not config_file.is_file():
        raise ConfigError(f"{config_file} does not exist.")
    try:
        raw = tomllib.loads(config_file.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_file} is not valid TOML: {error}.") from None

    unknown = sorted(set(raw) - {"course", "folders", "limits", "grading", "assignments"})
    if unknown:
        raise ConfigError(f"{CONFIG_NAME}: unknown table '[{unknown[0]}]'.")
    head = dict(raw.get("course", {}))
    for name in ("id", "title", "data_dir"):
        if not isinstance(head.get(name), str):
            raise ConfigError(f"{CONFIG_NAME}: '[course] {name}' must be given as a string.")
    extra = sorted(set(head) - {"id", "title", "data_dir"})
    if extra:
        raise ConfigError(f"{CONFIG_NAME}: unknown key 'course.{extra[0]}' (known: id, title, data_dir).")

    folders = _build(Folders, raw.get("folders", {}), "folders", base=Folders())
    limits = _build(Limits, raw.get("limits", {}), "limits", base=Limits())
    grading = _build(Grading, raw.get("grading", {}), "grading", base=Grading())
    if grading.submission_pattern:
        from .intake.lms import compile_pattern

        compile_pattern(grading.submission_pattern)  # a bad pattern is one sentence now, not at grading
    assignments = {
        assignment_id: _assignment(assignment_id, table, limits)
        for assignment_id, table in raw.get("assignments", {}).items()
    }
    data_dir = Path(os.environ.get(DATA_ENV) or head["data_dir"])
    course = Course(
        root=root,
        id=head["id"],
        title=head["title"],
        data_dir=(root / data_dir).resolve(),  # relative to course.toml; absolute stays absolute
        folders=folders,
        limits=limits,
        assignments=assignments,
        grading=grading,
    )
    for assignment in assignments.values():
        notebook = course.path("source", assignment.id, assignment.notebook)
        if not notebook.is_file():
            raise ConfigError(f"{CONFIG_NAME}: assignment '{assignment.id}' names {notebook}, which does not exist.")
    return course
