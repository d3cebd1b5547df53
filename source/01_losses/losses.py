# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Day 5 · Assignment 1: Loss functions
#
# *"Loss functions measure the difference between predictions and truth."* Loss tells you **how wrong**
# the model is; tomorrow's optimizer tells you **how to fix it**. Before trusting `nn.MSELoss` or
# `nn.CrossEntropyLoss`, you will build each one yourself from tensor operations: if you can compute
# it manually, you can debug it.
#
# **How this notebook works**
# - Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# - Run the **self-check** cell under each exercise. It uses the lesson's own examples and only the
#   function it checks; when it fails, it names the likely mistake and the short that teaches it.
# - When you submit, hidden checks call your functions again on **other** shapes, values and edge
#   cases, and compare them with PyTorch's losses. Passing the self-checks is necessary, not sufficient.
# - Use only `torch` operations. In the "manual" exercises, do not call PyTorch's loss modules or
#   functions (`nn.MSELoss`, `F.mse_loss`, ...): the grader reads your code to check.
# - Before submitting: *Kernel → Restart & Run All*, and check that nothing fails.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
import torch.nn as nn

torch.manual_seed(0)  # the self-checks below use fixed values; this seed is only for your own experiments

# Helpers for the self-checks (you need not read them). A self-check never asks for more than the
# hidden check: same tolerances (float32: rtol=1e-5, atol=1e-6), same rules.
RTOL, ATOL = 1e-5, 1e-6


def expect_close(actual, expected, what, likely=(), if_not_finite=""):
    """Pass when `actual` is a tensor of `expected`'s shape and dtype whose values are within RTOL/ATOL
    (nan and inf never pass); otherwise fail, naming the first (mistake, the value that mistake
    gives) in `likely` that fits `actual`."""
    assert isinstance(actual, torch.Tensor), f"{what}: return a tensor, not {type(actual).__name__}"
    if (actual.shape == expected.shape and actual.dtype == expected.dtype and torch.isfinite(actual).all()
            and torch.allclose(actual, expected, rtol=RTOL, atol=ATOL)):
        return
    got = f"{what}: got {actual.tolist()}, expected {expected.tolist()}"
    for mistake, value in likely:
        if actual.shape == value.shape and torch.allclose(actual.double(), value.double(), rtol=RTOL, atol=ATOL):
            raise AssertionError(f"{got}. This looks like {mistake}.")
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, expected {expected.dtype} (keep the inputs' dtype)"
    assert torch.isfinite(actual).all(), f"{got}: not finite. {if_not_finite}"
    raise AssertionError(f"{got} (allowed: atol={ATOL:g} + rtol={RTOL:g}·|expected|)")


def right_on(fn, args, expected):
    """True when fn(*args) runs and equals `expected` within RTOL/ATOL: to tell which mistake a failure shows."""
    try:
        value = torch.as_tensor(fn(*args)).double()
        return value.shape == expected.shape and bool(torch.allclose(value, expected.double(), rtol=RTOL, atol=ATOL))
    except Exception:
        return False


def as_number(fn, *args):
    """fn(*args) as a float, or a failure saying what it returned instead."""
    value = fn(*args)
    assert isinstance(value, (torch.Tensor, int, float)) and torch.as_tensor(value).numel() == 1, \
        f"{fn.__name__} returned {type(value).__name__}: not a loss yet"
    return float(value)


LOSS_NAMES = {"MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "mse_loss", "l1_loss",
              "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss"}


def torch_losses_used(fn, seen=None):
    """The torch losses `fn` refers to, looked up as Python does when fn runs, and through the functions
    of yours it calls. Your own functions and variables are yours, whatever their names."""
    import ast, inspect, textwrap
    seen = set() if seen is None else seen
    seen.add(fn)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        closure = dict(zip(fn.__code__.co_freevars, [c.cell_contents for c in fn.__closure__ or ()]))
    except (OSError, TypeError, SyntaxError, ValueError):
        return set()
    codes = [fn.__code__]
    for code in codes:  # fn's code and the code of everything defined inside it
        codes += [c for c in code.co_consts if inspect.iscode(c)]
    local = {name for code in codes for name in code.co_varnames + code.co_cellvars}

    def lookup(node):
        if isinstance(node, ast.Name) and node.id not in local:
            return closure.get(node.id, fn.__globals__.get(node.id))
        if isinstance(node, ast.Attribute):
            base = lookup(node.value)
            return getattr(base, node.attr, None) if inspect.ismodule(base) or inspect.isclass(base) else None

    found = set()
    for node in ast.walk(tree):
        obj = lookup(node)
        kind = obj if inspect.isclass(obj) or inspect.isroutine(obj) else type(obj)
        for k in inspect.getmro(kind) if inspect.isclass(kind) else [kind]:
            if getattr(k, "__name__", "") in LOSS_NAMES and str(getattr(k, "__module__", None) or "torch").startswith("torch"):
                found.add(k.__name__)
        if inspect.isfunction(obj) and obj.__globals__ is fn.__globals__ and obj not in seen:
            found |= torch_losses_used(obj, seen)
    return found


def answer_name(answer):
    """'nn.BCEWithLogitsLoss()', 'BCEWithLogitsLoss' and 'bce with logits' are one answer, as the grader reads them."""
    text = str(answer).lower()
    for noise in ("torch.", "nn.", "functional.", "()", " ", "_", "-"):
        text = text.replace(noise, "")
    return text.removesuffix("loss")


# %% [markdown] nbgrader={"grade": false, "grade_id": "mse_mae_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Regression: MSE (L2) and MAE (L1)
#
# For a prediction $\hat y$ and a target $y$ with $n$ elements:
#
# $$\text{MSE} = \frac{1}{n}\sum_i (\hat y_i - y_i)^2 \qquad \text{MAE} = \frac{1}{n}\sum_i |\hat y_i - y_i|$$
#
# MSE squares the error, so big mistakes are punished far more than small ones; MAE is more robust to
# outliers but its gradient is less smooth around 0. Manual MSE is three steps: **error → square → mean**.
#
# Write `mse_manual(pred, target)` and `mae_manual(pred, target)`. They take tensors of any (matching)
# shape — a vector, a batch, and the `(N, 1)` output of a regression model with `(N, 1)` targets — and
# return a scalar tensor (shape `()`), with the inputs' dtype.
#
# > **Common mistake (Short 05):** forgetting `.mean()` — a sum scales the loss and its gradients by the
# > number of elements, so losses from different batch sizes stop being comparable (Short 02).

# %% nbgrader={"grade": false, "grade_id": "mse_mae", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mse_manual(pred, target):
    """Mean squared error over every element: what nn.MSELoss() computes."""
    ### BEGIN SOLUTION
    return ((pred - target) ** 2).mean()
    ### END SOLUTION


def mae_manual(pred, target):
    """Mean absolute error over every element: what nn.L1Loss() computes."""
    ### BEGIN SOLUTION
    return (pred - target).abs().mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mse_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 05): errors 0.5, -0.5, 1.0 give MSE (0.25 + 0.25 + 1) / 3 = 0.5.
pred = torch.tensor([2.0, 3.0, 4.0])
true = torch.tensor([1.5, 3.5, 3.0])
expect_close(mse_manual(pred, true), torch.tensor(0.5), "mse_manual on the lesson's example",
             likely=[("sum instead of mean (Short 05): finish with .mean()", torch.tensor(1.5))])
# A regression model's output has shape (N, 1), and so do its targets.
pred_column, true_column = pred.reshape(3, 1), true.reshape(3, 1)
expect_close(mse_manual(pred_column, true_column), torch.tensor(0.5), "mse_manual on (3, 1) outputs and targets",
             likely=[("an N-vector broadcast against an N×1 column (Short 05): squeeze both tensors or neither",
                      ((pred - true_column) ** 2).mean())])
# The lesson's house prices: compare with PyTorch's own loss.
prices = torch.tensor([250000., 180000., 320000.])
actual = torch.tensor([240000., 200000., 310000.])
expect_close(mse_manual(prices, actual), nn.MSELoss()(prices, actual), "mse_manual on house prices")
print("mse_manual: self-check passed (hidden checks: other shapes, float64)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_mse_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_mae_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 04): house-price errors of 10000, 20000, 10000 give MAE 40000 / 3.
prices = torch.tensor([250000., 180000., 320000.])
actual = torch.tensor([240000., 200000., 310000.])
expect_close(mae_manual(prices, actual), torch.tensor(40000 / 3), "mae_manual on house prices",
             likely=[("sum instead of mean (Short 05): finish with .mean()", torch.tensor(40000.0))])
# A regression model's output has shape (N, 1), and so do its targets.
pred_column = torch.tensor([[2.0], [3.0], [4.0]])
true_column = torch.tensor([[1.5], [3.5], [3.0]])
expect_close(mae_manual(pred_column, true_column), nn.L1Loss()(pred_column, true_column), "mae_manual on (3, 1) outputs and targets",
             likely=[("an N-vector broadcast against an N×1 column (Short 05): squeeze both tensors or neither",
                      (pred_column.squeeze(-1) - true_column).abs().mean())])
print("mae_manual: self-check passed (hidden checks: other shapes, float64)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_mae_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_mse_mae_no_builtin", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: built by hand. The grader follows your code, and the functions of yours it calls, to
# any torch loss (nn.MSELoss, F.mse_loss, ...); your own helpers are yours, whatever their names.
# The point also needs working losses: the right values on the hidden inputs, or a mistake that
# the checks above already charge.
for fn in (mse_manual, mae_manual):
    used = torch_losses_used(fn)
    assert not used, f"{fn.__name__} uses {sorted(used)}: write it from tensor operations (Short 05)"
    value = as_number(fn, torch.tensor([2.0, 3.0, 4.0]), torch.tensor([1.5, 3.5, 3.0]))
    assert math.isfinite(value), f"{fn.__name__} returned {value}: not a loss yet"
print("mse_manual, mae_manual: no torch loss found")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_mse_mae_no_builtin', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "bce_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Binary classification: BCE on probabilities
#
# For probabilities $p \in [0, 1]$ and 0/1 targets $y$:
#
# $$\text{BCE} = -\frac{1}{n}\sum_i \big[\,y_i \log p_i + (1 - y_i)\log(1 - p_i)\,\big]$$
#
# `nn.BCELoss` has one detail the formula hides: it **clamps each log term at −100**, so a probability
# of exactly 0 or 1 gives a large but finite loss instead of `inf` (or `nan` from `0 · -inf`).
# Write `bce_manual(probs, targets)` to match `nn.BCELoss()` exactly, clamp included, for inputs of any
# matching shape (a binary classifier's output is `(N, 1)`, with `(N, 1)` targets).
#
# > **Common mistake (Short 06):** feeding raw logits into BCE. It expects probabilities; logits must go
# > through a sigmoid first (Short 07).

# %% nbgrader={"grade": false, "grade_id": "bce", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bce_manual(probs, targets):
    """Binary cross-entropy of probabilities against 0/1 targets: what nn.BCELoss() computes."""
    ### BEGIN SOLUTION
    log_p = torch.log(probs).clamp(min=-100)  # nn.BCELoss's clamp: log(0) = -inf becomes -100
    log_not_p = torch.log(1 - probs).clamp(min=-100)
    return -(targets * log_p + (1 - targets) * log_not_p).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bce_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check: the lesson's spam detector (Short 06).
probs = torch.tensor([0.9, 0.2, 0.7, 0.1])
targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
expect_close(bce_manual(probs, targets), nn.BCELoss()(probs, targets), "bce_manual on the lesson's probabilities",
             likely=[("sigmoid applied twice (Short 07): these are probabilities already", nn.BCELoss()(torch.sigmoid(probs), targets)),
                     ("sum instead of mean (Short 05): finish with .mean()", nn.BCELoss(reduction="sum")(probs, targets))])
# A binary classifier's output has shape (N, 1), and so do its targets.
expect_close(bce_manual(probs.reshape(4, 1), targets.reshape(4, 1)), nn.BCELoss()(probs, targets), "bce_manual on (4, 1) inputs",
             likely=[("an N-vector broadcast against an N×1 column (Short 05): squeeze both tensors or neither",
                      nn.BCELoss()(*torch.broadcast_tensors(probs, targets.reshape(4, 1))))])
print("bce_manual: self-check passed (hidden checks: other shapes and values)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_bce_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_bce_finite_at_0_and_1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: confident and wrong twice (p=0 for y=1, p=1 for y=0) is clamped, not infinite:
# (100 + 100 + 0 + 0) / 4 = 50.
edge = torch.tensor([0.0, 1.0, 1.0, 0.0])
targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
expect_close(bce_manual(edge, targets), torch.tensor(50.0), "bce_manual at p = 0 and p = 1",
             if_not_finite="Clamp each log term at -100, as nn.BCELoss does.")
print("bce_manual: finite at p = 0 and p = 1")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_bce_finite_at_0_and_1', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "bce_logits_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. BCE with logits: sigmoid and BCE in one stable step
#
# Most models output **logits** (any real number). `nn.BCEWithLogitsLoss` fuses the sigmoid into the
# loss, which is more stable than `sigmoid` followed by `log`: for a logit of 100, `sigmoid` rounds to
# exactly 1.0 in float32 and `log(1 - 1.0)` is `-inf`. Rewriting the loss per element $x$ avoids that:
#
# $$\ell(x, y) = \max(x, 0) - x\,y + \log\big(1 + e^{-|x|}\big)$$
#
# Write `bce_with_logits_manual(logits, targets)` to match `nn.BCEWithLogitsLoss()`, without `inf` or
# `nan` for logits of magnitude 100. (`torch.log1p` is your friend.)
#
# > **Common mistakes (Shorts 07, 08):** applying the sigmoid twice, or keeping a `Sigmoid()` in the
# > model while using the with-logits loss — the input is squashed again and the gradients go weird.

# %% nbgrader={"grade": false, "grade_id": "bce_with_logits", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bce_with_logits_manual(logits, targets):
    """BCE of sigmoid(logits) computed stably from the logits: what nn.BCEWithLogitsLoss() computes."""
    ### BEGIN SOLUTION
    return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bce_with_logits_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check: logits between 0 and 1 first, where feeding them to BCE as if they were probabilities still runs.
targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
small = torch.tensor([0.2, 0.7, 0.4, 0.9])
expect_close(bce_with_logits_manual(small, targets), nn.BCEWithLogitsLoss()(small, targets), "bce_with_logits_manual on logits in (0, 1)",
             likely=[("logits fed where BCE expects probabilities (Short 06): apply the sigmoid, or use the stable formula",
                      nn.BCELoss()(small, targets))])
# The lesson's logits (Short 08) give the same loss as sigmoid + BCE.
logits = torch.tensor([2.0, -1.5, 1.0, -2.0])
expect_close(bce_with_logits_manual(logits, targets), nn.BCEWithLogitsLoss()(logits, targets), "bce_with_logits_manual on the lesson's logits",
             likely=[("sigmoid applied twice (Short 07): the formula already contains the sigmoid",
                      nn.BCEWithLogitsLoss()(torch.sigmoid(logits), targets))])
expect_close(bce_with_logits_manual(logits.reshape(4, 1), targets.reshape(4, 1)), nn.BCELoss()(torch.sigmoid(logits), targets),
             "bce_with_logits_manual on (4, 1) inputs",
             likely=[("an N-vector broadcast against an N×1 column (Short 05): squeeze both tensors or neither",
                      nn.BCEWithLogitsLoss()(*torch.broadcast_tensors(logits, targets.reshape(4, 1))))])
print("bce_with_logits_manual: self-check passed (hidden checks: other shapes)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_bce_with_logits_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_bce_with_logits_stable_for_large_logits", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: large logits must give a finite loss equal to PyTorch's, here (0 + 0 + 30 + 20) / 4 = 12.5.
huge = torch.tensor([100.0, -100.0, 30.0, -20.0])
targets = torch.tensor([1.0, 0.0, 0.0, 1.0])
ordinary = torch.tensor([2.0, -1.5, 1.0, -2.0])
unstable = ("Right on ordinary logits, so the formula is unstable: sigmoid(30) rounds to 1.0 in float32 and log(1 - p) "
            "is -inf; use max(x, 0) - x·y + log1p(exp(-|x|)) (Short 08)."
            if right_on(bce_with_logits_manual, (ordinary, targets), nn.BCEWithLogitsLoss()(ordinary, targets))
            else "Make the check above pass first.")
expect_close(bce_with_logits_manual(huge, targets), nn.BCEWithLogitsLoss()(huge, targets), "bce_with_logits_manual at large logits",
             if_not_finite=unstable)
print("bce_with_logits_manual: stable for large logits")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_bce_with_logits_stable_for_large_logits', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_bce_no_builtin", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: built by hand. The grader follows your code, and the functions of yours it calls, to
# any torch loss (nn.BCELoss, F.binary_cross_entropy_with_logits, ...); your own helpers are yours,
# whatever their names. The point also needs working losses: the right values on the hidden
# inputs, or a mistake that the checks above already charge.
for fn in (bce_manual, bce_with_logits_manual):
    used = torch_losses_used(fn)
    assert not used, f"{fn.__name__} uses {sorted(used)}: write it from tensor operations (Short 05)"
    value = as_number(fn, torch.tensor([0.9, 0.2, 0.7, 0.1]), torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert math.isfinite(value), f"{fn.__name__} returned {value}: not a loss yet"
print("bce_manual, bce_with_logits_manual: no torch loss found")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_bce_no_builtin', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ce_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Multi-class: cross-entropy = log-softmax + negative log-likelihood
#
# `nn.CrossEntropyLoss` takes **raw logits** of shape `(N, C)` and **class indices** of shape `(N,)`
# (not one-hot vectors). Per sample it takes the log-softmax of the logits, picks the entry of the true
# class, negates it, and averages over the batch:
#
# $$\text{CE} = -\frac{1}{N}\sum_i \log \operatorname{softmax}(z_i)_{y_i}, \qquad
# \log\operatorname{softmax}(z)_c = z_c - \log\sum_k e^{z_k}$$
#
# For logits of magnitude 1000, `exp` overflows. Subtract each row's maximum first: the result is the
# same and the largest exponent becomes $e^0 = 1$. Write `cross_entropy_manual(logits, targets)` without
# `F.cross_entropy`, `F.nll_loss` or `nn.CrossEntropyLoss` (`torch.logsumexp` or `log_softmax` are fine).
#
# > **Common mistakes (Shorts 09, 10):** one-hot targets, and "double softmax" — applying softmax
# > before a loss that already contains it.

# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_manual(logits, targets):
    """Cross-entropy of logits (N, C) against class indices (N,): what nn.CrossEntropyLoss() computes."""
    ### BEGIN SOLUTION
    shifted = logits - logits.max(dim=1, keepdim=True).values  # (N, C); each row's largest is 0
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (N, C) log-softmax
    return -log_probs[torch.arange(len(targets)), targets].mean()  # (N,) true-class terms -> scalar
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check: the lesson's digit logits (3 samples, 10 classes) and class-index targets.
digits = torch.tensor([
    [2.0, 1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 3.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0, 0.0],
])
classes = torch.tensor([0, 3, 7])
expected = nn.CrossEntropyLoss()(digits, classes)
one_hot = torch.nn.functional.one_hot(classes, 10).float()  # (3, 10)
assert right_on(cross_entropy_manual, (digits, classes), expected) or not right_on(cross_entropy_manual, (digits, one_hot), expected), \
    "cross_entropy_manual is right for one-hot targets only: this looks like one-hot targets given to cross-entropy (Short 09); targets are class indices, shape (N,)"
expect_close(cross_entropy_manual(digits, classes), expected, "cross_entropy_manual on the lesson's digits",
             likely=[("softmax before cross-entropy (Short 10): pass the logits as they are",
                      nn.CrossEntropyLoss()(digits.softmax(dim=1), classes)),
                     ("sum instead of mean (Short 05): average over the batch", nn.CrossEntropyLoss(reduction="sum")(digits, classes))])
print("cross_entropy_manual: self-check passed (hidden checks: other batch sizes and class counts)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_cross_entropy_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_stable_for_large_logits", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: logits of magnitude 1000 must not overflow. With these targets the loss is about 2000.
digits = torch.tensor([
    [2.0, 1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 3.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0, 0.0],
])
classes = torch.tensor([1, 4, 0])
unstable = ("Right on ordinary logits, so the formula overflows: exp() is inf above about 88 in float32; subtract each "
            "row's maximum before exp, or use torch.logsumexp (Short 11)."
            if right_on(cross_entropy_manual, (digits, classes), nn.CrossEntropyLoss()(digits, classes))
            else "Make the check above pass first.")
expect_close(cross_entropy_manual(1000 * digits, classes), nn.CrossEntropyLoss()(1000 * digits, classes),
             "cross_entropy_manual at logits of magnitude 1000", if_not_finite=unstable)
print("cross_entropy_manual: stable for logits of magnitude 1000")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_cross_entropy_stable_for_large_logits', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_no_builtin", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: built by hand. The grader follows your code, and the functions of yours it calls, to
# any torch loss (F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss, ...); your own helpers are
# yours, whatever their names. The point also needs a working loss: the right values on the
# hidden inputs, or a mistake that the checks above already charge.
used = torch_losses_used(cross_entropy_manual)
assert not used, f"cross_entropy_manual uses {sorted(used)}: write it from tensor operations (Short 11)"
value = as_number(cross_entropy_manual, torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0]))
assert math.isfinite(value), f"cross_entropy_manual returned {value}: not a loss yet"
print("cross_entropy_manual: no torch loss found")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_cross_entropy_no_builtin', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "outputs_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Logits for the loss, probabilities for people
#
# The model's last layer decides what the loss receives. `nn.BCEWithLogitsLoss` and `nn.CrossEntropyLoss`
# apply the sigmoid or the (log-)softmax themselves, so the model returns raw **logits**. Only at
# inference, when a person wants probabilities, do you apply the sigmoid or the softmax (Short 31).
#
# 1. `make_spam_model(n_features)`: the spam filter, trained with `nn.BCEWithLogitsLoss()`. Return an
#    `nn.Module` holding one `nn.Linear(n_features, 1)` and no other parameters, so that `model(x)`,
#    for `x` of shape `(N, n_features)`, gives the logits of shape `(N, 1)` that the loss expects.
# 2. `predict_proba(model, x)`: `model` is a multi-class classifier trained with `nn.CrossEntropyLoss`,
#    so `model(x)` returns logits of shape `(N, C)`. Return the class probabilities, shape `(N, C)`:
#    every value in [0, 1] and every row summing to 1.
#
# > **Common mistakes (Shorts 08, 31, 11):** keeping a `Sigmoid()` at the end of a model trained with
# > `BCEWithLogitsLoss` (the sigmoid is then applied twice), and reading logits as if they were probabilities.

# %% nbgrader={"grade": false, "grade_id": "spam_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_spam_model(n_features):
    """A spam filter for nn.BCEWithLogitsLoss: x (N, n_features) -> logits (N, 1)."""
    ### BEGIN SOLUTION
    return nn.Linear(n_features, 1)  # no Sigmoid(): the loss applies it
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_spam_model_returns_logits", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Shorts 08, 31): the model's output is its linear layer's own output, the logits.
torch.manual_seed(0)
spam_model = make_spam_model(3)
params = list(spam_model.parameters())
weights = [p for p in params if p.shape == (1, 3)]
biases = [p for p in params if p.shape == (1,)]
assert len(weights) == 1 and len(biases) <= 1 and len(params) == len(weights) + len(biases), \
    "make_spam_model(3) should hold one nn.Linear(3, 1) and no other parameters"
emails = torch.tensor([[4.0, -2.0, 1.0], [-3.0, 5.0, 0.5]])
with torch.no_grad():
    logits = emails @ weights[0].T + (biases[0] if biases else 0)  # (2, 1)
    expect_close(spam_model(emails), logits, "make_spam_model(3) on two emails",
                 likely=[("a sigmoid kept in the model (Shorts 08, 31): BCEWithLogitsLoss applies it itself", torch.sigmoid(logits))])
print("make_spam_model: returns logits (hidden check: another size, other emails)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_spam_model_returns_logits', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "predict_proba", "locked": false, "schema_version": 3, "solution": true, "task": false}
def predict_proba(model, x):
    """Class probabilities (N, C) from a classifier whose output is logits (N, C)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)  # over the classes: each row sums to 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_predict_proba_returns_probabilities", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 11): a classifier of 3 features into 4 classes, on two samples.
classifier = nn.Linear(3, 4)
with torch.no_grad():
    classifier.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0], [-1.0, 0.5, 2.0], [2.0, 0.0, -1.0]]))
    classifier.bias.copy_(torch.tensor([0.1, -0.2, 0.0, 0.3]))
    samples = torch.tensor([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0]])
    logits = classifier(samples)  # (2, 4)
expect_close(predict_proba(classifier, samples), torch.softmax(logits, dim=1), "predict_proba on two samples",
             likely=[("logits returned as probabilities (Short 11): apply torch.softmax(logits, dim=1)", logits),
                     ("a softmax over the batch instead of the classes (Short 11): use dim=1", torch.softmax(logits, dim=0)),
                     ("a sigmoid on a multi-class output (Short 31): rows must sum to 1, use a softmax", torch.sigmoid(logits)),
                     ("log-probabilities (Short 11): these are logs of probabilities", torch.log_softmax(logits, dim=1))])
print("predict_proba: probabilities in [0, 1], rows summing to 1 (hidden checks: other classifiers)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_predict_proba_returns_probabilities', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Quiz: pick the loss
#
# Your model's last layer returns **raw logits** (no sigmoid, no softmax). Fill in two dictionaries,
# using PyTorch's class names as strings (`"MSELoss"`, `"L1Loss"`, `"BCELoss"`, `"BCEWithLogitsLoss"`,
# `"CrossEntropyLoss"`):
#
# 1. `LOSS_FOR_TASK`: the loss for each task — keys `"regression"` (predict a house price),
#    `"binary"` (spam or not), `"multiclass"` (which digit 0–9) and `"multilabel"` (which of 5 tags
#    apply to a photo, any number of them).
# 2. `LOSS_INPUT`: what each loss expects as its input — `"probabilities"` or `"logits"` — for keys
#    `"BCELoss"`, `"BCEWithLogitsLoss"` and `"CrossEntropyLoss"`.
#
# > **Common mistakes (Shorts 30, 31):** BCE for multi-class problems, CE for multi-label ones, and
# > baking a sigmoid/softmax into the model and then using a with-logits loss.

# %% nbgrader={"grade": false, "grade_id": "quiz", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
LOSS_FOR_TASK = {
    "regression": "MSELoss",
    "binary": "BCEWithLogitsLoss",
    "multiclass": "CrossEntropyLoss",
    "multilabel": "BCEWithLogitsLoss",
}
LOSS_INPUT = {
    "BCELoss": "probabilities",
    "BCEWithLogitsLoss": "logits",
    "CrossEntropyLoss": "logits",
}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_quiz_loss_for_task", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check: the format only (names are read as the grader reads them). The answers are checked when you submit.
CHOICES = {answer_name(c) for c in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss")}
assert isinstance(LOSS_FOR_TASK, dict), "LOSS_FOR_TASK is a dict"
missing = {"regression", "binary", "multiclass", "multilabel"} - set(LOSS_FOR_TASK)
assert not missing, f"LOSS_FOR_TASK has no answer for {sorted(missing)}"
unknown = [v for v in LOSS_FOR_TASK.values() if answer_name(v) not in CHOICES]
assert not unknown, f"{unknown}: pick PyTorch loss class names, e.g. 'MSELoss' or 'CrossEntropyLoss'"
print("LOSS_FOR_TASK: well formed")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_quiz_loss_for_task', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_quiz_loss_input", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: the format only (answers are read as the grader reads them).
assert isinstance(LOSS_INPUT, dict), "LOSS_INPUT is a dict"
missing = {"BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"} - set(LOSS_INPUT)
assert not missing, f"LOSS_INPUT has no answer for {sorted(missing)}"
unclear = [v for v in LOSS_INPUT.values() if "prob" not in answer_name(v) and "logit" not in answer_name(v)]
assert not unclear, f"{unclear}: each answer is 'probabilities' or 'logits'"
print("LOSS_INPUT: well formed")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('01_losses', 'test_quiz_loss_input', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "outro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Done?
#
# *Kernel → Restart & Run All*, check every self-check prints its message, then submit this notebook.
# If training is ever bad, check these three first (Short 32): the loss matches the task, the model's
# output (logits or probabilities) matches the loss, and the learning rate — which is tomorrow's topic.
