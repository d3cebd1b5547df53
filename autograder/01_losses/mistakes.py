"""The lesson's common mistakes for 01_losses, each recognised from the student's answers or code.

A recogniser gets the student's answers and the name of the function (or quiz answer, or by-hand
test) to look at, and says whether that function shows the mistake. Each recognises a signature
in the answers, never a guess from a failure alone. The table at the bottom is the whole list.
"""
import torch
import torch.nn.functional as F

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
# the by-hand tests' `about` -> the functions each covers
BY_HAND = {
    "by hand: mse_manual, mae_manual": ("mse_manual", "mae_manual"),
    "by hand: bce_manual, bce_with_logits_manual": ("bce_manual", "bce_with_logits_manual"),
    "by hand: cross_entropy_manual": ("cross_entropy_manual",),
}
# functions with a stability test: the group of large inputs
LARGE = {"bce_with_logits_manual": "bcel_large", "cross_entropy_manual": "ce_large"}


def _every_case(student, fn, signature, group=None) -> bool:
    """True when every answered case of `fn` fits `signature(answer, args)`, and at least one does."""
    group = group or REFERENCE[fn][0]
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


def broadcast_column(student, fn) -> bool:
    """On (N, 1) inputs the answer is the loss over the (N, N) table that `a.squeeze(-1) - b`
    (or `a - b.squeeze(-1)`) broadcasts to; both orders hold the same pairs, so the same mean."""
    group, reference = REFERENCE[fn]
    seen = []
    for case in student.cases(group):
        a, b = case.args
        if a.dim() == 2 and a.shape[0] > 1 and a.shape[1] == 1:
            answer = student.answer(case.key)
            seen.append(matches(answer, reference(*torch.broadcast_tensors(a.squeeze(-1), b)))
                        and not matches(answer, reference(a, b)))
    return bool(seen) and all(seen)


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


def overflow_at_large_logits(student, fn) -> bool:
    """Right on every ordinary input (within 1e-3: a naive formula also loses a little precision
    there), inf or nan on large logits: what an unstable formula shows."""
    _, reference = REFERENCE[fn]
    if not _every_case(student, fn, lambda a, args: matches(a, reference(*args), rtol=1e-3, atol=1e-5)):
        return False
    large = [student.answer(c.key) for c in student.cases(LARGE[fn])]
    return any(isinstance(a, torch.Tensor) and a.is_floating_point() and not torch.isfinite(a).all() for a in large)


def forbidden_builtin(student, about) -> bool:
    return any(builtins_used(student.cells, fn, LOSS_BUILTINS) for fn in BY_HAND[about])


def wrong_loss_for_task(student, fn) -> bool:
    answer = student.answer("quiz/loss_for_task")
    if not isinstance(answer, dict):
        return False
    multiclass, multilabel = normalise_answer(answer.get("multiclass")), normalise_answer(answer.get("multilabel"))
    return multiclass in {"bce", "bcewithlogits"} or multilabel == "crossentropy"


# --- the model's output: logits for the loss, probabilities at inference --------------------------

def linear_layer(params, n_features):
    """(weight (1, n_features), bias (1,) or None) when the parameters are exactly one such linear
    layer, else None."""
    if not isinstance(params, list) or not all(isinstance(p, torch.Tensor) for p in params):
        return None
    weights = [p for p in params if tuple(p.shape) == (1, n_features)]
    biases = [p for p in params if tuple(p.shape) == (1,)]
    if len(weights) != 1 or len(biases) > 1 or len(params) != len(weights) + len(biases):
        return None
    return weights[0], (biases[0] if biases else None)


def spam_logits(student):
    """The logits the student's spam model should return, computed in the judge from its own
    parameters, and what it returned; None when either cannot be read."""
    case = student.case("spam/0")
    answer = student.answer(case.key)
    n_features, x, _ = case.args
    if not isinstance(answer, dict) or not isinstance(answer.get("out"), torch.Tensor):
        return None
    layer = linear_layer(answer.get("params"), n_features)
    if layer is None:
        return None
    return F.linear(x, *layer), answer["out"]


def sigmoid_in_model(student, fn) -> bool:
    found = spam_logits(student)
    if found is None:
        return False
    logits, out = found
    return matches(out, torch.sigmoid(logits), rtol=1e-5, atol=1e-6) and not matches(out, logits)


def _probabilities_fit(student, signature) -> bool:
    """Every answered predict_proba case equals signature(logits), and not the probabilities."""
    def fits(answer, args):
        logits = F.linear(args[2], args[0], args[1])
        return matches(answer, signature(logits)) and not matches(answer, ref.probabilities(logits))

    return _every_case(student, "predict_proba", fits, group="proba")


def logits_returned(student, fn) -> bool:
    return _probabilities_fit(student, lambda logits: logits)


def softmax_over_batch(student, fn) -> bool:
    return _probabilities_fit(student, lambda logits: logits.softmax(dim=0))


def sigmoid_for_classes(student, fn) -> bool:
    return _probabilities_fit(student, torch.sigmoid)


def log_probabilities(student, fn) -> bool:
    return _probabilities_fit(student, lambda logits: logits.log_softmax(dim=1))


MANUAL = tuple(REFERENCE)
SHORT_05 = "Short 05 — Manual MSE in 3 Lines"
SHORT_11 = "Short 11 — What CrossEntropyLoss Does (Conceptually)"
MISTAKES = [
    Mistake("sum instead of mean", SHORT_05,
            "the result is exactly the number of elements times the expected loss; finish with .mean(), not .sum().",
            MANUAL, sum_instead_of_mean),
    Mistake("an N-vector broadcast against an N×1 column", SHORT_05,
            "on (N, 1) inputs your loss equals the mean over all N × N pairs: an (N,) tensor (after squeeze, view(-1) "
            "or flatten) minus an (N, 1) one broadcasts to an (N, N) table. Keep both shapes as they are, or reshape both alike.",
            MANUAL, broadcast_column),
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
    Mistake("a BCE with logits that overflows at large logits", "Short 08 — BCEWithLogitsLoss (Best Practice)",
            "your loss is right on ordinary logits but inf or nan at large ones: sigmoid(100) rounds to 1.0 in float32, "
            "so log(1 - p) is -inf, and exp(100) overflows. Use the stable form max(x, 0) - x·y + log1p(exp(-|x|)).",
            ("bce_with_logits_manual",), overflow_at_large_logits),
    Mistake("a cross-entropy that overflows at large logits", SHORT_11,
            "your loss is right on ordinary logits but inf or nan at large ones: exp() overflows float32 above about 88, "
            "and the log of a probability that rounded to 0 is -inf. Subtract each row's maximum before exp (or use torch.logsumexp).",
            ("cross_entropy_manual",), overflow_at_large_logits),
    Mistake("a forbidden built-in loss in a manual exercise", SHORT_05,
            "the code calls a torch loss (nn.*Loss or F.*_loss) that this exercise asks you to write yourself.",
            tuple(BY_HAND), forbidden_builtin),
    Mistake("BCE for multi-class or CE for multi-label", "Short 30 — Loss Selection Cheat Sheet",
            "one class out of many is CrossEntropyLoss; several independent yes/no labels is BCEWithLogitsLoss.",
            ("LOSS_FOR_TASK",), wrong_loss_for_task),
    Mistake("a sigmoid kept in the model trained with BCEWithLogitsLoss", "Short 08 — BCEWithLogitsLoss (Best Practice)",
            "the model's output equals sigmoid of its linear layer's output: BCEWithLogitsLoss applies the sigmoid itself, "
            "so the model returns logits (no Sigmoid() at the end; Short 31), or the sigmoid is applied twice.",
            ("make_spam_model",), sigmoid_in_model),
    Mistake("logits returned as probabilities", SHORT_11,
            "predict_proba returned the model's raw logits: they are not probabilities (not in [0, 1], rows not summing to 1). "
            "Apply torch.softmax(logits, dim=1) at inference.",
            ("predict_proba",), logits_returned),
    Mistake("softmax over the batch instead of the classes", SHORT_11,
            "each column, not each row, sums to 1: the softmax ran over dim=0 (the samples). Use dim=1, the classes.",
            ("predict_proba",), softmax_over_batch),
    Mistake("a sigmoid on a multi-class output", "Short 31 — Output Layer Cheat Sheet (What Your Model Should Return)",
            "the values are sigmoid(logits): each lies in [0, 1] but a row does not sum to 1. One class out of many is a softmax over the classes.",
            ("predict_proba",), sigmoid_for_classes),
    Mistake("log-probabilities returned as probabilities", SHORT_11,
            "the values are log_softmax(logits): logs of probabilities, all ≤ 0. Exponentiate them, or use torch.softmax(logits, dim=1).",
            ("predict_proba",), log_probabilities),
]


def value_mistakes(student, fn) -> list:
    """The named mistakes `fn`'s own value tests charge (the by-hand mistake is not one of them)."""
    found = []
    for mistake in MISTAKES:
        try:
            if fn in mistake.about and mistake.recognise(student, fn):
                found.append(mistake)
        except Exception:  # a recogniser that cannot read an odd answer recognises nothing
            pass
    return found
