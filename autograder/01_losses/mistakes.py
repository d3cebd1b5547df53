"""The lesson's common mistakes for 01_losses, each recognised from the student's answers or code.

A recogniser gets the student's answers and the name of the function (or quiz answer) to look at,
and says whether that function shows the mistake. The table at the bottom is the whole list.
"""
import torch

from course.grading import Mistake, builtins_used, matches, normalise_answer, ratio
from solutions import losses as ref
from solutions.losses import LOSS_BUILTINS

# student function -> (the call group that exercises it, the reference it must equal)
REFERENCE = {
    "mse_manual": ("mse", ref.mse),
    "mae_manual": ("mae", ref.mae),
    "bce_manual": ("bce", ref.bce),
    "bce_with_logits_manual": ("bcel", ref.bce_with_logits),
    "cross_entropy_manual": ("ce", ref.cross_entropy),
}


def _every_case(student, fn, signature) -> bool:
    """True when every answered case of `fn` fits `signature(answer, args)`, and at least one does."""
    group, _ = REFERENCE[fn]
    answered = [(student.answer(c.key), c.args) for c in student.cases(group)]
    answered = [(a, args) for a, args in answered if a is not None]
    return bool(answered) and all(signature(a, args) for a, args in answered)


def sum_instead_of_mean(student, fn) -> bool:
    _, reference = REFERENCE[fn]

    def summed(answer, args):
        # CE averages over the batch (N); the others over every element.
        count = args[0].shape[0] if fn == "cross_entropy_manual" else args[0].numel()
        if count == 1:  # sum and mean agree on one element
            return matches(answer, reference(*args))
        r = ratio(answer, reference(*args))
        return r is not None and abs(r - count) < 1e-3 * count

    return _every_case(student, fn, summed)


def softmax_before_cross_entropy(student, fn) -> bool:
    return _every_case(student, fn, lambda a, args: matches(a, ref.cross_entropy(args[0].softmax(dim=1), args[1]))
                       and not matches(a, ref.cross_entropy(*args)))


def logits_as_probabilities(student, fn) -> bool:
    if fn == "LOSS_INPUT":
        answer = student.answer("quiz/loss_input")
        return isinstance(answer, dict) and "logit" in normalise_answer(answer.get("BCELoss"))
    case = student.case("bcel_unit/0")
    x, t = case.args
    return matches(student.answer(case.key), ref.bce(x, t)) and not matches(student.answer(case.key), ref.bce_with_logits(x, t))


def sigmoid_twice(student, fn) -> bool:
    _, reference = REFERENCE[fn]
    return _every_case(student, fn, lambda a, args: matches(a, reference(torch.sigmoid(args[0]), args[1]))
                       and not matches(a, reference(*args)))


def one_hot_targets(student, fn) -> bool:
    logits, targets = student.case("ce_pair/0").args
    expected = ref.cross_entropy(logits, targets)
    return matches(student.answer("ce_onehot/0"), expected) and not matches(student.answer("ce_pair/0"), expected)


def forbidden_builtin(student, fn) -> bool:
    return bool(builtins_used(student.cells, fn, LOSS_BUILTINS))


def wrong_loss_for_task(student, fn) -> bool:
    answer = student.answer("quiz/loss_for_task")
    if not isinstance(answer, dict):
        return False
    multiclass, multilabel = normalise_answer(answer.get("multiclass")), normalise_answer(answer.get("multilabel"))
    return multiclass in {"bce", "bcewithlogits"} or multilabel == "crossentropy"


MANUAL = tuple(REFERENCE)
MISTAKES = [
    Mistake("sum instead of mean", "Short 05 — Manual MSE in 3 Lines",
            "the result is exactly the number of elements times the expected loss; finish with .mean(), not .sum().",
            MANUAL, sum_instead_of_mean),
    Mistake("softmax before cross-entropy", "Short 10 — No Softmax Before CrossEntropyLoss",
            "the result equals cross-entropy of softmax(logits): the log-softmax inside cross-entropy already turns logits into probabilities.",
            ("cross_entropy_manual",), softmax_before_cross_entropy),
    Mistake("logits fed where BCE expects probabilities", "Short 06 — Binary Classification Loss: BCE",
            "BCE's log(p) and log(1 - p) need probabilities in [0, 1]; logits must go through a sigmoid first (or use the with-logits form).",
            ("bce_with_logits_manual", "LOSS_INPUT"), logits_as_probabilities),
    Mistake("sigmoid applied twice", "Short 07 — Sigmoid + BCE (Correct Pair)",
            "the result equals the loss of sigmoid(input): the input already is what the loss expects, so do not squash it again.",
            ("bce_manual", "bce_with_logits_manual"), sigmoid_twice),
    Mistake("one-hot targets given to cross-entropy", "Short 09 — Multi-Class Classification: CrossEntropyLoss",
            "your function gives the right loss for one-hot targets but fails for class indices; cross-entropy takes targets of shape (N,) holding class numbers.",
            ("cross_entropy_manual",), one_hot_targets),
    Mistake("a forbidden built-in loss in a manual exercise", "Short 05 — Manual MSE in 3 Lines",
            "the code calls a torch loss (nn.*Loss or F.*_loss) that this exercise asks you to write yourself.",
            MANUAL, forbidden_builtin),
    Mistake("BCE for multi-class or CE for multi-label", "Short 30 — Loss Selection Cheat Sheet",
            "one class out of many is CrossEntropyLoss; several independent yes/no labels is BCEWithLogitsLoss.",
            ("LOSS_FOR_TASK",), wrong_loss_for_task),
]
