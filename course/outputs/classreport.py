"""`course report`: what a graded class got wrong, from the results.json files alone (so any past run
can be read): the lesson's mistakes by how many students made them and the short that teaches each,
each test's pass rate, score histograms, faults, tamper flags, runtimes and the grader's own errors.

Writes `index.html` (self-contained: figures are embedded SVG, no script, no external asset) and
`report.json` (the same figures as data) into the output folder.
"""
from __future__ import annotations

import ast
import base64
import html
import io
import json
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import ConfigError, Course
from .report import GRADER_ERROR, RESULTS, read_under, write_under

PAGE = "index.html"
DATA = "report.json"
NOT_A_NOTEBOOK = "not a notebook"
TOP_MISTAKES_PLOTTED = 12
LECTURE_ITEMS = 10  # the numbered list at the top; every mistake is in the table below it

# "name (function)", as course/engine/judge.py records each mistake recognised
_MISTAKE = re.compile(r"^(?P<name>.*) \((?P<about>[^()]*)\)$")
# A failed test's output names a mistake as grading.Mistake.message() writes it
_LIKELY_CAUSE = re.compile(r"^Likely cause: This looks like (?P<name>.+?): .* See (?P<short>Short \d+.*?)\.$")
_SHORT_NUMBER = re.compile(r"Short (\d+)")
_LESSON_HEADING = re.compile(r"^## Short (\d+) — (.+?)\s*$", re.M)

# What results.json's "output" says about a notebook's run (course/outputs/report.py _problems and
# course/engine/execute.py), in the order they are tried: kind -> pattern of one output line.
FAULT_KINDS = [
    ("timeout", re.compile(r"^Cell (\d+) (timed out after .*)\.$")),
    ("kernel died (crash, exit or memory)", re.compile(r"^Cell (\d+) (stopped the kernel.*)\.$")),
    ("out of memory", re.compile(r"^Cell (\d+) (raised (?:MemoryError|.*can't allocate memory).*)\.$")),
    ("time budget used up", re.compile(r"^Cell (\d+) (not run: the notebook's time budget was used up)\.$")),
    ("output cut", re.compile(r"^Cell (\d+) (printed or displayed more than is kept.*)\.$")),
    ("error in a cell", re.compile(r"^Cell (\d+) (raised .*)\.$")),
    ("could not be graded", re.compile(r"^()The file could not be graded: (.*)$")),
    ("locked cell restored", re.compile(r"^()(Locked cell '.*' was .*)$")),
    ("locked cells not checked", re.compile(r"^()(Locked cells could not be checked.*)$")),
]
# The order of the faults table: what the instructor must act on first.
KIND_ORDER = ["tamper flag", "not isolated", NOT_A_NOTEBOOK, "could not be graded", "kernel died (crash, exit or memory)",
              "out of memory", "timeout", "time budget used up", "output cut", "locked cell restored", "locked cells not checked",
              "error in a cell"]
# A grader call that ran out of time or memory shows in the test's output, not the notebook's.
_CALL_FAULTS = [("timeout", "TimeoutError"), ("out of memory", "MemoryError"), ("out of memory", "can't allocate memory")]


# --- reading the graded class ----------------------------------------------------------------------

def read_class(grades_dir: Path) -> list[dict]:
    """Every GRADES_DIR/<student>/<assignment>/results.json, sorted; ConfigError (one sentence) when
    the folder is missing, holds none, or one is not JSON. No symlink below GRADES_DIR is followed."""
    root = Path(grades_dir)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder of graded submissions (give the --out folder of `course grade`).")
    found = []
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for folder in sorted(p for p in student.iterdir() if p.is_dir() and not p.is_symlink()):
            data = read_under(root, [student.name, folder.name, RESULTS])
            if data is None:
                continue
            found.append(_parsed(data, folder / RESULTS))
    if not found:
        raise ConfigError(f"{root} holds no <student>/<assignment>/{RESULTS}: grade the class into it first "
                          f"(course grade SUBMISSIONS --out {root}).")
    return found


def _parsed(data: bytes, path: Path) -> dict:
    try:
        results = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid JSON ({str(error).splitlines()[0]}): grade that submission "
                          "again with `course grade --force`, or remove it.") from None
    extra = results.get("extra_data") if isinstance(results, dict) else None
    if not isinstance(extra, dict) or not {"student_id", "assignment", "status"} <= set(extra):
        raise ConfigError(f"{path} is not a results.json written by `course grade` (no extra_data with "
                          "student_id, assignment and status).")
    return results


def graded(results: dict) -> bool:
    """A submission with a score (a grader error has none, and is never counted as a 0)."""
    return results["extra_data"]["status"] != GRADER_ERROR and results.get("score") is not None


def ran(results: dict) -> bool:
    """A notebook that was run and judged: only its code can show a mistake (a file that is not a
    notebook scores 0 but shows none), so only these count in a mistake's share."""
    return graded(results) and results["extra_data"]["status"] == "graded"


# --- the shorts that teach each mistake --------------------------------------------------------------

def short_titles(course: Course) -> dict[int, str]:
    """Short number -> "Short NN — Title" as the lesson titles it (the committed extract of the lesson,
    else the lesson's scripts beside the checkout); {} when neither is there."""
    try:
        from ..authoring.lesson import load  # the lesson's shorts as the feedback quotes them

        titles = {n: f"Short {n:02d} — {s.title}" for n, s in load(course).items()}
    except ImportError:
        titles = {}
    if titles:
        return titles
    for script in sorted((course.root.parent / "shared" / "lesson").glob("*.txt")):
        for number, title in _LESSON_HEADING.findall(script.read_text(errors="replace")):
            titles[int(number)] = f"Short {int(number):02d} — {title}"
    return titles


def declared_shorts(course: Course, assignment_id: str) -> dict[tuple[str, str], str]:
    """(mistake name, function) -> its short, read (never run) from autograder/<a>/mistakes.py's table;
    the function is "" where the table names the functions through a variable."""
    path = course.path("autograder", assignment_id, "mistakes.py")
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {}
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
    found = {}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Mistake" and len(call.args) >= 2):
            continue
        name, short = (_constant(a, constants) for a in call.args[:2])
        if not (isinstance(name, str) and isinstance(short, str)):
            continue
        abouts = call.args[3] if len(call.args) > 3 else None
        functions = [_constant(e, constants) for e in abouts.elts] if isinstance(abouts, ast.Tuple) else []
        for function in [f for f in functions if isinstance(f, str)] or [""]:
            found.setdefault((name, function), short)
        found.setdefault((name, ""), short)
    return found


def _constant(node, constants: dict):
    if isinstance(node, ast.Constant):
        return node.value
    return constants.get(node.id) if isinstance(node, ast.Name) else None


def shorts_in_results(results: dict) -> dict[str, str]:
    """Mistake name -> short, as this submission's own results name them."""
    found = dict(results["extra_data"].get("mistake_shorts") or {})
    for test in results.get("tests", []):
        for line in str(test.get("output", "")).splitlines():
            match = _LIKELY_CAUSE.match(line)
            if match:
                found.setdefault(match["name"], match["short"])
    return found


# --- what the class got wrong ------------------------------------------------------------------------

@dataclass
class Misconception:
    assignment: str
    mistake: str
    short: str  # "Short 10 — No Softmax Before CrossEntropyLoss", or "" when unknown
    functions: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    graded: int = 0  # students whose notebook of the assignment was run and judged: the share's denominator

    @property
    def share(self) -> float:
        return len(self.students) / self.graded if self.graded else 0.0

    def sentence(self) -> str:
        revisit = f" → revisit {self.short}" if self.short else ""
        return f"{self.share:.0%} {self.mistake}{revisit}"

    def as_dict(self) -> dict:
        return asdict(self) | {"count": len(self.students), "share": round(self.share, 4),
                               "short_number": _short_number(self.short), "sentence": self.sentence()}


def _short_number(short: str) -> int | None:
    match = _SHORT_NUMBER.search(short or "")
    return int(match.group(1)) if match else None


def misconceptions(course: Course, class_results: list[dict]) -> list[Misconception]:
    """Each named mistake of each assignment, with the students who made it, most frequent first."""
    titles = short_titles(course)
    declared = {a: declared_shorts(course, a) for a in {r["extra_data"]["assignment"] for r in class_results}}
    denominators = defaultdict(set)
    found: dict[tuple[str, str, str], Misconception] = {}
    for results in filter(ran, class_results):
        extra = results["extra_data"]
        assignment, student = extra["assignment"], extra["student_id"]
        denominators[assignment].add(student)
        own = shorts_in_results(results)
        for entry in extra.get("mistakes") or []:
            match = _MISTAKE.match(entry)
            name, function = (match["name"], match["about"]) if match else (entry, "")
            table = declared.get(assignment, {})
            short = table.get((name, function)) or own.get(name) or table.get((name, ""), "")
            short = titles.get(_short_number(short), short)
            item = found.setdefault((assignment, name, short), Misconception(assignment, name, short))
            if function and function not in item.functions:
                item.functions.append(function)
            if student not in item.students:
                item.students.append(student)
    for item in found.values():
        item.graded = len(denominators[item.assignment])
    return sorted(found.values(), key=lambda m: (-m.share, -len(m.students), m.assignment, m.mistake))


def by_short(items: list[Misconception], students: int) -> list[dict]:
    """The shorts to revisit: each with every mistake it teaches and the distinct students who made one."""
    shorts: dict[str, dict] = {}
    for item in items:
        if not item.short:
            continue
        entry = shorts.setdefault(item.short, {"short": item.short, "mistakes": [], "students": []})
        entry["mistakes"].append(f"{item.mistake} ({item.assignment})")
        entry["students"] += [s for s in item.students if s not in entry["students"]]
    for entry in shorts.values():
        entry["share_of_class"] = round(len(entry["students"]) / students, 4) if students else 0.0
    return sorted(shorts.values(), key=lambda e: (-len(e["students"]), _short_number(e["short"]) or 0))


# --- each assignment ---------------------------------------------------------------------------------

def assignment_summary(course: Course, assignment_id: str, class_results: list[dict]) -> dict:
    """Scores, tests (ordered by how many students lost points on them) and runtimes of one assignment."""
    mine = [r for r in class_results if r["extra_data"]["assignment"] == assignment_id]
    scored = [r for r in mine if graded(r)]
    scores = [float(r["score"]) for r in scored]
    max_score = max((float(r["max_score"]) for r in mine if r.get("max_score") is not None),
                    default=_configured_max(course, assignment_id))
    times = sorted(((float(r.get("execution_time") or 0.0), r["extra_data"]["student_id"]) for r in mine if ran(r)),
                   reverse=True)
    return {
        "assignment": assignment_id,
        "max_score": max_score,
        "submissions": len(mine),
        "graded": len(scored),
        "not_a_notebook": sum(r["extra_data"]["status"] == NOT_A_NOTEBOOK for r in mine),
        "grader_errors": len(mine) - len(scored),
        "scores": sorted(scores),
        "mean": round(statistics.fmean(scores), 2) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "full_marks": sum(s >= max_score for s in scores),
        "runtime_median_s": round(statistics.median(t for t, _ in times), 1) if times else None,
        "runtime_slowest": {"student": times[0][1], "seconds": times[0][0]} if times else None,
        "tests": per_test_statistics(course, assignment_id, scored),
    }


def _configured_max(course: Course, assignment_id: str) -> float:
    return course.assignments[assignment_id].max_score if assignment_id in course.assignments else 0.0


def per_test_statistics(course: Course, assignment_id: str, scored: list[dict]) -> list[dict]:
    """Per graded test: pass rate, mean points, and the students who lost points, most lost first."""
    order = list(course.assignments[assignment_id].tests) if assignment_id in course.assignments else []
    tests: dict[str, dict] = {}
    for results in scored:
        student = results["extra_data"]["student_id"]
        for test in results.get("tests", []):
            entry = tests.setdefault(test["name"], {"name": test["name"], "max_score": test.get("max_score", 0),
                                                    "points": [], "lost": []})
            entry["points"].append(float(test.get("score") or 0.0))
            if float(test.get("score") or 0.0) < float(test.get("max_score") or 0.0):
                entry["lost"].append(student)
    rows = []
    for entry in tests.values():
        n = len(entry["points"])
        rows.append({"name": entry["name"], "max_score": entry["max_score"], "students": n,
                     "pass_rate": round((n - len(entry["lost"])) / n, 4) if n else 0.0,
                     "mean_points": round(statistics.fmean(entry["points"]), 2) if n else 0.0,
                     "lost_points": len(entry["lost"]), "students_lost": entry["lost"]})
    position = {name: i for i, name in enumerate(order)}
    return sorted(rows, key=lambda r: (-r["lost_points"], position.get(r["name"], len(order)), r["name"]))


# --- faults, integrity and the grader's own errors ----------------------------------------------------

def faults(class_results: list[dict]) -> list[dict]:
    """What went wrong while each notebook ran, and every tamper flag: one row per submission and kind."""
    rows = []
    for results in class_results:
        extra = results["extra_data"]
        found = _run_faults(results) if extra["status"] != GRADER_ERROR else []
        found += [("tamper flag", flag) for flag in extra.get("integrity") or []]
        if str(extra.get("isolation", "")).startswith("NOT ISOLATED"):
            found.append(("not isolated", extra["isolation"]))
        details: dict[str, list[str]] = {}
        for kind, detail in found:
            details.setdefault(kind, []).append(detail)
        rows += [{"student": extra["student_id"], "assignment": extra["assignment"], "kind": kind,
                  "detail": "; ".join(found)} for kind, found in details.items()]
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(rows, key=lambda r: (order.get(r["kind"], len(order)), r["assignment"], r["student"]))


def _run_faults(results: dict) -> list[tuple[str, str]]:
    found = []
    for line in str(results.get("output", "")).splitlines():
        for kind, pattern in FAULT_KINDS:
            match = pattern.match(line.strip())
            if match:
                cell, what = match.groups()
                if kind == "could not be graded" and results["extra_data"]["status"] == NOT_A_NOTEBOOK:
                    kind = NOT_A_NOTEBOOK
                found.append((kind, f"cell {cell}: {what}" if cell else what))
                break
    for test in results.get("tests", []):
        for kind, marker in _CALL_FAULTS:
            if marker in str(test.get("output", "")) and test.get("status") != "passed":
                found.append((kind, f"a grader call in {test['name']} ({marker})"))
    return list(dict.fromkeys(found))


def grader_problems(class_results: list[dict]) -> dict:
    """Submissions the grader failed on (no score; graded again on the next run), and its notes."""
    errors, notes = [], []
    for results in class_results:
        extra = results["extra_data"]
        who = {"student": extra["student_id"], "assignment": extra["assignment"]}
        reasons = extra.get("grader_errors") or []
        if extra["status"] == GRADER_ERROR and not reasons:
            reasons = ["(no reason recorded)"]
        errors += [who | {"reason": reason, "graded": extra["status"] != GRADER_ERROR} for reason in reasons]
        notes += [who | {"note": note} for note in extra.get("grader_notes") or []]
    return {"errors": errors, "notes": notes}


# --- the report ---------------------------------------------------------------------------------------

def summarise(course: Course, grades_dir: Path, class_results: list[dict]) -> dict:
    """Everything the page shows, as data (report.json)."""
    students = sorted({r["extra_data"]["student_id"] for r in class_results})
    assignments = sorted({r["extra_data"]["assignment"] for r in class_results},
                         key=lambda a: (list(course.assignments).index(a) if a in course.assignments else 99, a))
    items = misconceptions(course, class_results)
    with_grade = {r["extra_data"]["student_id"] for r in class_results if ran(r)}
    return {
        "course": course.title,
        "grades_dir": str(grades_dir),
        "students": len(students),
        "submissions": len(class_results),
        "assignments": [assignment_summary(course, a, class_results) for a in assignments],
        "misconceptions": [m.as_dict() for m in items],
        "shorts_to_revisit": by_short(items, len(with_grade)),
        "faults": faults(class_results),
        "grader": grader_problems(class_results),
    }


def main(*, course: Course, grades_dir: Path, out_dir: Path) -> Path:
    """Write OUT/index.html and OUT/report.json for the class graded into `grades_dir`; returns the page.
    Everything is read and drawn before anything is written, and each file is replaced atomically."""
    summary = summarise(course, Path(grades_dir), read_class(Path(grades_dir)))
    page = render(summary)
    write_under(Path(out_dir), [DATA], json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return write_under(Path(out_dir), [PAGE], page)


# --- figures (matplotlib, embedded as SVG data) ---------------------------------------------------------

def svg_image(figure, alt: str) -> str:
    """An <img> holding the figure as SVG data: no external file, no script, no clash between figures' ids."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}">'


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "course-report", "font.size": 10})
    return plt


def score_histogram(summary: dict) -> str:
    plt = pyplot()
    top = summary["max_score"]
    figure, axes = plt.subplots(figsize=(6.4, 2.6))
    edges = [x - 0.5 for x in range(int(top) + 2)]
    axes.hist(summary["scores"], bins=edges, color="#0969da", edgecolor="white")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_xlabel(f"score (out of {top:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    return svg_image(figure, f"Histogram of {summary['assignment']} scores: {summary['graded']} graded, "
                             f"median {summary['median']}")


def misconception_chart(items: list[dict]) -> str:
    plt = pyplot()
    shown = items[:TOP_MISTAKES_PLOTTED][::-1]
    figure, axes = plt.subplots(figsize=(7.5, 0.38 * len(shown) + 0.8))
    labels = [f"{m['mistake']} ({m['assignment']})" for m in shown]
    bars = axes.barh(range(len(shown)), [100 * m["share"] for m in shown], color="#cf222e")
    axes.set_yticks(range(len(shown)), [_clip(label, 60) for label in labels])
    for bar, item in zip(bars, shown):
        tag = f"  {item['count']}/{item['graded']}" + (f" · Short {item['short_number']:02d}" if item["short_number"] else "")
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, tag, va="center", fontsize=8)
    axes.set_xlim(0, min(115, max(25, 135 * shown[-1]["share"])))  # room for the labels past the longest bar
    axes.set_xlabel("share of the students graded on that assignment (%)")
    axes.spines[["top", "right"]].set_visible(False)
    return svg_image(figure, "Bar chart of the most frequent mistakes by share of students")


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


# --- the page -----------------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem;margin:.2rem 0} h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem;margin-top:1.6rem} .lead{color:#57606a} table{border-collapse:collapse;width:100%;margin:.6rem 0}
td,th{border-bottom:1px solid #eaeef2;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ol.lecture li{margin:.3rem 0} .share{font-weight:700;color:#cf222e} .short{color:#0969da}
figure{margin:.8rem 0} figure img{max-width:100%} figcaption{color:#57606a;font-size:.9rem}
details summary{cursor:pointer;color:#0969da} .muted{color:#57606a} code{background:#f6f8fa;padding:0 .2rem}
"""


def _e(value) -> str:
    return html.escape(str(value))


def _students(names: list[str]) -> str:
    listed = ", ".join(_e(n) for n in names)
    return listed if len(names) <= 6 else f"<details><summary>{len(names)} students</summary>{listed}</details>"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _number(value) -> str:
    return "–" if value is None else f"{value:g}"


def render(summary: dict) -> str:
    sections = [_lecture(summary), _overview(summary)]
    sections += [_assignment(a) for a in summary["assignments"]]
    sections += [_faults(summary["faults"]), _grader(summary)]
    title = f"Class report — {summary['course']}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>"
            f'<p class="lead">{summary["students"]} students, {summary["submissions"]} submissions, read from '
            f"<code>{_e(summary['grades_dir'])}</code>.</p>{''.join(sections)}</body></html>\n")


def _lecture(summary: dict) -> str:
    items = summary["misconceptions"]
    if not items:
        return '<section id="misconceptions"><h2>Misconceptions</h2><p>No mistake of the lesson was recognised.</p></section>'
    lines = "".join(
        f'<li><span class="share">{m["share"]:.0%}</span> {_e(m["mistake"])} <span class="muted">'
        f'({m["count"]} of {m["graded"]}, {_e(m["assignment"])})</span>'
        + (f' → revisit <span class="short">{_e(m["short"])}</span>' if m["short"] else "") + "</li>"
        for m in items[:LECTURE_ITEMS])
    more = (f'<p class="muted">… and {len(items) - LECTURE_ITEMS} more, all in the table below.</p>'
            if len(items) > LECTURE_ITEMS else "")
    rows = [[f'{m["share"]:.0%}', f'{m["count"]} / {m["graded"]}', _e(m["mistake"]), _e(m["assignment"]),
             _e(", ".join(m["functions"])), _e(m["short"] or "—"), _students(m["students"])] for m in items]
    shorts = [[_e(s["short"]), str(len(s["students"])), f'{s["share_of_class"]:.0%}', _e("; ".join(s["mistakes"]))]
              for s in summary["shorts_to_revisit"]]
    return ('<section id="misconceptions"><h2>Misconceptions: what to bring to the next lecture</h2>'
            f'<ol class="lecture">{lines}</ol>{more}'
            f"<figure>{misconception_chart(items)}<figcaption>The most frequent mistakes: share of the students "
            "graded on that assignment, with the short that teaches each.</figcaption></figure>"
            "<h3>Shorts to revisit</h3>"
            + _table(["short", "students", "of the class", "mistakes it teaches"], shorts, {1, 2})
            + "<h3>Each mistake and the students who made it</h3>"
            + _table(["share", "students", "mistake", "assignment", "in", "short that teaches it", "who"], rows, {0, 1})
            + "</section>")


def _overview(summary: dict) -> str:
    rows = []
    for a in summary["assignments"]:
        slowest = a["runtime_slowest"]
        rows.append([_e(a["assignment"]), str(a["submissions"]), str(a["graded"]), _number(a["mean"]),
                     _number(a["median"]), _number(a["max_score"]), str(a["full_marks"]), str(a["not_a_notebook"]),
                     str(a["grader_errors"]), _number(a["runtime_median_s"]) + " s",
                     f'{slowest["seconds"]:g} s ({_e(slowest["student"])})' if slowest else "–"])
    head = ["assignment", "submissions", "graded", "mean", "median", "out of", "full marks", "not a notebook",
            "grader errors", "median runtime", "slowest"]
    return ('<section id="assignments"><h2>Assignments</h2>' + _table(head, rows, set(range(1, 10)))
            + '<p class="muted">A grader error has no score: it is not counted in the mean, and it is graded '
              "again on the next run of <code>course grade</code>.</p></section>")


def _assignment(a: dict) -> str:
    rows = [[f"<code>{_e(t['name'])}</code>", _number(t["max_score"]), f'{t["pass_rate"]:.0%}',
             _number(t["mean_points"]), str(t["lost_points"]), _students(t["students_lost"])] for t in a["tests"]]
    figure = (f"<figure>{score_histogram(a)}<figcaption>Scores of the {a['graded']} graded submissions of "
              f"{_e(a['assignment'])} (mean {_number(a['mean'])}, median {_number(a['median'])}).</figcaption></figure>"
              if a["scores"] else "<p>No submission of this assignment has a score yet.</p>")
    return (f'<section class="assignment" id="{_e(a["assignment"])}"><h2>{_e(a["assignment"])}</h2>{figure}'
            "<h3>Tests, by how many students lost points on them</h3>"
            + _table(["test", "points", "pass rate", "mean points", "students who lost points", "who"], rows, {1, 2, 3, 4})
            + "</section>")


def _faults(rows: list[dict]) -> str:
    if not rows:
        return '<section id="faults"><h2>Faults and integrity</h2><p>No notebook timed out, ran out of memory, ' \
               "crashed its kernel, was not a notebook or was flagged.</p></section>"
    counts = defaultdict(set)
    for r in rows:
        counts[r["kind"]].add(r["student"])
    summary = ", ".join(f"{kind}: {len(who)}" for kind, who in sorted(counts.items()))
    table = _table(["kind", "student", "assignment", "what happened"],
                   [[_e(r["kind"]), _e(r["student"]), _e(r["assignment"]), _e(r["detail"])] for r in rows])
    return (f'<section id="faults"><h2>Faults and integrity</h2><p>Students concerned, by kind: {_e(summary)}. '
            "Tamper flags are for the instructor only; students never see them.</p>" + table + "</section>")


def _grader(summary: dict) -> str:
    errors, notes = summary["grader"]["errors"], summary["grader"]["notes"]
    body = (_table(["student", "assignment", "grader error", "scored"],
                   [[_e(e["student"]), _e(e["assignment"]), _e(e["reason"]), "yes" if e["graded"] else "no (graded again next run)"]
                    for e in errors]) if errors else "<p>None: the grader ran on every submission.</p>")
    if notes:
        body += "<h3>What a grader could not check</h3>" + _table(
            ["student", "assignment", "note"], [[_e(n["student"]), _e(n["assignment"]), _e(n["note"])] for n in notes])
    return f'<section id="grader"><h2>The grader\'s own errors</h2>{body}</section>'
