"""What a grader author writes with: calls to make in the student's kernel, graded tests, comparisons
that explain themselves to a student, mistakes recognised by name, and reading code without running it.

Everything here runs in the judge, on plain data that came back from the kernel.
"""
from __future__ import annotations

import importlib.util
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

from .engine import scopes


# --- grader modules ------------------------------------------------------------------------------

def sibling(beside: str | Path, name: str) -> ModuleType:
    """The grader module `name`.py in the folder of `beside`, imported once under a name unique to
    its assignment (every assignment has an inputs.py and a mistakes.py)."""
    path = Path(beside).with_name(f"{name}.py")
    module_name = f"_course_grader_{path.parent.name}_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


# --- what the kernel is asked to do -------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """Ask the kernel for `fn(*args, **kwargs)`; `get=True` fetches the value named `fn` instead;
    `harness=True` calls a harness function shipped from the grader as `fn(student_namespace, ...)`."""

    fn: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    get: bool = False
    harness: bool = False
    label: str = ""  # what a student may be told about the input, e.g. "shape (4, 5), float64"

    def wire(self) -> dict:
        return {"fn": self.fn, "args": self.args, "kwargs": self.kwargs, "get": self.get, "harness": self.harness}


# --- graded tests --------------------------------------------------------------------------------

def graded(description: str, *, about: str, visible: bool = False):
    """Mark a pytest test as graded. Its points live in course.toml; the test carries what a
    student reads (`description`), which student function or answer it is `about` (so mistakes
    recognised on that function are named when it fails), and whether its detail is `visible`."""

    def mark(test):
        test.graded = {"description": description, "about": about, "visible": visible}
        return test

    return mark


NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def redact(error: str) -> str:
    """A student's exception message without the numbers in it: messages that print their
    arguments would otherwise hand back the hidden inputs (x0, lr, steps, seeds, shapes)."""
    kind, colon, message = error.partition(": ")
    return kind + colon + NUMBER.sub("…", message) if colon else error


class Mismatch(AssertionError):
    """A failure written for the student: what differed, never the hidden input or grader code."""


# --- the student's answers -----------------------------------------------------------------------

@dataclass
class Case:
    key: str
    call: Call
    outcome: dict

    @property
    def args(self) -> tuple:
        return self.call.args

    @property
    def label(self) -> str:
        return self.call.label or self.key

    def output(self):
        """The student's answer, or a Mismatch that says why there is none."""
        o = self.outcome
        if "value" in o:
            value = o["value"]
            if isinstance(value, dict) and "__unsupported__" in value:
                raise Mismatch(f"`{self.call.fn}` returned a {value['__unsupported__']}, which the grader cannot read.")
            return value
        if "missing" in o:
            raise Mismatch(f"`{o['missing']}` is not defined: keep the cell that defines it, and make sure it runs without error.")
        if "error" in o:
            if o["error"].startswith("NotImplementedError"):
                raise Mismatch(f"`{self.call.fn}` is not implemented yet (it raises NotImplementedError).")
            where = f" at `{o['line']}`" if o.get("line") else ""
            raise Mismatch(f"`{self.call.fn}` raised {o['error']}{where} ({self.label}).")
        raise Mismatch(f"`{self.call.fn}` was not answered: {o.get('not_run', 'the notebook stopped before the grader could call it')}.")


class Student:
    """A submission's answers to the grader's calls, plus its code as text (read, never run)."""

    def __init__(self, calls: dict[str, Call], outcomes: dict[str, dict], cells: list[str]):
        self.calls, self.outcomes, self.cells = calls, outcomes, cells
        self.notes: list[str] = []  # what a grader could not check, for the instructor only

    def note(self, text: str) -> None:
        """Tell the instructor, never the student, something a grader could not check."""
        if text not in self.notes:
            self.notes.append(text)

    def case(self, key: str) -> Case:
        return Case(key, self.calls[key], self.outcomes.get(key, {}))

    def cases(self, prefix: str) -> list[Case]:
        """Every call whose key starts with `prefix/`, in the order the grader declared them."""
        found = [self.case(k) for k in self.calls if k.startswith(prefix + "/")]
        assert found, f"grader declares no calls under {prefix!r}"
        return found

    def answer(self, key: str):
        """The output for one call, or None when there is none (for recognising mistakes)."""
        try:
            return self.case(key).output()
        except Mismatch:
            return None


# --- comparisons ---------------------------------------------------------------------------------

def close(actual, expected: torch.Tensor, *, rtol: float, atol: float, what: str) -> None:
    """torch.testing.assert_close, reporting type, shape, dtype, nan/inf and value in that order."""
    if not isinstance(actual, torch.Tensor):
        raise Mismatch(f"{what}: expected a tensor, got {type(actual).__name__}.")
    if actual.shape != expected.shape:
        raise Mismatch(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}.")
    if actual.dtype != expected.dtype:
        raise Mismatch(f"{what}: dtype {actual.dtype}, expected {expected.dtype} (keep the input's dtype).")
    if actual.is_floating_point():
        broken = ~torch.isfinite(actual) & torch.isfinite(expected)
        if broken.any():
            kind = "nan" if torch.isnan(actual[broken]).any() else "inf"
            raise Mismatch(f"{what}: got {kind} where a finite value was expected (a numerically unstable step?).")
    try:
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError:
        gap = (actual.double() - expected.double()).abs().nan_to_num(math.inf).max().item()
        if actual.numel() == 1:
            raise Mismatch(f"{what}: got {actual.item():.6g}, expected {expected.item():.6g} "
                           f"(allowed: atol={atol:g} + rtol={rtol:g}·|expected|).") from None
        raise Mismatch(f"{what}: values differ by up to {gap:.3g} (allowed: atol={atol:g} + rtol={rtol:g}·|expected|).") from None


def ratio(actual, expected) -> float | None:
    """actual / expected for two scalar tensors, or None when it is not defined."""
    if not (isinstance(actual, torch.Tensor) and actual.numel() == 1 and expected.numel() == 1):
        return None
    a, e = float(actual), float(expected)
    return a / e if e != 0 and math.isfinite(a) else None


def matches(actual, expected: torch.Tensor, *, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """True when `actual` equals `expected` within tolerance: for recognising a mistake's signature."""
    if not isinstance(actual, torch.Tensor) or actual.shape != expected.shape:
        return False
    return torch.allclose(actual.double(), expected.double(), rtol=rtol, atol=atol)


# --- mistakes ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mistake:
    """One of the lesson's common mistakes, recognised from the student's answers or code."""

    name: str  # what the student did, e.g. "sum instead of mean"
    short: str  # the short that teaches it, e.g. "Short 05 — Manual MSE in 3 Lines"
    explain: str  # one sentence to the student
    about: tuple[str, ...]  # the functions or answers it concerns
    recognise: Callable[["Student", str], bool]

    def message(self) -> str:
        return f"This looks like {self.name}: {self.explain} See {self.short}."


# --- reading code --------------------------------------------------------------------------------

def builtins_reached(cells: list[str], function: str, forbidden: set[str]) -> scopes.Reached:
    """The forbidden names `function` reaches (its own body, the notebook's functions it calls,
    aliases, attribute chains, module-level objects; each name resolved in its own scope, as Python
    does), and what could not be read statically (`unchecked`: getattr with a computed name, eval,
    exec...; `defined` is False when no cell defines the function), which is never guessed at: it is
    for the instructor (`Student.note`)."""
    return scopes.reached(cells, function, forbidden)


def builtins_used(cells: list[str], function: str, forbidden: set[str]) -> set[str]:
    """The forbidden names `function` reaches (see builtins_reached)."""
    return set(builtins_reached(cells, function, forbidden).used)


def normalise_answer(answer: Any) -> str:
    """'nn.BCEWithLogitsLoss()', 'BCEWithLogitsLoss' and 'bce with logits' are one answer."""
    text = str(answer).lower()
    for noise in ("torch.", "nn.", "functional.", "()", " ", "_", "-"):
        text = text.replace(noise, "")
    return text.removesuffix("loss")
