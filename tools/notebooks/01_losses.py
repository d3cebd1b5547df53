"""Authoring script for source/01_losses/losses.ipynb. Run: python tools/notebooks/01_losses.py"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbbuild import answer, check, code, md, write  # noqa: E402

cells = [
    md("intro", """
    # Day 5 · Assignment 1: Loss functions

    *"Loss functions measure the difference between predictions and truth."* Loss tells you **how wrong**
    the model is; tomorrow's optimizer tells you **how to fix it**. Before trusting `nn.MSELoss` or
    `nn.CrossEntropyLoss`, you will build each one yourself from tensor operations: if you can compute
    it manually, you can debug it.

    **How this notebook works**
    - Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
    - Run the **self-check** cell under each exercise. It uses the lesson's own examples.
    - When you submit, hidden checks call your functions again on **other** shapes, values and edge
      cases, and compare them with PyTorch's losses. Passing the self-checks is necessary, not sufficient.
    - Use only `torch` operations. In the "manual" exercises, do not call PyTorch's loss modules or
      functions (`nn.MSELoss`, `F.mse_loss`, ...): the grader reads your code to check.
    - Before submitting: *Kernel → Restart & Run All*, and check that nothing fails.
    """),
    code("imports", """
    import math

    import torch
    import torch.nn as nn

    torch.manual_seed(0)  # the self-checks below use fixed values; this seed is only for your own experiments


    def names_used(fn):
        \"\"\"Every name and attribute fn's code uses (not its docstring or comments): for the self-checks.\"\"\"
        import ast, inspect, textwrap
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        return {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Attribute))}
    """),
    md("mse_mae_intro", """
    ## 1. Regression: MSE (L2) and MAE (L1)

    For a prediction $\\hat y$ and a target $y$ with $n$ elements:

    $$\\text{MSE} = \\frac{1}{n}\\sum_i (\\hat y_i - y_i)^2 \\qquad \\text{MAE} = \\frac{1}{n}\\sum_i |\\hat y_i - y_i|$$

    MSE squares the error, so big mistakes are punished far more than small ones; MAE is more robust to
    outliers but its gradient is less smooth around 0. Manual MSE is three steps: **error → square → mean**.

    Write `mse_manual(pred, target)` and `mae_manual(pred, target)`. They take tensors of any (matching)
    shape and return a scalar tensor (shape `()`), with the inputs' dtype.

    > **Common mistake (Short 05):** forgetting `.mean()` — a sum scales the loss and its gradients by the
    > number of elements, so losses from different batch sizes stop being comparable (Short 02).
    """),
    answer("mse_mae", """
    def mse_manual(pred, target):
        \"\"\"Mean squared error over every element: what nn.MSELoss() computes.\"\"\"
        ### BEGIN SOLUTION
        return ((pred - target) ** 2).mean()
        ### END SOLUTION


    def mae_manual(pred, target):
        \"\"\"Mean absolute error over every element: what nn.L1Loss() computes.\"\"\"
        ### BEGIN SOLUTION
        return (pred - target).abs().mean()
        ### END SOLUTION
    """),
    check("test_mse_matches_reference", 2, """
    # Self-check (Short 05): errors 0.5, -0.5, 1.0 give MSE (0.25 + 0.25 + 1) / 3 = 0.5.
    pred = torch.tensor([2.0, 3.0, 4.0])
    true = torch.tensor([1.5, 3.5, 3.0])
    torch.testing.assert_close(mse_manual(pred, true), torch.tensor(0.5), rtol=0, atol=1e-6)
    # The lesson's house prices: compare with PyTorch's own loss.
    prices = torch.tensor([250000., 180000., 320000.])
    actual = torch.tensor([240000., 200000., 310000.])
    torch.testing.assert_close(mse_manual(prices, actual), nn.MSELoss()(prices, actual), rtol=1e-6, atol=0.0)
    print("mse_manual: self-check passed (hidden checks: other shapes, float64)")
    """),
    check("test_mae_matches_reference", 2, """
    # Self-check (Short 04): house-price errors of 10000, 20000, 10000 give MAE 13333.33.
    torch.testing.assert_close(mae_manual(prices, actual), torch.tensor(40000 / 3), rtol=1e-6, atol=0.0)
    torch.testing.assert_close(mae_manual(pred, true), nn.L1Loss()(pred, true), rtol=1e-6, atol=1e-7)
    print("mae_manual: self-check passed (hidden checks: other shapes, float64)")
    """),
    check("test_mse_mae_no_builtin", 1, """
    # Self-check: these two are built by hand. The grader reads your code for nn.MSELoss, nn.L1Loss,
    # F.mse_loss and F.l1_loss (directly or through another function of yours).
    for fn in (mse_manual, mae_manual):
        assert not names_used(fn) & {"MSELoss", "L1Loss", "mse_loss", "l1_loss"}, f"{fn.__name__} calls a built-in loss"
    print("mse_manual, mae_manual: no built-in loss found")
    """),
    md("bce_intro", """
    ## 2. Binary classification: BCE on probabilities

    For probabilities $p \\in [0, 1]$ and 0/1 targets $y$:

    $$\\text{BCE} = -\\frac{1}{n}\\sum_i \\big[\\,y_i \\log p_i + (1 - y_i)\\log(1 - p_i)\\,\\big]$$

    `nn.BCELoss` has one detail the formula hides: it **clamps each log term at −100**, so a probability
    of exactly 0 or 1 gives a large but finite loss instead of `inf` (or `nan` from `0 · -inf`).
    Write `bce_manual(probs, targets)` to match `nn.BCELoss()` exactly, clamp included.

    > **Common mistake (Short 06):** feeding raw logits into BCE. It expects probabilities; logits must go
    > through a sigmoid first (Short 07).
    """),
    answer("bce", """
    def bce_manual(probs, targets):
        \"\"\"Binary cross-entropy of probabilities against 0/1 targets: what nn.BCELoss() computes.\"\"\"
        ### BEGIN SOLUTION
        log_p = torch.log(probs).clamp(min=-100)  # nn.BCELoss's clamp: log(0) = -inf becomes -100
        log_not_p = torch.log(1 - probs).clamp(min=-100)
        return -(targets * log_p + (1 - targets) * log_not_p).mean()
        ### END SOLUTION
    """),
    check("test_bce_matches_reference", 2, """
    # Self-check: the lesson's spam detector (Short 06).
    probs = torch.tensor([0.9, 0.2, 0.7, 0.1])
    targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
    torch.testing.assert_close(bce_manual(probs, targets), nn.BCELoss()(probs, targets), rtol=1e-6, atol=1e-7)
    print("bce_manual: self-check passed (hidden checks: other shapes and values)")
    """),
    check("test_bce_finite_at_0_and_1", 1, """
    # Self-check: confident and wrong twice (p=0 for y=1, p=1 for y=0) is clamped, not infinite:
    # (100 + 100 + 0 + 0) / 4 = 50.
    edge = torch.tensor([0.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(bce_manual(edge, targets), torch.tensor(50.0), rtol=0, atol=1e-5)
    print("bce_manual: finite at p = 0 and p = 1")
    """),
    md("bce_logits_intro", """
    ## 3. BCE with logits: sigmoid and BCE in one stable step

    Most models output **logits** (any real number). `nn.BCEWithLogitsLoss` fuses the sigmoid into the
    loss, which is more stable than `sigmoid` followed by `log`: for a logit of 100, `sigmoid` rounds to
    exactly 1.0 in float32 and `log(1 - 1.0)` is `-inf`. Rewriting the loss per element $x$ avoids that:

    $$\\ell(x, y) = \\max(x, 0) - x\\,y + \\log\\big(1 + e^{-|x|}\\big)$$

    Write `bce_with_logits_manual(logits, targets)` to match `nn.BCEWithLogitsLoss()`, without `inf` or
    `nan` for logits of magnitude 100. (`torch.log1p` is your friend.)

    > **Common mistakes (Shorts 07, 08):** applying the sigmoid twice, or keeping a `Sigmoid()` in the
    > model while using the with-logits loss — the input is squashed again and the gradients go weird.
    """),
    answer("bce_with_logits", """
    def bce_with_logits_manual(logits, targets):
        \"\"\"BCE of sigmoid(logits) computed stably from the logits: what nn.BCEWithLogitsLoss() computes.\"\"\"
        ### BEGIN SOLUTION
        return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()
        ### END SOLUTION
    """),
    check("test_bce_with_logits_matches_reference", 2, """
    # Self-check: the lesson's logits (Short 08) give the same loss as sigmoid + BCE.
    logits = torch.tensor([2.0, -1.5, 1.0, -2.0])
    torch.testing.assert_close(bce_with_logits_manual(logits, targets), nn.BCEWithLogitsLoss()(logits, targets), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bce_with_logits_manual(logits, targets), nn.BCELoss()(torch.sigmoid(logits), targets), rtol=1e-5, atol=1e-6)
    print("bce_with_logits_manual: self-check passed (hidden checks: other shapes)")
    """),
    check("test_bce_with_logits_stable_for_large_logits", 1, """
    # Self-check: logits of magnitude 100 must give a finite loss equal to PyTorch's.
    huge = torch.tensor([100.0, -100.0, 100.0, -100.0])
    loss = bce_with_logits_manual(huge, targets)
    assert torch.isfinite(loss), f"got {loss}: is your formula stable for large |x|?"
    torch.testing.assert_close(loss, nn.BCEWithLogitsLoss()(huge, targets), rtol=1e-6, atol=1e-6)
    print("bce_with_logits_manual: stable for |logits| = 100")
    """),
    check("test_bce_no_builtin", 1, """
    # Self-check: built by hand. The grader reads your code for nn.BCELoss, nn.BCEWithLogitsLoss and
    # F.binary_cross_entropy(_with_logits).
    for fn in (bce_manual, bce_with_logits_manual):
        forbidden = {"BCELoss", "BCEWithLogitsLoss", "binary_cross_entropy", "binary_cross_entropy_with_logits"}
        assert not names_used(fn) & forbidden, f"{fn.__name__} calls a built-in loss"
    print("bce_manual, bce_with_logits_manual: no built-in loss found")
    """),
    md("ce_intro", """
    ## 4. Multi-class: cross-entropy = log-softmax + negative log-likelihood

    `nn.CrossEntropyLoss` takes **raw logits** of shape `(N, C)` and **class indices** of shape `(N,)`
    (not one-hot vectors). Per sample it takes the log-softmax of the logits, picks the entry of the true
    class, negates it, and averages over the batch:

    $$\\text{CE} = -\\frac{1}{N}\\sum_i \\log \\operatorname{softmax}(z_i)_{y_i}, \\qquad
    \\log\\operatorname{softmax}(z)_c = z_c - \\log\\sum_k e^{z_k}$$

    For logits of magnitude 1000, `exp` overflows. Subtract each row's maximum first: the result is the
    same and the largest exponent becomes $e^0 = 1$. Write `cross_entropy_manual(logits, targets)` without
    `F.cross_entropy`, `F.nll_loss` or `nn.CrossEntropyLoss` (`torch.logsumexp` or `log_softmax` are fine).

    > **Common mistakes (Shorts 09, 10):** one-hot targets, and "double softmax" — applying softmax
    > before a loss that already contains it.
    """),
    answer("cross_entropy", """
    def cross_entropy_manual(logits, targets):
        \"\"\"Cross-entropy of logits (N, C) against class indices (N,): what nn.CrossEntropyLoss() computes.\"\"\"
        ### BEGIN SOLUTION
        shifted = logits - logits.max(dim=1, keepdim=True).values  # (N, C); each row's largest is 0
        log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (N, C) log-softmax
        return -log_probs[torch.arange(len(targets)), targets].mean()  # (N,) true-class terms -> scalar
        ### END SOLUTION
    """),
    check("test_cross_entropy_matches_reference", 2, """
    # Self-check: the lesson's digit logits (3 samples, 10 classes) and class-index targets.
    digits = torch.tensor([
        [2.0, 1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 3.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0, 0.0],
    ])
    classes = torch.tensor([0, 3, 7])
    torch.testing.assert_close(cross_entropy_manual(digits, classes), nn.CrossEntropyLoss()(digits, classes), rtol=1e-6, atol=1e-7)
    print("cross_entropy_manual: self-check passed (hidden checks: other batch sizes and class counts)")
    """),
    check("test_cross_entropy_stable_for_large_logits", 1, """
    # Self-check: multiplying the logits by 1000 must not overflow.
    loss = cross_entropy_manual(digits * 1000, classes)
    assert torch.isfinite(loss), f"got {loss}: subtract each row's maximum before exp"
    torch.testing.assert_close(loss, nn.CrossEntropyLoss()(digits * 1000, classes), rtol=1e-6, atol=1e-4)
    print("cross_entropy_manual: stable for logits of magnitude 1000")
    """),
    check("test_cross_entropy_no_builtin", 1, """
    # Self-check: built by hand. The grader reads your code for F.cross_entropy, F.nll_loss and
    # nn.CrossEntropyLoss.
    forbidden = {"cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"}
    assert not names_used(cross_entropy_manual) & forbidden, "cross_entropy_manual calls a built-in loss"
    print("cross_entropy_manual: no built-in loss found")
    """),
    md("quiz_intro", """
    ## 5. Quiz: pick the loss

    Your model's last layer returns **raw logits** (no sigmoid, no softmax). Fill in two dictionaries,
    using PyTorch's class names as strings (`"MSELoss"`, `"L1Loss"`, `"BCELoss"`, `"BCEWithLogitsLoss"`,
    `"CrossEntropyLoss"`):

    1. `LOSS_FOR_TASK`: the loss for each task — keys `"regression"` (predict a house price),
       `"binary"` (spam or not), `"multiclass"` (which digit 0–9) and `"multilabel"` (which of 5 tags
       apply to a photo, any number of them).
    2. `LOSS_INPUT`: what each loss expects as its input — `"probabilities"` or `"logits"` — for keys
       `"BCELoss"`, `"BCEWithLogitsLoss"` and `"CrossEntropyLoss"`.

    > **Common mistakes (Shorts 30, 31):** BCE for multi-class problems, CE for multi-label ones, and
    > baking a sigmoid/softmax into the model and then using a with-logits loss.
    """),
    answer("quiz", """
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
    """),
    check("test_quiz_loss_for_task", 2, """
    # Self-check: the format only. The answers are checked when you submit.
    CHOICES = {"MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"}
    assert set(LOSS_FOR_TASK) == {"regression", "binary", "multiclass", "multilabel"}, "keys are the four tasks"
    assert all(str(v).replace("nn.", "").replace("()", "") in CHOICES for v in LOSS_FOR_TASK.values()), f"pick from {sorted(CHOICES)}"
    print("LOSS_FOR_TASK: well formed")
    """),
    check("test_quiz_loss_input", 1, """
    # Self-check: the format only.
    assert set(LOSS_INPUT) == {"BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"}
    assert all(v in ("probabilities", "logits") for v in LOSS_INPUT.values()), "each answer is 'probabilities' or 'logits'"
    print("LOSS_INPUT: well formed")
    """),
    md("outro", """
    ## Done?

    *Kernel → Restart & Run All*, check every self-check prints its message, then submit this notebook.
    If training is ever bad, check these three first (Short 32): the loss matches the task, the model's
    output (logits or probabilities) matches the loss, and the learning rate — which is tomorrow's topic.
    """),
]

if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    write(root / "source" / "01_losses" / "losses.ipynb", cells)
