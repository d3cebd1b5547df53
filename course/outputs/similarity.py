"""`course similarity`: pairs of submissions whose own code is suspiciously alike.

Only each student's own code is compared: the answer cells they filled in (nbgrader `solution` cells
that differ from the released notebook) and any code cell of their own, with the released notebook as
boilerplate, so the starter code every student was given never counts. The comparison is copydetect's winnowing over normalised
tokens (variable, function and class names, strings and comments do not count), so renaming variables
and rewriting comments does not hide a copy.

Writes `index.html` (the pair list, a histogram of every pair's score, and the top pairs side by side
with the matched code highlighted) and `pairs.csv` into the output folder. A flag is a reason to look,
never a verdict: short exercises have few ways to be right.
"""
from __future__ import annotations

import csv
import html
import io
import tempfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from .classreport import STYLE, pyplot, svg_image
from ..intake.collect import collect
from ..config import ConfigError, Course
from ..engine.notebook import NotebookError, is_test_cell, read_notebook
from .report import write_under

PAGE = "index.html"
PAIRS = "pairs.csv"
# copydetect's parameters: a match must be at least NOISE characters of normalised code (copydetect's
# default, 25), and any match of GUARANTEE characters is certain to be found (the same: every k-gram kept).
NOISE = 25
GUARANTEE = 25
# A pair is flagged when, on average over both sides, at least this share of each one's own code is
# found in the other. Calibrated in tests/test_similarity.py: a renamed copy scores about 1.0; the
# reference against a differently written correct solution stays well below.
THRESHOLD = 0.6
SIDE_BY_SIDE = 10  # pairs shown with their code highlighted
LISTED = 200  # pairs listed on the page (every pair is in pairs.csv)


@dataclass
class Own:
    """One student's own code for the assignment: their answer cells, joined."""
    student: str
    code: str


@dataclass
class Pair:
    a: str
    b: str
    a_in_b: float  # share of a's own code found in b's
    b_in_a: float
    tokens: int  # normalised characters in common
    highlighted: tuple[str, str] = ("", "")

    @property
    def score(self) -> float:
        return (self.a_in_b + self.b_in_a) / 2


# --- each student's own code --------------------------------------------------------------------------

def code_cells(notebook) -> list:
    return [c for c in notebook.cells if c.get("cell_type") == "code"]


def own_code(notebook, released) -> str:
    """The code a student wrote: the answer cells they filled in and cells of their own. A cell as it was
    released (an answer cell left untouched, the starter code) is not theirs, nor is any test cell."""
    as_released = {c.source.strip() for c in code_cells(released)}
    mine = [c.source for c in code_cells(notebook) if not is_test_cell(c) and c.source.strip() not in as_released]
    return "\n\n".join(mine) + "\n"


def boilerplate(released) -> str:
    """Everything the student was given: every code cell of the released notebook."""
    return "\n\n".join(c.source for c in code_cells(released)) + "\n"


def gather(course: Course, submitted: Path, assignment_id: str) -> tuple[list[Own], list[str], str]:
    """Each student's own code, the sentences for what could not be compared, and the boilerplate."""
    assignment = course.assignment(assignment_id)
    release = course.path("release", assignment.id, assignment.notebook)
    try:
        released = read_notebook(release)
    except NotebookError as error:
        raise ConfigError(f"the released notebook is needed as boilerplate: {error} Run `course release` first.") from None
    if not Path(submitted).exists():
        raise ConfigError(f"{submitted} does not exist.")
    with tempfile.TemporaryDirectory(prefix="course-similarity-") as workdir:
        submissions, problems = collect(course, [Path(submitted)], assignment.id, workdir=Path(workdir))
        found = []
        for submission in sorted(submissions, key=lambda s: s.student_id):
            if submission.assignment_id != assignment.id:
                continue
            try:
                found.append(Own(submission.student_id, own_code(read_notebook(submission.notebook), released)))
            except NotebookError as error:
                problems.append(f"{submission.student_id}: {error}")
    return found, problems, boilerplate(released)


# --- comparing ------------------------------------------------------------------------------------------

def fingerprint(text: str, boilerplate_hashes=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("own.py", NOISE, GUARANTEE - NOISE + 1, boilerplate_hashes,
                           language="python", fp=io.StringIO(text))


def compare(students: list[Own], given: str) -> list[Pair]:
    """Every pair of students, most alike first."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    given_hashes = list(fingerprint(given).hashes)  # every k-gram of what was given
    prints = {s.student: fingerprint(s.code, given_hashes) for s in students}
    pairs = []
    for a, b in combinations(students, 2):
        overlap, (a_in_b, b_in_a), (slices_a, slices_b) = compare_files(prints[a.student], prints[b.student])
        pair = Pair(a.student, b.student, float(a_in_b), float(b_in_a), int(overlap))
        if overlap:
            pair.highlighted = (
                highlight_overlap(a.code, slices_a, "<mark>", "</mark>", escape_html=True)[0],
                highlight_overlap(b.code, slices_b, "<mark>", "</mark>", escape_html=True)[0])
        pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


# --- writing --------------------------------------------------------------------------------------------

def pairs_csv(pairs: list[Pair], threshold: float) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "similarity", "a_in_b", "b_in_a", "matched_characters", "flagged"])
    for p in pairs:
        writer.writerow([p.a, p.b, f"{p.score:.3f}", f"{p.a_in_b:.3f}", f"{p.b_in_a:.3f}", p.tokens,
                         "yes" if p.score >= threshold else ""])
    return buffer.getvalue()


def histogram(pairs: list[Pair], threshold: float) -> str:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 2.6))
    axes.hist([p.score for p in pairs], bins=[i / 20 for i in range(21)], color="#0969da", edgecolor="white")
    axes.axvline(threshold, color="#cf222e", linestyle="--", label=f"flagged from {threshold:.2f}")
    axes.set_xlim(0, 1)
    axes.set_xlabel("similarity of the pair (share of own code in common)")
    axes.set_ylabel("pairs")
    axes.legend(frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return svg_image(figure, f"Histogram of the similarity of all {len(pairs)} pairs")


SIDE_STYLE = """
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.8rem} .pair pre{background:#f6f8fa;padding:.6rem;
overflow-x:auto;font-size:.8rem;margin:0;border:1px solid #d0d7de} mark{background:#ffd8b5}
tr.flagged td{background:#fff1f0}
"""


def render(course: Course, assignment_id: str, students: list[Own], pairs: list[Pair], problems: list[str],
           threshold: float) -> str:
    e = html.escape
    flagged = [p for p in pairs if p.score >= threshold]
    rows = "".join(
        f'<tr class="{"flagged" if p.score >= threshold else ""}"><td>{e(p.a)}</td><td>{e(p.b)}</td>'
        f'<td class="n">{p.score:.2f}</td><td class="n">{p.a_in_b:.0%}</td><td class="n">{p.b_in_a:.0%}</td>'
        f'<td class="n">{p.tokens}</td></tr>' for p in pairs[:LISTED])
    sides = "".join(
        f"<h3>{e(p.a)} and {e(p.b)}: {p.score:.2f}</h3><div class=\"pair\">"
        f"<div><p>{e(p.a)} ({p.a_in_b:.0%} of it in common)</p><pre>{p.highlighted[0]}</pre></div>"
        f"<div><p>{e(p.b)} ({p.b_in_a:.0%} of it in common)</p><pre>{p.highlighted[1]}</pre></div></div>"
        for p in (flagged or pairs)[:SIDE_BY_SIDE] if p.tokens)
    skipped = ("<h2>Not compared</h2><ul>" + "".join(f"<li>{e(s)}</li>" for s in problems) + "</ul>") if problems else ""
    title = f"Similarity — {assignment_id}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{STYLE}{SIDE_STYLE}</style></head><body><h1>{e(title)}</h1>"
            f'<p class="lead">{len(students)} submissions, {len(pairs)} pairs; {len(flagged)} flagged at a similarity '
            f"of {threshold:.2f} or more. Only each student's own code is compared (answer cells and cells of their "
            "own, the released notebook removed as boilerplate), after copydetect's normalisation: names, strings "
            "and comments do not count. A flag is a reason to look at the pair, not a verdict.</p>"
            f"<figure>{histogram(pairs, threshold)}<figcaption>Similarity of every pair; the dashed line is the "
            "threshold.</figcaption></figure>"
            f"<h2>Pairs, most alike first</h2><table><thead><tr><th>student</th><th>student</th><th>similarity</th>"
            f"<th>first in second</th><th>second in first</th><th>matched characters</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f'<p class="muted">Every pair is in <code>{PAIRS}</code>.</p>'
            f"<h2>{'Flagged pairs' if flagged else 'The most alike pairs'}, side by side</h2>"
            f"{sides or '<p>No two submissions share any code of their own.</p>'}{skipped}</body></html>\n")


def main(*, course: Course, submitted: Path, assignment_id: str, out_dir: Path, threshold: float | None = None) -> int:
    """Compare every pair of submissions of one assignment; write OUT/index.html and OUT/pairs.csv.
    Returns the exit status: 0 (flagged pairs are listed, not an error)."""
    threshold = THRESHOLD if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be above 0 and at most 1, got {threshold:g}.")
    students, problems, given = gather(course, Path(submitted), assignment_id)
    if len(students) < 2:
        raise ConfigError(f"{submitted} holds {len(students)} submission(s) of {assignment_id}: "
                          "at least two are needed to compare.")
    pairs = compare(students, given)
    page = render(course, assignment_id, students, pairs, problems, threshold)
    write_under(Path(out_dir), [PAIRS], pairs_csv(pairs, threshold))
    written = write_under(Path(out_dir), [PAGE], page)
    flagged = sum(p.score >= threshold for p in pairs)
    print(f"{len(students)} submissions, {len(pairs)} pairs, {flagged} flagged (similarity >= {threshold:.2f}).")
    for problem in problems:
        print(f"not compared: {problem}")
    print(written)
    return 0
