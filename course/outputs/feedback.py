"""feedback.html: one student's feedback as a page, beside feedback.md and results.json.

The score; each check with its verdict and what differed; each mistake recognised, with the short that
teaches it quoted from the lesson (title, hook, common mistake); the figures the student's own code drew
in the grading kernel; and, where the assignment's graders train (03), the loss curve of each grader run
with the student's train() beside the band of the reference's runs, drawn here with matplotlib.
Self-contained: no script, no external asset, readable anywhere. Everything that came from a submission
is escaped.
"""
from __future__ import annotations

import base64
import html
import io
import math
import re

from ..authoring.lesson import Short, number

MAX_FIGURES = 4
MAX_FIGURE_BYTES = 1 << 20  # a PNG larger than this is not embedded

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.score{font-size:1.3rem;font-weight:600} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eaeef2;padding:.45rem .5rem;vertical-align:top;text-align:left}
.pass{color:#1a7f37;font-weight:600} .fail{color:#cf222e;font-weight:600} .detail{color:#57606a;font-size:.92rem}
code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.short{border-left:4px solid #0969da;background:#f6f8fa;padding:.6rem 1rem;margin:.8rem 0}
.short p{margin:.25rem 0} figure{margin:1rem 0} figure img{max-width:100%;border:1px solid #d0d7de}
"""


def _text(value: str) -> str:
    """Escaped, with `code` spans kept as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value)))


def figures(graded_notebook) -> list[bytes]:
    """PNG figures the student's own code cells drew in the grading kernel (not the test cells')."""
    from ..engine.notebook import is_test_cell

    found = []
    for cell in getattr(graded_notebook, "cells", []):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get("image/png")
            if isinstance(data, str):
                try:
                    png = base64.b64decode(data, validate=False)
                except ValueError:
                    continue
                if png.startswith(b"\x89PNG") and len(png) <= MAX_FIGURE_BYTES:
                    found.append(png)
    return found[:MAX_FIGURES]


def curves_figure(curves: list) -> bytes | None:
    """One PNG, a panel per grader run: the student's smoothed loss per step beside the band the reference's
    runs lie in (curves.py's format), or None when there is nothing to draw. Drawn on a private Figure,
    never pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [(c["title"], c.get("yours"), c["low"], c["high"]) for c in curves
              if isinstance(c, dict) and c.get("low") and len(c["low"]) == len(c.get("high", []))]
    if not panels:
        return None
    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(5.2 * columns, 3.4 * rows), dpi=90, layout="constrained")
    FigureCanvasAgg(figure)
    for i, (title, yours, low, high) in enumerate(panels, start=1):
        axes = figure.add_subplot(rows, columns, i)
        # x: how far through the run, in percent, so the page never tells the budget's step count
        steps = [100 * j / max(len(low) - 1, 1) for j in range(len(low))]
        axes.fill_between(steps, low, high, color="#9ecae1", alpha=0.7, label="reference (calibration seeds)")
        floor = max(min(low) * 0.5, 1e-3)  # a log axis: a diverged run and a converged one in one panel
        top = 2 * max(high)
        if yours:
            mine = [min(max(y, floor), 100 * top) for y in yours[:len(steps)]]  # finite by construction; clipped
            axes.plot(steps[:len(mine)], mine, color="#cf222e", lw=1.6, label="your train()")
            top = max(top, 1.5 * max(mine))
        else:
            axes.text(0.5, 0.5, "your run gave no usable losses", transform=axes.transAxes, ha="center", color="#cf222e")
        axes.set_yscale("log")
        axes.set_ylim(floor, top)
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("how far through the grader's run (%)", fontsize=8)
        axes.set_ylabel("training loss (log scale)", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.legend(fontsize=7, loc="upper right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _short_box(name: str, reference: str, shorts: dict[int, Short]) -> str:
    short = shorts.get(number(reference) or -1)
    if short is None:
        return f'<div class="short"><p><strong>{_text(name)}</strong>: see {_text(reference)}.</p></div>'
    return (f'<div class="short"><p><strong>{_text(name)}</strong>: revisit '
            f"<strong>Short {short.number:02d} — {_text(short.title)}</strong></p>"
            f"<p>The idea: {_text(short.hook)}</p><p>Common mistake: {_text(short.mistake)}</p></div>")


def page(results: dict, title: str, shorts: dict[int, Short], pngs: list[bytes] = ()) -> str:
    extra = results["extra_data"]
    score = "not graded yet" if results.get("score") is None else f"{results['score']:g}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}: {_text(extra['assignment'])} ({_text(extra['student_id'])})</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_text(title)}: {_text(extra['assignment'])}</h1>",
        f"<p>Student: <strong>{_text(extra['student_id'])}</strong></p>",
        f'<p class="score">Score: {score} / {results["max_score"]:g}</p>',
        "<h2>Your notebook</h2>",
        "".join(f"<p>{_text(line)}</p>" for line in str(results.get("output", "")).splitlines()),
    ]
    if results.get("tests"):
        parts.append('<h2>Checks</h2><table><thead><tr><th></th><th>check</th><th>points</th></tr></thead><tbody>')
        for test in results["tests"]:
            passed = test["status"] == "passed"
            description, *details = str(test["output"]).split("\n")
            mark = '<span class="pass">✓ passed</span>' if passed else '<span class="fail">✗ failed</span>'
            detail = "".join(f'<div class="detail">{_text(d)}</div>' for d in details)
            parts.append(f"<tr><td>{mark}</td><td><strong>{_text(test['name'])}</strong><br>{_text(description)}"
                         f"{detail}</td><td>{test['score']:g} / {test['max_score']:g}</td></tr>")
        parts.append("</tbody></table>")
    named = extra.get("mistake_shorts") or {}
    if extra.get("mistakes"):
        parts.append("<h2>Mistakes recognised, and the short that teaches each</h2>")
        seen = set()
        for mistake in extra["mistakes"]:
            name = mistake.split(" (")[0]
            if name in seen:
                continue
            seen.add(name)
            parts.append(_short_box(mistake, named.get(name, ""), shorts))
    try:
        budget_png = curves_figure(list(extra.get("curves") or []))
    except (KeyError, TypeError, ValueError):  # a figure is a courtesy: the page stands without it
        budget_png = None
    if budget_png is not None:
        parts.append("<h2>The grader's training runs with your train()</h2>")
        parts.append("<p>Each panel is one run the grader made with your <code>train()</code> on the grading budget "
                     "(red), beside the range the reference solution's runs cover (blue band). A curve that stays "
                     "high, flattens early or jumps about points at the training loop.</p>")
        parts.append(f'<figure><img alt="loss curves of the grader\'s runs with your train(), beside the reference\'s" '
                     f'src="data:image/png;base64,{base64.b64encode(budget_png).decode()}"></figure>')
    if pngs:
        parts.append("<h2>Your figures, as your notebook drew them when graded</h2>")
        for i, png in enumerate(pngs, start=1):
            parts.append(f'<figure><img alt="figure {i} from your notebook" '
                         f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
