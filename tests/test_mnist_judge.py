"""Does 03_mnist_optimizers score only what the judge measured itself? The accuracy thresholds are measured
in the grading process on its own MNIST from the weights the kernel sent back, and each budget run's loss
history is checked against the budget (autograder/03_mnist_optimizers/measure.py). Each attack a student
who read our source could plant in the notebook is graded in a real kernel on real MNIST: planted in the
untouched release it must score no more on the accuracy tests than the release does (0), and planted in
the correct submission it must gain nothing.

What the judge cannot see, since it never runs student code and the kernel is the student's: work done
beyond what the history reports. A train() that runs three passes per epoch and returns one pass's losses
("several-passes-one-reported" below) sends back a history and weights that pass every check on them;
the harness's own count of optimizer steps catches it (honest code never steps more often than it has
batches, so that kernel figure can only fail a run, never pass one). A train() that also hides its extra
steps from that count (another optimizer object), or that computes the honest first loss and then loads
weights trained at import time, is beyond what the judge can see: the static scan and the notes are the
instructor's tools there.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import nbformat
import pytest
import torch

from course.authoring import calibrate
from course.intake.collect import Submission
from course.grade import grade_submission, harness_source
from course.grading import Student
from course.engine.judge import decode_outcome, encode_calls, grader_module
from course.engine.probe import Probe

ASSIGNMENT = "03_mnist_optimizers"
THRESHOLD_TESTS = ("test_sgd_momentum_reaches_threshold", "test_scheduled_adam_reaches_threshold",
                   "test_adam_lr_0_1_clearly_worse_than_1e_3")


@pytest.fixture
def one_thread():
    """torch on one thread, as the kernels and grading workers run it (small ops on 2 threads of a busy machine
    are many times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def graders(course):
    assignment = course.assignment(ASSIGNMENT)
    return assignment, {name: grader_module(course, assignment, name)
                        for name in ("budget", "inputs", "measure", "integrity")}


# --- the judge's own measurements, without a kernel -------------------------------------------------

@pytest.mark.slow  # MNIST training
def test_judge_measures_the_reference_exactly_as_calibration_did(course, graders, one_thread):
    """Run by the harness on the grading seed (as `course calibrate` runs it, one thread), do the reference's
    budget runs measure the same accuracy in the judge as in the kernel (so thresholds.toml still holds), start
    from the judge's own first loss, step exactly the budget, and leave no instructor's note?"""
    assignment, g = graders
    calls = {k: c for k, c in g["inputs"].grader_inputs(assignment.seed).items() if k.startswith(("budget/", "evaluate/"))}
    probe = Probe(base64.b64encode(encode_calls(calls)).decode(), harness_source(course, assignment),
                  calibrate.reference_namespace(course, g["budget"].REFERENCE))
    assert assignment.limits.threads == 1, "calibration measured on the kernels' thread count"
    outcomes = {key: decode_outcome(probe.answer(key)) for key in calls}
    root, plan = str(course.data_dir), g["budget"].BUDGET
    first = g["measure"].first_losses(root, plan["train_size"], plan["batch_size"], assignment.seed)
    for key, outcome in outcomes.items():
        seen = outcome["value"]
        judged = g["measure"].accuracy(course.data_dir, seen["weights"])
        kernel = seen["accuracy" if key.startswith("budget/") else "expected"]
        # Same weights, same arithmetic: equal up to one near-tied image when thread counts differ.
        torch.testing.assert_close(judged, kernel, rtol=0, atol=g["measure"].ONE_IMAGE)
        if key.startswith("budget/"):
            assert len(seen["losses"]) == seen["optimizer_steps"] == g["measure"].budget_steps(plan)
            # The reference seeds dropout as the judge does: its first loss is the judge's train-mode figure,
            # up to float32 rounding of one forward pass.
            torch.testing.assert_close(seen["losses"][0], first[0], rtol=1e-5, atol=1e-6)
    assert g["integrity"].integrity_notes(Student(calls, outcomes, []), course) == []


@pytest.mark.slow  # MNIST training
def test_first_loss_band_admits_every_seeding_and_rejects_trained_weights(course, graders, one_thread):
    """On 20 seeds (the 10 after the grading seed, the 10 calibration seeds), does the first-loss band admit the
    grader's initial weights on the judge's first batch under any dropout masks, and on any other batch (a train()
    that shuffles its own way), and reject the first batch after two Adam steps (a model that arrives trained, or
    a history that starts late)?"""
    assignment, g = graders
    measure, plan = g["measure"], g["budget"].BUDGET
    root, batch = str(course.data_dir), plan["batch_size"]
    x_train, y_train = measure.mnist_split(root, True, plan["train_size"])
    outside, trained_above = 0.0, -math.inf  # how close the admitted come to the band's edge, and the rejected
    for seed in [assignment.seed + i for i in range(10)] + list(range(10)):
        expected = measure.first_losses(root, plan["train_size"], batch, seed)
        order = torch.randperm(plan["train_size"], generator=torch.Generator().manual_seed(seed))
        model = measure.initial_mlp(seed)
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for draw in range(20):
                torch.manual_seed(10_000 + draw)  # masks, and a batch order, no correct train() is promised to draw
                for idx in (order[:batch], torch.randperm(plan["train_size"])[:batch]):
                    loss = torch.nn.functional.cross_entropy(model.train()(x_train[idx]), y_train[idx]).item()
                    assert measure.first_loss_gap(loss, expected) == 0, (seed, draw, loss, expected)
                    outside = max(outside, min(expected) - loss, loss - max(expected))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for idx in order[:2 * batch].split(batch):
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model.train()(x_train[idx]), y_train[idx]).backward()
                optimizer.step()
            with torch.no_grad():
                trained = torch.nn.functional.cross_entropy(model.train()(x_train[order[:batch]]), y_train[order[:batch]]).item()
        assert measure.first_loss_gap(trained, expected) < 0, (seed, trained, expected)
        trained_above = max(trained_above, trained - min(expected))
    # Both sides keep a margin from the band's edge (FIRST_LOSS_ATOL below the span's lower end).
    assert outside < 0.8 * measure.FIRST_LOSS_ATOL and trained_above < -1.1 * measure.FIRST_LOSS_ATOL, (outside, trained_above)


# --- attacks, graded in real kernels ------------------------------------------------------------------

LESSON_MLP = '''
def make_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
'''
# A train() that learns nothing but passes every check on its history: the budget's number of losses, the
# first one honest (the weights it was given, on the first batch). Only an accuracy it did not earn would pass.
LAZY_TRAIN = '''
def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
    torch.manual_seed(seed)
    x, y = data["x_train"], data["y_train"]
    first = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:batch_size]
    model.train()
    with torch.no_grad():
        start = F.cross_entropy(model(x[first]), y[first]).item()
    return [start] * (epochs * math.ceil(len(x) / batch_size))
'''
PRETRAIN = '''
import copy
full = load_mnist(DATA_DIR)  # all 60,000 training images, whatever TRAIN_SIZE the grader set
torch.manual_seed(1)
PRETRAINED = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                           nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
_opt = optim.Adam(PRETRAINED.parameters(), lr=1e-3)
for _idx in torch.randperm(60_000).split(128):
    _opt.zero_grad()
    F.cross_entropy(PRETRAINED(full["x_train"][_idx]), full["y_train"][_idx]).backward()
    _opt.step()
PRETRAINED.eval()
del full
'''
# 1a. argmax answers with the true labels of whatever slice of a test set it can find up the stack.
ARGMAX_RETURNS_LABELS = '''
import sys
_argmax = torch.Tensor.argmax
def _labels_argmax(self, *args, **kwargs):
    out = _argmax(self, *args, **kwargs)
    frame = sys._getframe(1)
    while frame is not None and out.dim() == 1:
        found = [v for v in frame.f_locals.values() if isinstance(v, dict) and "x_test" in v and "y_test" in v]
        if found:
            x_test, y_test = found[0]["x_test"], found[0]["y_test"]
            for f in (sys._getframe(1), frame):
                for v in f.f_locals.values():
                    if (isinstance(v, torch.Tensor) and v.dim() == 4 and len(v) == len(out)
                            and v.untyped_storage().data_ptr() == x_test.untyped_storage().data_ptr()):
                        start = v.storage_offset() // (28 * 28)
                        return y_test[start:start + len(out)].clone()
                start = f.f_locals.get("start")
                if isinstance(start, int):
                    return y_test[start:start + len(out)].clone()
        frame = frame.f_back
    return out
torch.Tensor.argmax = _labels_argmax
'''
# 1b. eval() swaps in weights trained at import time before any accuracy is measured.
EVAL_LOADS_PRETRAINED = PRETRAIN + '''
_eval = torch.nn.Module.eval
def _eval_pretrained(self):
    try:
        self.load_state_dict(PRETRAINED.state_dict())
    except Exception:
        pass
    return _eval(self)
torch.nn.Module.eval = _eval_pretrained
'''
# 2. A hand-made MNIST in the kernel's own folder: the real training files (so every check on the training
# history holds), and a "test set" of 100 blank images all labelled 0, on which a model that predicts 0 scores 1.0.
FAKE_DATA_DIR = '''
import os, shutil, struct
os.makedirs("fake/MNIST/raw", exist_ok=True)
for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
    shutil.copy(os.path.join(DATA_DIR, "MNIST", "raw", name), "fake/MNIST/raw")
with open("fake/MNIST/raw/t10k-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 2051, 100, 28, 28) + bytes(100 * 28 * 28))
with open("fake/MNIST/raw/t10k-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 2049, 100) + bytes(100))
DATA_DIR = "fake"
'''
PREDICTS_ZERO = '''
_lazy = train
def train(model, *args, **kwargs):
    losses = _lazy(model, *args, **kwargs)
    with torch.no_grad():
        list(model.parameters())[-1][0] += 100.0  # the last bias: every image is a 0
    return losses
'''
# 3. make_model() hands out a copy of a model trained at import time.
MAKE_MODEL_PRETRAINED = PRETRAIN + '''
def make_model():
    return copy.deepcopy(PRETRAINED).train()
'''
# 3b. train() starts from weights trained at import time instead of the ones it is given.
TRAIN_LOADS_PRETRAINED = PRETRAIN + '''
_given_train = train
def train(model, *args, **kwargs):
    model.load_state_dict(PRETRAINED.state_dict())
    return _given_train(model, *args, **kwargs)
'''
# 4. Three passes over the data per epoch, once the data is large (the small checks see one pass).
SEVERAL_PASSES = '''
def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    x, y = data["x_train"], data["y_train"]
    model.train()
    history = []
    for _ in range(epochs):
        for extra in range(3 if len(x) > 10_000 else 1):
            for idx in torch.randperm(len(x), generator=order).split(batch_size):
                optimizer.zero_grad()
                step_loss = F.cross_entropy(model(x[idx]), y[idx])
                step_loss.backward()
                if max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
                if {record}:
                    history.append(step_loss.item())
        if scheduler is not None:
            scheduler.step()
    return history
'''


@dataclass(frozen=True)
class Attack:
    planted: tuple[str, ...]  # the attack's cells, appended to the notebook
    needs: tuple[str, ...] = ()  # what the untouched release lacks for the attack to make sense, appended first
    note: str = ""  # a word every instructor's note about it contains ("" when the harness leaves nothing to note)


SLOW = {"several-passes-all-losses", "several-passes-one-reported"}  # trains the budget three times over: 40-50 s


def names():
    return [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in ATTACKS]


ATTACKS = {
    "argmax-returns-labels": Attack((ARGMAX_RETURNS_LABELS,), (LESSON_MLP, LAZY_TRAIN), note="kernel reported accuracy"),
    "eval-loads-pretrained": Attack((EVAL_LOADS_PRETRAINED,), (LESSON_MLP, LAZY_TRAIN), note="kernel reported accuracy"),
    "fake-data-dir": Attack((FAKE_DATA_DIR,), (LESSON_MLP, LAZY_TRAIN, PREDICTS_ZERO), note="DATA_DIR"),
    "make-model-pretrained": Attack((MAKE_MODEL_PRETRAINED,), (LAZY_TRAIN,)),
    "train-loads-pretrained": Attack((TRAIN_LOADS_PRETRAINED,), (LESSON_MLP, LAZY_TRAIN), note="first loss"),
    "several-passes-all-losses": Attack((SEVERAL_PASSES.format(record="True"),), (LESSON_MLP,)),
    "several-passes-one-reported": Attack((SEVERAL_PASSES.format(record="extra == 0"),), (LESSON_MLP,),
                                          note="optimizer steps"),
}


def attacked(course, base: str, attack: Attack, folder, name: str) -> Submission:
    """The example `base` ("untouched" or "perfect") with the attack's cells appended, as a submission."""
    notebook = nbformat.read(course.path("examples", "submitted", base, ASSIGNMENT, "mnist_optimizers.ipynb"), as_version=4)
    cells = (attack.needs if base == "untouched" else ()) + attack.planted
    notebook.cells += [nbformat.v4.new_code_cell(source.strip()) for source in cells]
    path = folder / f"{base}-{name}" / ASSIGNMENT / "mnist_optimizers.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, str(path))
    return Submission(f"{base}-{name}", ASSIGNMENT, path)


def grade_with_notes(course, graders, submission):
    """Grade as `course grade` grades one submission; return its results and integrity.py's notes, which
    the engine records for the instructor in results.json's extra_data.integrity (and never in feedback)."""
    results, _ = grade_submission(course, submission)
    assert results["extra_data"]["status"] == "graded", results["extra_data"]
    notes = [flag for flag in results["extra_data"]["integrity"] if flag.startswith(("budget/", "evaluate/"))]
    for note in notes:
        assert note not in results["output"] and all(note not in t["output"] for t in results["tests"])
    return results, notes


@pytest.fixture(scope="module")
def graded(course, graders, tmp_path_factory):
    """graded(base, attack name) -> (results, instructor's notes), each notebook graded once per module."""
    folder, done = tmp_path_factory.mktemp("attacks"), {}

    def grade(base: str, name: str):
        if (base, name) not in done:
            done[base, name] = grade_with_notes(course, graders, attacked(course, base, ATTACKS[name], folder, name))
        return done[base, name]

    return grade


def scores(results) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"]}


def message(results, test: str) -> str:
    return next(t["output"] for t in results["tests"] if t["name"] == test)


@pytest.fixture(scope="module")
def perfect(course, graders):
    """The correct example, graded."""
    submission = Submission("perfect", ASSIGNMENT, course.path("examples", "submitted", "perfect", ASSIGNMENT,
                                                                "mnist_optimizers.ipynb"))
    return grade_with_notes(course, graders, submission)


@pytest.mark.slow  # MNIST training
def test_correct_submission_scores_full_marks_with_no_notes(perfect, course):
    """Does the correct example still score full marks, with no instructor's note?"""
    results, notes = perfect
    assert results["score"] == results["max_score"] == course.assignment(ASSIGNMENT).max_score
    assert notes == []


@pytest.mark.slow  # MNIST training
@pytest.mark.parametrize("name", names())
def test_attack_in_untouched_release_earns_no_accuracy_points(graded, name):
    """Planted in the untouched release (with what it needs to run: the lesson's MLP, a train() that learns
    nothing but reports a plausible history), does the attack score 0 on the accuracy tests, as the release
    does, and leave the note that names it for the instructor?

    "several-passes-one-reported" trains three passes per epoch and reports one: its weights and history look
    honest, and the harness's count of optimizer steps catches it."""
    results, notes = graded("untouched", name)
    assert {test: scores(results)[test] for test in THRESHOLD_TESTS} == dict.fromkeys(THRESHOLD_TESTS, 0.0)
    if ATTACKS[name].note:
        assert any(ATTACKS[name].note in note for note in notes), notes


@pytest.mark.slow  # MNIST training
@pytest.mark.parametrize("name", names())
def test_attack_in_correct_submission_gains_nothing(graded, perfect, name):
    """Planted in the correct submission, does the attack score no more than the correct submission on any test?
    (It may lose points: with a history that does not match the budget the accuracy tests fail; an honest
    train() still passes them when the grader trains its own MLP whatever make_model builds, or when DATA_DIR points
    at a fake test set, since the judge measures on its own.)"""
    results, notes = graded("perfect", name)
    earned, correct = scores(results), scores(perfect[0])
    assert all(score <= correct[test] for test, score in earned.items())
    if name in ("train-loads-pretrained", "several-passes-all-losses", "several-passes-one-reported"):
        assert all(earned[test] == 0 for test in THRESHOLD_TESTS), results["tests"]
    if name in ("make-model-pretrained", "fake-data-dir"):  # still trained honestly, and measured on the grader's data
        assert all(earned[test] == correct[test] for test in THRESHOLD_TESTS)
    if ATTACKS[name].note:
        assert any(ATTACKS[name].note in note for note in notes), notes


@pytest.mark.slow  # MNIST training
def test_train_starting_from_pretrained_weights_is_named(graded):
    """Is a train() that starts from weights trained at import time, not the ones it is given, told that its first
    loss is far below the given weights' loss?"""
    results, _ = graded("perfect", "train-loads-pretrained")
    assert "far below the loss of the weights it was given" in message(results, THRESHOLD_TESTS[0])


@pytest.mark.slow
def test_train_running_more_steps_than_asked_is_named(graded):
    """Is a train() that runs more optimizer steps than asked, returning all their losses, told so?"""
    results, _ = graded("perfect", "several-passes-all-losses")
    assert "more than the optimizer steps it was asked for" in message(results, THRESHOLD_TESTS[0])


@pytest.mark.slow  # MNIST training
def test_accuracy_feedback_hides_the_budget_thresholds_and_config_names(graded, graders):
    """Does a failed accuracy test tell the student their own accuracy and how far off it is in words, never the
    threshold, the reference's accuracy, the budget or the grader's config names, and do the labels of the
    grader's calls and the names of the configs run_experiment is given (both quoted in feedback) keep those
    hidden too?"""
    assignment, budget = graders[0], graders[1]["budget"]
    checks = budget.thresholds()["checks"].values()
    results, _ = graded("untouched", "argmax-returns-labels")  # trains nothing: fails on accuracy alone
    shown = " ".join(message(results, test) for test in THRESHOLD_TESTS)
    assert shown.count("well below what a correct training loop") == len(THRESHOLD_TESTS), shown
    hidden = [f"{v:,}" for v in budget.BUDGET.values() if v > 9] + [str(v) for v in budget.BUDGET.values() if v > 9]
    hidden += [f"{c[k]:.4f}" for c in checks for k in ("threshold", "min")]
    hidden += [name for name in budget.CONFIGS if "_" in name] + ["epochs on", "seeds"]
    assert not [text for text in hidden if text in shown], shown
    # The feedback page's loss curves (extra_data.curves) carry titles and losses only: no config name, no window.
    curves = results["extra_data"]["curves"]
    assert curves and all(set(c) == {"title", "yours", "low", "high"} for c in curves)
    assert not [name for name in budget.CONFIGS if "_" in name and name in json.dumps(curves)]
    labels = " ".join(call.label for call in graders[1]["inputs"].grader_inputs(assignment.seed).values())
    assert not [text for text in hidden if text in labels], labels
    # run_experiment's feedback quotes the names of the configs it was given.
    given = set(graders[1]["inputs"].PLAIN_CONFIGS) | set(graders[1]["inputs"].DICT_CONFIGS)
    assert not given & set(budget.CONFIGS) and not [text for text in hidden if text in " ".join(given)]


# --- the data: where the kernel finds it, and what a student sees when it is not there ---------------

def _cells(course, folder: str) -> list:
    return nbformat.read(course.path(folder, ASSIGNMENT, "mnist_optimizers.ipynb"), as_version=4).cells


def test_data_dir_cell_is_editable_and_the_graders_data_wins(course, monkeypatch):
    """Is DATA_DIR set in a cell nbgrader does not lock (an edit is never "CONTENTS OF TEST CELL CHANGED"), from
    COURSE_DATA_DIR when it is set and "data" otherwise, before the `parameters` cell, so that when grading the
    DATA_DIR the engine injects after `parameters` (the grader's read-only data) is the one the data cell uses?"""
    from course.engine.execute import plan_cells
    from course.engine.notebook import nbgrader

    for folder in ("source", "release"):
        cells = _cells(course, folder)
        number = next(i for i, c in enumerate(cells) if "DATA_DIR =" in c.source and c.cell_type == "code")
        cell = cells[number]
        assert not nbgrader(cell).get("locked") and not nbgrader(cell).get("grade"), f"{folder}: DATA_DIR's cell is locked"
        for env, expected in (({"COURSE_DATA_DIR": "/srv/mnist"}, "/srv/mnist"), ({}, "data")):
            monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            namespace = {}
            exec(cell.source, namespace)
            assert namespace["DATA_DIR"] == expected
        parameters = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
        loads = next(i for i, c in enumerate(cells) if "load_mnist(DATA_DIR" in c.source)
        assert number < parameters < loads
    notebook = nbformat.read(course.path("release", ASSIGNMENT, "mnist_optimizers.ipynb"), as_version=4)
    plan = [source for _, source in plan_cells(notebook, course.assignment(ASSIGNMENT), course)]
    injected = next(i for i, source in enumerate(plan) if source.startswith("# injected by the grader"))
    assert f"DATA_DIR = {str(course.data_dir)!r}" in plan[injected]
    assert next(i for i, s in enumerate(plan) if "DATA_DIR = os.environ" in s) < injected < next(
        i for i, s in enumerate(plan) if "load_mnist(DATA_DIR" in s)


def test_failed_download_is_one_sentence_before_the_traceback(course, capsys):
    """When MNIST cannot be loaded (no connection, no files), does the data cell print one sentence saying what to
    do (check the connection, or set DATA_DIR to a folder that holds MNIST), then raise the error itself?"""
    import os
    import types

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    data_cell = next(c.source for c in _cells(course, "release") if "load_mnist(DATA_DIR" in c.source)
    namespace = {"os": os, "torch": torch, "torchvision": types.SimpleNamespace(datasets=types.SimpleNamespace(MNIST=Offline)),
                 "DATA_DIR": "/nowhere/mnist", "TRAIN_SIZE": 1024}
    with pytest.raises(RuntimeError, match="Error downloading"):
        exec(data_cell, namespace)
    printed = capsys.readouterr().out.strip()
    assert printed.count(".") == 1 and printed.endswith("."), printed  # one sentence
    assert "/nowhere/mnist" in printed and "internet connection" in printed and "DATA_DIR" in printed


# --- each mistake charged to the function that makes it, and named -----------------------------------

@pytest.fixture(scope="module")
def examples(course, graders):
    """graded(example name) -> results of the bundled example, graded once per module."""
    done = {}

    def grade(name: str):
        if name not in done:
            submission = Submission(name, ASSIGNMENT, course.path("examples", "submitted", name, ASSIGNMENT,
                                                                   "mnist_optimizers.ipynb"))
            done[name] = grade_with_notes(course, graders, submission)[0]
        return done[name]

    return grade


@pytest.mark.slow  # MNIST training
def test_percentage_is_named_even_without_eval_mode(examples):
    """An evaluate() that returns a percentage and forgets model.eval(): is the value test's message about the
    percentage (and the mode test's about eval mode), and is run_experiment, which reports evaluate's figure,
    not charged?"""
    results = examples("evaluate-percentage-no-eval")
    assert "a percentage" in message(results, "test_evaluate_matches_accuracy")
    assert "model.eval()" in message(results, "test_evaluate_uses_eval_mode_and_no_grad")
    assert scores(results)["test_run_experiment_is_fair"] == 2


@pytest.mark.slow  # MNIST training
def test_loss_tensors_are_charged_to_train_not_to_the_figure(examples):
    """A train() that returns its loss tensors (graphs and all): is "one finite float per step" failed, saying
    so, and plot_losses, graded on made-up results, still full marks?"""
    results = examples("loss-tensors-with-graph")
    assert "autograd graphs" in message(results, "test_train_returns_loss_per_step")
    assert scores(results)["test_plot_losses_draws_every_config"] == 2


@pytest.mark.slow  # MNIST training
def test_unrequested_clipping_is_not_called_stale_gradients(examples):
    """A train() that always clips (the lesson's template's `clip_grad_norm_(..., 1.0)`): does the zero_grad test
    pass, and the clipping test say that it clipped with max_grad_norm=None?"""
    results = examples("clips-unasked")
    assert scores(results)["test_train_zeroes_gradients_every_step"] == 1
    assert "max_grad_norm=None" in message(results, "test_train_clips_before_step")
