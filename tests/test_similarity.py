"""Does `course similarity` flag a disguised copy, and only that?

The class is built here from 01_losses's released notebook: the reference solution (the source
notebook's answers), a copy of it with every variable renamed, its docstrings and comments rewritten
and its code reformatted, a correct solution written differently (checked against torch here), and two
notebooks left as released.
"""
from __future__ import annotations

import ast
import csv
import io
import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from browser import chromium
from course.cli import main as cli
from course.outputs.similarity import PAGE, PAIRS, THRESHOLD

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the reference, as the graders import it
from solutions import losses as ref  # noqa: E402

ASSIGNMENT = "01_losses"

# A correct 01_losses written another way, answer cell by answer cell (grade_id -> source).
DIFFERENTLY_WRITTEN = {
    "mse_mae": '''def mse_manual(pred, target):
    diff = pred - target
    return (diff * diff).sum() / diff.numel()


def mae_manual(pred, target):
    return torch.mean(torch.abs(pred - target))
''',
    "bce": '''def bce_manual(probs, targets):
    def clamped_log(t):
        return torch.clamp(torch.log(t), min=-100.0)

    per_element = targets * clamped_log(probs) + (1.0 - targets) * clamped_log(1.0 - probs)
    return -torch.mean(per_element)
''',
    "bce_with_logits": '''def bce_with_logits_manual(logits, targets):
    # max(x, 0) - x*y + log(1 + e^{-|x|}), which never overflows
    positive_part = torch.relu(logits)
    softplus_tail = torch.log(1 + torch.exp(-torch.abs(logits)))
    return torch.mean(positive_part - logits * targets + softplus_tail)
''',
    "cross_entropy": '''def cross_entropy_manual(logits, targets):
    row_max, _ = torch.max(logits, dim=1, keepdim=True)
    log_sum_exp = row_max.squeeze(1) + torch.log(torch.sum(torch.exp(logits - row_max), dim=1))
    picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1)
    return torch.mean(log_sum_exp - picked)
''',
    "spam_model": '''def make_spam_model(n_features):
    layer = nn.Linear(in_features=n_features, out_features=1)
    return layer
''',
    "predict_proba": '''def predict_proba(model, x):
    with torch.no_grad():
        scores = model(x)
    exps = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
    return exps / exps.sum(dim=1, keepdim=True)
''',
    # The quiz has one right answer, written as the reference writes it: shared, and still not a copy.
    "quiz": '''LOSS_FOR_TASK = {"regression": "MSELoss", "binary": "BCEWithLogitsLoss",
                 "multiclass": "CrossEntropyLoss", "multilabel": "BCEWithLogitsLoss"}
LOSS_INPUT = {"BCELoss": "probabilities", "BCEWithLogitsLoss": "logits", "CrossEntropyLoss": "logits"}
''',
}

RENAMED = {"pred": "y_hat", "target": "y_true", "probs": "p", "targets": "labels", "logits": "scores",
           "shifted": "centred", "log_probs": "lp", "log_p": "log_yes", "log_not_p": "log_no",
           "n_features": "width", "model": "net", "x": "inputs"}


class Disguise(ast.NodeTransformer):
    """What a student hiding a copy does: rename every variable and rewrite every docstring."""

    def visit_Name(self, node):
        node.id = RENAMED.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = RENAMED.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            first.value.value = "Written on my own, honestly."
        return node


def disguised(source: str) -> str:
    # ast.unparse drops every comment and reformats the code; new comments go on top.
    return "# my solution, after a long night\n" + ast.unparse(Disguise().visit(ast.parse(source))) + "\n"


def reference_answers(course) -> dict[str, str]:
    """The source notebook's answer cells without nbgrader's solution markers (the perfect submission)."""
    source = nbformat.read(course.path("source", ASSIGNMENT, course.assignment(ASSIGNMENT).notebook), 4)
    return {c.metadata["nbgrader"]["grade_id"]: re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", c.source)
            for c in source.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def submission(course, answers: dict[str, str]):
    """The released notebook with `answers` in its answer cells."""
    notebook = nbformat.read(course.path("release", ASSIGNMENT, course.assignment(ASSIGNMENT).notebook), 4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


@pytest.fixture(scope="module")
def compared(course, tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    reference = reference_answers(course)
    assert set(DIFFERENTLY_WRITTEN) == set(reference), "the differently written solution must answer every cell"
    students = {"reference": reference, "disguised-copy": {k: disguised(v) for k, v in reference.items()},
                "own-way": DIFFERENTLY_WRITTEN, "untouched-1": {}, "untouched-2": {}}
    for student, answers in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(course, answers), folder / course.assignment(ASSIGNMENT).notebook)
    out = root / "report"
    assert cli(["similarity", str(root / "submitted"), "--assignment", ASSIGNMENT, "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO((out / PAIRS).read_text())))
    return out, {frozenset((r["student_a"], r["student_b"])): r for r in rows}


def pair(pairs, a, b):
    return pairs[frozenset((a, b))]


def test_a_renamed_recommented_copy_is_flagged(compared):
    """A copy with every variable renamed and its comments and docstrings rewritten: flagged?"""
    _, pairs = compared
    row = pair(pairs, "reference", "disguised-copy")
    assert row["flagged"] == "yes" and float(row["similarity"]) >= 0.9, row


def test_independent_correct_solutions_are_not_flagged(compared):
    """The reference and a correct solution written another way (same quiz answers): below the default
    threshold, and so is the disguised copy against it?"""
    _, pairs = compared
    for other in ("reference", "disguised-copy"):
        row = pair(pairs, other, "own-way")
        assert row["flagged"] == "" and float(row["similarity"]) < THRESHOLD / 2, row


def test_the_differently_written_solution_is_correct():
    """Is the 'own way' solution really correct (else the test above proves nothing)? Seed 0; float64."""
    space = {"torch": torch, "nn": torch.nn}
    for source in DIFFERENTLY_WRITTEN.values():
        exec(source, space)  # the test's own code, not a student's
    generator = torch.Generator().manual_seed(0)

    def draw(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=generator, dtype=torch.float64)

    pred, target = draw(6, 3), draw(6, 3)
    probs, labels = draw(8).sigmoid(), torch.randint(0, 2, (8,), generator=generator).double()
    logits, classes = draw(5, 4, scale=30.0), torch.randint(0, 4, (5,), generator=generator)  # large logits
    checks = [(space["mse_manual"](pred, target), ref.mse(pred, target)),
              (space["mae_manual"](pred, target), ref.mae(pred, target)),
              (space["bce_manual"](probs, labels), ref.bce(probs, labels)),
              (space["bce_with_logits_manual"](logits[:, 0], labels[:5]), ref.bce_with_logits(logits[:, 0], labels[:5])),
              (space["cross_entropy_manual"](logits, classes), ref.cross_entropy(logits, classes))]
    model = torch.nn.Linear(3, 4).double()
    checks.append((space["predict_proba"](model, pred), ref.predict_proba(model, pred).detach()))
    for actual, expected in checks:
        torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-12)  # float64: only rounding differs
    assert tuple(space["make_spam_model"](7)(pred.new_zeros(2, 7).float()).shape) == (2, 1)
    for answers, accepted in ((space["LOSS_FOR_TASK"], ref.LOSS_FOR_TASK), (space["LOSS_INPUT"], ref.LOSS_INPUT)):
        assert answers.keys() == accepted.keys()
        assert all(answers[k] in accepted[k] or answers[k] == accepted[k] for k in accepted), (answers, accepted)


def test_starter_code_does_not_count(compared):
    """Two notebooks left as released share all their code, all of it given: not flagged, score 0?"""
    _, pairs = compared
    row = pair(pairs, "untouched-1", "untouched-2")
    assert (row["flagged"], float(row["similarity"]), row["matched_characters"]) == ("", 0.0, "0"), row


def test_report_lists_pairs_histogram_and_highlighted_code(compared):
    """Does the page hold the pair list, the histogram and the flagged pair side by side, highlighted?"""
    out, pairs = compared
    assert len(pairs) == 5 * 4 // 2
    page = (out / PAGE).read_text()
    assert page.count("<tr") - 1 == len(pairs)  # every pair listed, one header row
    assert page.count('src="data:image/svg+xml;base64,') == 1
    side_by_side = page.split("side by side</h2>", 1)[1]
    assert "disguised-copy and reference" in side_by_side and side_by_side.count('<div class="pair">') == 1
    assert "<mark>" in side_by_side and "labels" in side_by_side  # the copy's renamed code, highlighted


def test_page_loads_in_a_real_browser(compared):
    """Does the page load in headless Chromium without an error or any request beyond itself, its
    histogram decoded, with JavaScript off?"""
    out, _ = compared
    with chromium(width=1280, height=1200) as browser:
        loaded = browser.load(out / PAGE, javascript=False)
        assert loaded.errors == [], loaded.errors
        assert {url.split(":", 1)[0] for url in loaded.requests} <= {"file", "data"}, loaded.requests
        assert browser.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 200)") == [True]
        assert browser.evaluate("document.querySelectorAll('.pair mark').length") > 0


@pytest.mark.parametrize("case", ["one submission", "no such folder"])
def test_nothing_to_compare_is_one_line_and_damages_nothing(course, tmp_path, capsys, case):
    """Fewer than two submissions, or a path that does not exist: one line, exit 2, last report intact?"""
    out = tmp_path / "report"
    out.mkdir()
    (out / PAGE).write_text("last week's report")
    submitted = tmp_path / "submitted"
    if case == "one submission":
        folder = submitted / "alone" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(course, {}), folder / course.assignment(ASSIGNMENT).notebook)
    assert cli(["similarity", str(submitted), "--assignment", ASSIGNMENT, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(submitted) in err[0], err
    assert (out / PAGE).read_text() == "last week's report" and not (out / PAIRS).exists()
