"""`course calibrate`: measure the reference solution under the exact grading budget over many seeds
and write the thresholds the graders check: per check, the worst reference run minus a stated margin.

The grader folder's budget.py says what to measure (REFERENCE, BUDGET, CONFIGS, CHECKS, THRESHOLDS).
The runs are the grader's own calls (`budget/<config>` from inputs.py for each seed), answered by
the harness code the kernels run, on the kernels' thread count, with the reference module's code in
place of a notebook. The file holds no date, so calibrating again on the same seeds rewrites it
unchanged on the same CPU type (another x86-64 CPU rounds differently: a few test images per run).
"""
from __future__ import annotations

import base64
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from ..config import Assignment, ConfigError, Course
from ..grade import harness_source
from ..engine.judge import decode_outcome, encode_calls, grader_module
from ..engine.probe import Probe

MIN_SEEDS = 10  # fewer seeds than this say too little about the reference's worst run


def reference_namespace(course: Course, module: str) -> dict:
    """The reference module's code run as a notebook runs it: in one namespace that is also its globals,
    with the DATA_DIR the engine injects."""
    if str(course.root) not in sys.path:
        sys.path.insert(0, str(course.root))
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ConfigError(f"the reference module {module} named in budget.py cannot be found.")
    namespace = {"__name__": "__reference__"}
    exec(compile(Path(spec.origin).read_text(), spec.origin, "exec"), namespace)
    namespace["DATA_DIR"] = str(course.data_dir)
    return namespace


def runs(course: Course, assignment: Assignment, seeds: list[int]) -> list[dict[str, dict]]:
    """Per seed, per grader config, the reference's run: {"accuracy": test accuracy, "losses": per step},
    on the kernels' thread count."""
    spec = grader_module(course, assignment, "budget")
    inputs = grader_module(course, assignment, "inputs")
    calls = {(seed, key): call for seed in seeds for key, call in inputs.grader_inputs(seed).items()
             if key.startswith("budget/")}
    wire = {f"{seed}:{key}": call for (seed, key), call in calls.items()}
    probe = Probe(base64.b64encode(encode_calls(wire)).decode(), harness_source(course, assignment),
                  reference_namespace(course, spec.REFERENCE))  # one probe: MNIST is loaded once
    threads = torch.get_num_threads()
    torch.set_num_threads(assignment.limits.threads)  # the kernels' count: the same arithmetic
    measured = []
    try:
        for seed in seeds:
            started, run = time.monotonic(), {}
            for key in (k for s, k in calls if s == seed):
                outcome = decode_outcome(probe.answer(f"{seed}:{key}"))  # exactly what the judge reads
                if "value" not in outcome:
                    raise ConfigError(f"the reference failed the grader's run {key} with seed {seed}: "
                                      f"{outcome.get('error', outcome)}")
                run[key.removeprefix("budget/")] = {"accuracy": float(outcome["value"]["accuracy"]),
                                                    "losses": [float(x) for x in outcome["value"]["losses"]]}
            measured.append(run)
            print(f"seed {seed}: " + "  ".join(f"{name} {r['accuracy']:.4f}" for name, r in run.items())
                  + f"  ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    finally:
        torch.set_num_threads(threads)
    return measured


def accuracies(measured: list[dict[str, dict]]) -> list[dict[str, float]]:
    """Per seed, the test accuracy per grader config, of `runs`' result."""
    return [{name: r["accuracy"] for name, r in run.items()} for run in measured]


def measure(course: Course, assignment: Assignment, seeds: list[int]) -> list[dict[str, float]]:
    """Per seed, the reference's test accuracy per grader config, on the kernels' thread count."""
    return accuracies(runs(course, assignment, seeds))


def calibrate(course: Course, assignment: Assignment, seeds: list[int]) -> dict:
    """Run every grader config on every seed; returns the thresholds file's content as a dict. When the
    grader folder has a curves.py (the feedback page's figure), the reference's loss band per config too."""
    spec = grader_module(course, assignment, "budget")
    measured = runs(course, assignment, seeds)
    accuracy = accuracies(measured)
    checks = {}
    for name, check in spec.CHECKS.items():
        values = [round(check.value(run), 6) for run in accuracy]
        checks[name] = {"what": check.what, "values": values, "min": min(values),
                        "mean": round(statistics.mean(values), 6), "max": max(values),
                        "margin": check.margin, "threshold": round(min(values) - check.margin, 6)}
    table = {
        "assignment": assignment.id,
        "reference": spec.REFERENCE,
        "torch": torch.__version__,
        "threads": assignment.limits.threads,
        "seeds": list(seeds),
        "budget": dict(spec.BUDGET),
        "configs": {name: {**config, "accuracy": [round(run[name], 6) for run in accuracy]}
                    for name, config in spec.CONFIGS.items()},
        "checks": checks,
    }
    if course.path("autograder", assignment.id, "curves.py").is_file():
        curves = grader_module(course, assignment, "curves")
        table["curves"] = {name: {"window": curves.WINDOW, **curves.band([run[name]["losses"] for run in measured])}
                           for name in spec.CONFIGS}
    return table


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for the plain text written here
    return repr(value)  # int or float


def _key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() else json.dumps(name)


def render(table: dict) -> str:
    """The thresholds file: a header saying where it comes from, then plain TOML."""
    lines = [f"# Thresholds for {table['assignment']}, written by `course calibrate {table['assignment']}` from "
             f"{len(table['seeds'])} seeds.",
             "# Never edit by hand: change budget.py or the reference, then calibrate again.",
             "# A submission passes a check when its value is at least threshold = min - margin."]
    lines += [f"{k} = {_toml(table[k])}" for k in ("assignment", "reference", "torch", "threads", "seeds", "budget")]
    for name, config in table["configs"].items():
        lines += ["", f"[configs.{_key(name)}]"] + [f"{k} = {_toml(v)}" for k, v in config.items()]
    for name, check in table["checks"].items():
        lines += ["", f"[checks.{_key(name)}]"] + [f"{k} = {_toml(v)}" for k, v in check.items()]
    if "curves" in table:
        lines += ["", "# The feedback page's loss band: per config, the lowest and highest of the seeds' runs at each",
                  "# point, a point being the mean loss of `window` consecutive steps (curves.py)."]
    for name, curve in table.get("curves", {}).items():
        lines += ["", f"[curves.{_key(name)}]"] + [f"{k} = {_toml(v)}" for k, v in curve.items()]
    return "\n".join(lines) + "\n"


def summary(table: dict) -> str:
    rows = [f"{'check':18s} {'min':>8s} {'mean':>8s} {'max':>8s} {'margin':>7s} {'threshold':>9s}  what"]
    rows += [f"{name:18s} {c['min']:8.4f} {c['mean']:8.4f} {c['max']:8.4f} {c['margin']:7.3f} {c['threshold']:9.4f}  {c['what']}"
             for name, c in table["checks"].items()]
    return "\n".join(rows)


def main(*, course: Course, assignment_id: str, seeds: int) -> int:
    """Calibrate `assignment_id` on seeds 0..seeds-1 and write its thresholds file; exit code 0 when written."""
    assignment = course.assignment(assignment_id)
    if seeds < MIN_SEEDS:
        raise ConfigError(f"calibrate needs at least {MIN_SEEDS} seeds, got {seeds}.")
    if not course.path("autograder", assignment.id, "budget.py").is_file():
        raise ConfigError(f"{assignment.id} has no autograder/{assignment.id}/budget.py, so nothing to calibrate.")
    table = calibrate(course, assignment, list(range(seeds)))
    path = Path(grader_module(course, assignment, "budget").THRESHOLDS)
    path.write_text(render(table))
    print(summary(table))
    print(f"wrote {path.relative_to(course.root) if path.is_relative_to(course.root) else path}")
    return 0
