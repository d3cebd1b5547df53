"""The hidden inputs for 01_losses: every call the student's kernel is asked to answer.

All randomness comes from generators seeded with the assignment's grading seed (course.toml),
so the kernel and the judge rebuild the same inputs. The notebook's self-checks use the lesson's
fixed examples instead, so passing them says nothing about these.
"""
import torch
import torch.nn.functional as F

from course.grading import Call

SHAPES = [(7,), (4, 5), (2, 3, 6)]  # "any matching shape": a vector, a batch, a 3-d block
COLUMN = (8, 1)  # a regression model's or binary classifier's output (N, 1), with targets of the same shape
SPAM_FEATURES = 5


def _label(t: torch.Tensor) -> str:
    return f"shape {tuple(t.shape)}, {str(t.dtype).removeprefix('torch.')}"


def grader_inputs(seed: int) -> dict[str, Call]:
    g = torch.Generator().manual_seed(seed)
    calls: dict[str, Call] = {}

    def randn(*shape, scale=1.0, dtype=torch.float32):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(dtype)

    def add(group, fn, *args, label=None):
        calls[f"{group}/{len([k for k in calls if k.startswith(group + '/')])}"] = Call(
            fn, args, label=label or _label(args[0]))

    # Regression losses: several shapes, one float64 case (the dtype must be kept).
    for shape in SHAPES:
        add("mse", "mse_manual", randn(*shape, scale=3), randn(*shape, scale=3))
        add("mae", "mae_manual", randn(*shape, scale=3), randn(*shape, scale=3))
    add("mse", "mse_manual", randn(10, dtype=torch.float64), randn(10, dtype=torch.float64))
    add("mae", "mae_manual", randn(10, dtype=torch.float64), randn(10, dtype=torch.float64))

    # BCE on probabilities strictly inside (0, 1), then exactly at 0 and 1 (the -100 clamp).
    for shape in SHAPES:
        probs = torch.rand(*shape, generator=g) * 0.98 + 0.01
        add("bce", "bce_manual", probs, torch.randint(0, 2, shape, generator=g).float())
    edge = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 1.0])
    add("bce_edge", "bce_manual", edge, torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0]), label="probabilities of exactly 0 and 1")

    # BCE with logits: ordinary logits, then magnitude 100 where a naive sigmoid+log overflows.
    for shape in SHAPES:
        add("bcel", "bce_with_logits_manual", randn(*shape, scale=2), torch.randint(0, 2, shape, generator=g).float())
    big = torch.tensor([100.0, -100.0, 100.0, -100.0, 50.0, -80.0])
    add("bcel_large", "bce_with_logits_manual", big, torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0]), label="logits of magnitude 100")
    # Diagnostic only: "logits" inside (0, 1) separate "logits used as probabilities" from other errors.
    add("bcel_unit", "bce_with_logits_manual", torch.rand(8, generator=g) * 0.9 + 0.05,
        torch.randint(0, 2, (8,), generator=g).float(), label="logits between 0 and 1")

    # Cross-entropy: logits (N, C) with N != C, class-index targets (N,).
    for n, c in [(6, 4), (5, 10), (1, 3)]:
        add("ce", "cross_entropy_manual", randn(n, c, scale=2), torch.randint(0, c, (n,), generator=g))
    big_logits = randn(4, 5) * 1000  # (4, 5): exp() of these overflows float32
    add("ce_large", "cross_entropy_manual", big_logits, torch.randint(0, 5, (4,), generator=g), label="logits of magnitude 1000")
    # Diagnostic only: the same logits with one-hot targets (N, C), to recognise a one-hot implementation.
    logits, targets = randn(6, 4, scale=2), torch.randint(0, 4, (6,), generator=g)
    add("ce_pair", "cross_entropy_manual", logits, targets)
    add("ce_onehot", "cross_entropy_manual", logits, F.one_hot(targets, 4).float(), label="one-hot targets")

    # Inputs added after the ones above draw from their own stream (randn reads g when called), so
    # those keep their values.
    g = torch.Generator().manual_seed(seed + 1)

    # (N, 1) against (N, 1): squeezing only one side broadcasts to an (N, N) table.
    add("mse", "mse_manual", randn(*COLUMN, scale=3), randn(*COLUMN, scale=3))
    add("mae", "mae_manual", randn(*COLUMN, scale=3), randn(*COLUMN, scale=3))
    add("bce", "bce_manual", torch.rand(*COLUMN, generator=g) * 0.98 + 0.01, torch.randint(0, 2, COLUMN, generator=g).float())
    add("bcel", "bce_with_logits_manual", randn(*COLUMN, scale=2), torch.randint(0, 2, COLUMN, generator=g).float())

    # The spam model: built by the student from a seeded init, run on emails whose logits are far from (0, 1).
    emails = randn(12, SPAM_FEATURES, scale=4)
    calls["spam/0"] = Call("spam_model_run", (SPAM_FEATURES, emails, seed % 10_000), harness=True,
                           label="a hidden batch of emails")
    # predict_proba on hidden linear classifiers; N != C, so a softmax over the batch shows.
    for i, (n, features, classes) in enumerate([(6, 3, 4), (5, 8, 10)]):
        weight, bias, x = randn(classes, features, scale=2), randn(classes), randn(n, features, scale=2)
        calls[f"proba/{i}"] = Call("proba_run", (weight, bias, x), harness=True,
                                   label=f"a hidden linear classifier, {n} samples, {classes} classes")

    # The quiz: the student's answers, fetched rather than called.
    calls["quiz/loss_for_task"] = Call("LOSS_FOR_TASK", get=True, label="LOSS_FOR_TASK")
    calls["quiz/loss_input"] = Call("LOSS_INPUT", get=True, label="LOSS_INPUT")
    return calls


def spam_model_run(student, n_features, x, seed):
    """The student's make_spam_model(n_features), built after torch.manual_seed(seed): its output on
    x and its parameters, from which the judge computes the logits itself."""
    import torch

    torch.manual_seed(seed)
    model = student["make_spam_model"](n_features)
    return {"out": model(x), "params": list(model.parameters())}


def proba_run(student, weight, bias, x):
    """The student's predict_proba on a linear classifier with the given weights (C, F), bias (C,)
    and inputs x (N, F)."""
    import torch
    import torch.nn as nn

    model = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    return student["predict_proba"](model, x)


# Run in the student's kernel as fn(student_namespace, *args): each imports what it needs and
# returns only tensors and containers of them. The loss functions are called directly.
HARNESS = [spam_model_run, proba_run]
