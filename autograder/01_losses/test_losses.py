"""Hidden graders for 01_losses. Each test is worth the points course.toml gives it.

Inputs come from inputs.py (grading seed from course.toml). Tolerances: float32 losses agree with
torch's own to about 1e-6 relative; rtol=1e-5, atol=1e-6 leaves room for a different but correct
order of operations. float64 cases use rtol=1e-10, atol=1e-12; predict_proba's rows sum to 1 within
atol=1e-5 (a float32 softmax over up to 10 classes). A by-hand point needs both no torch loss and a
loss that works (see computes_by_hand).
"""
import torch
import torch.nn.functional as F

from course.grading import Mismatch, builtins_reached, close, graded, normalise_answer, sibling
from solutions import losses as ref
from solutions.losses import LOSS_BUILTINS

mistakes = sibling(__file__, "mistakes")


def tolerances(expected: torch.Tensor) -> dict:
    return {"rtol": 1e-10, "atol": 1e-12} if expected.dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}


def check_group(student, group, reference):
    for case in student.cases(group):
        expected = reference(*case.args)
        close(case.output(), expected, **tolerances(expected), what=f"{case.call.fn} on {case.label}")


def right_up_to_form(answer, expected: torch.Tensor) -> bool:
    """The right value in any form the value tests already charge: a Python number, another float
    dtype, another shape of as many elements. Float32 tolerances (rtol=1e-5, atol=1e-6) throughout."""
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = torch.tensor(float(answer))
    if not isinstance(answer, torch.Tensor) or not answer.is_floating_point() or answer.numel() != expected.numel():
        return False
    return torch.allclose(answer.double().reshape(expected.shape), expected.double(), rtol=1e-5, atol=1e-6)


def computes_by_hand(student, fn):
    """A by-hand point needs a working loss: the right values on the hidden inputs, or wrong values
    that a named mistake explains, which its value test already charges. A constant, a stub or a
    placeholder earns nothing."""
    group, reference = mistakes.REFERENCE[fn]
    for case in student.cases(group):
        try:
            if right_up_to_form(case.output(), reference(*case.args)):
                continue
            problem = Mismatch(f"`{fn}` does not compute this loss yet ({case.label}): the by-hand point needs "
                               f"the loss itself, written from tensor operations.")
        except Mismatch as no_value:  # not defined, the stub, or an error
            problem = no_value
        if mistakes.value_mistakes(student, fn):
            return  # its value test charges the mistake, and names it
        raise problem


def check_by_hand(student, about):
    for fn in mistakes.BY_HAND[about]:
        reached = builtins_reached(student.cells, fn, LOSS_BUILTINS)
        for what in reached.unchecked:
            student.note(f"{fn}: the by-hand check could not read {what}")
        if not reached.defined and "value" in student.case(f"{mistakes.REFERENCE[fn][0]}/0").outcome:
            student.note(f"{fn}: answered, but defined by no cell the by-hand check can read")
        if reached.used:
            raise Mismatch(f"`{fn}` uses {', '.join(sorted(reached.used))}: write this loss from tensor operations.")
        computes_by_hand(student, fn)


@graded("mse_manual equals nn.MSELoss (mean of squared errors) on hidden inputs of several shapes, (N, 1) included, and dtypes.", about="mse_manual")
def test_mse_matches_reference(student):
    check_group(student, "mse", ref.mse)


@graded("mae_manual equals nn.L1Loss (mean of absolute errors) on hidden inputs of several shapes, (N, 1) included, and dtypes.", about="mae_manual")
def test_mae_matches_reference(student):
    check_group(student, "mae", ref.mae)


@graded("mse_manual and mae_manual compute their losses by hand: without nn.MSELoss, nn.L1Loss, F.mse_loss or F.l1_loss.",
        about="by hand: mse_manual, mae_manual")
def test_mse_mae_no_builtin(student):
    check_by_hand(student, "by hand: mse_manual, mae_manual")


@graded("bce_manual equals nn.BCELoss on hidden probabilities and 0/1 targets of several shapes.", about="bce_manual")
def test_bce_matches_reference(student):
    check_group(student, "bce", ref.bce)


@graded("bce_manual stays finite for probabilities of exactly 0 and 1, clamping each log term at -100 as nn.BCELoss does.", about="bce_manual")
def test_bce_finite_at_0_and_1(student):
    check_group(student, "bce_edge", ref.bce)


@graded("bce_with_logits_manual equals nn.BCEWithLogitsLoss on hidden logits of several shapes.", about="bce_with_logits_manual")
def test_bce_with_logits_matches_reference(student):
    check_group(student, "bcel", ref.bce_with_logits)


@graded("bce_with_logits_manual is numerically stable: logits of magnitude 100 give the right finite loss.", about="bce_with_logits_manual")
def test_bce_with_logits_stable_for_large_logits(student):
    check_group(student, "bcel_large", ref.bce_with_logits)


@graded("bce_manual and bce_with_logits_manual compute their losses by hand: without nn.BCELoss, nn.BCEWithLogitsLoss "
        "or their F.* forms.", about="by hand: bce_manual, bce_with_logits_manual")
def test_bce_no_builtin(student):
    check_by_hand(student, "by hand: bce_manual, bce_with_logits_manual")


@graded("cross_entropy_manual equals nn.CrossEntropyLoss for logits (N, C) and class-index targets (N,).", about="cross_entropy_manual")
def test_cross_entropy_matches_reference(student):
    check_group(student, "ce", ref.cross_entropy)


@graded("cross_entropy_manual is numerically stable: logits of magnitude 1000 give the right finite loss.", about="cross_entropy_manual")
def test_cross_entropy_stable_for_large_logits(student):
    check_group(student, "ce_large", ref.cross_entropy)


@graded("cross_entropy_manual computes the loss by hand: without F.cross_entropy, F.nll_loss or nn.CrossEntropyLoss.",
        about="by hand: cross_entropy_manual")
def test_cross_entropy_no_builtin(student):
    check_by_hand(student, "by hand: cross_entropy_manual")


def input_kind(answer) -> str:
    """'probs', 'probability' and 'Probabilities' are one answer; so are 'logit' and 'raw logits'."""
    text = normalise_answer(answer)
    return "probabilities" if "prob" in text else "logits" if "logit" in text else text


def _quiz(student, key, expected_keys):
    answer = student.case(key).output()
    if not isinstance(answer, dict):
        raise Mismatch(f"{student.case(key).label} should be a dict, got {type(answer).__name__}.")
    missing = [k for k in expected_keys if k not in answer]
    if missing:
        raise Mismatch(f"{student.case(key).label} has no answer for {', '.join(map(repr, missing))}.")
    return answer


@graded("LOSS_FOR_TASK names the right loss for regression, binary, multi-class and multi-label tasks on logits.", about="LOSS_FOR_TASK")
def test_quiz_loss_for_task(student):
    answer = _quiz(student, "quiz/loss_for_task", ref.LOSS_FOR_TASK)
    wrong = [task for task, accepted in ref.LOSS_FOR_TASK.items()
             if normalise_answer(answer[task]) not in {normalise_answer(a) for a in accepted}]
    if wrong:
        raise Mismatch(f"Not the loss for: {', '.join(wrong)}. Check the cheat sheet (Short 30) and what your model outputs (Short 31).")


@graded("LOSS_INPUT says what BCELoss, BCEWithLogitsLoss and CrossEntropyLoss expect as input: probabilities or logits.", about="LOSS_INPUT")
def test_quiz_loss_input(student):
    answer = _quiz(student, "quiz/loss_input", ref.LOSS_INPUT)
    wrong = [loss for loss, expected in ref.LOSS_INPUT.items() if input_kind(answer[loss]) != expected]
    if wrong:
        raise Mismatch(f"Not what {', '.join(wrong)} expects. Each answer is 'probabilities' or 'logits'.")


# --- logits for the loss, probabilities at inference ----------------------------------------------

@graded("make_spam_model returns what nn.BCEWithLogitsLoss expects: logits of shape (N, 1), its linear layer's "
        "own output with no sigmoid after it.", about="make_spam_model")
def test_spam_model_returns_logits(student):
    case = student.case("spam/0")
    answer = case.output()
    n_features, x, _ = case.args
    if not isinstance(answer, dict) or not isinstance(answer.get("out"), torch.Tensor):
        raise Mismatch("make_spam_model(n_features) should return an nn.Module whose output is a tensor.")
    layer = mistakes.linear_layer(answer.get("params"), n_features)
    if layer is None:
        count = len(answer.get("params") or [])
        raise Mismatch(f"make_spam_model(n_features) should hold one nn.Linear(n_features, 1) and no other parameters "
                       f"(it holds {count} parameter tensor{'s' if count != 1 else ''}, not a weight (1, n_features) and a bias (1,)).")
    logits = F.linear(x, *layer)  # (N, 1)
    out = answer["out"]
    if isinstance(out, torch.Tensor) and out.shape == logits.shape and ((out > 0) & (out < 1)).all() and not ((logits > 0) & (logits < 1)).all():
        raise Mismatch(f"On {case.label}, every output lies in (0, 1), where the linear layer's logits do not: "
                       "the model's output is not the logits.")
    close(out, logits, rtol=1e-5, atol=1e-6, what=f"the model's output on {case.label}")


@graded("predict_proba turns a classifier's logits (N, C) into class probabilities: each in [0, 1], each row "
        "summing to 1, equal to the softmax over the classes.", about="predict_proba")
def test_predict_proba_returns_probabilities(student):
    for case in student.cases("proba"):
        weight, bias, x = case.args
        expected = ref.probabilities(F.linear(x, weight, bias))  # (N, C)
        actual = case.output()
        if isinstance(actual, torch.Tensor) and actual.shape == expected.shape and torch.isfinite(actual).all():
            if ((actual < 0) | (actual > 1)).any():
                raise Mismatch(f"predict_proba on {case.label}: some values lie outside [0, 1], so they are not probabilities.")
            if not torch.allclose(actual.double().sum(dim=1), torch.ones(len(actual), dtype=torch.float64), rtol=0, atol=1e-5):
                raise Mismatch(f"predict_proba on {case.label}: the rows do not sum to 1, so they are not one probability per class.")
        close(actual, expected, rtol=1e-5, atol=1e-6, what=f"predict_proba on {case.label}")
