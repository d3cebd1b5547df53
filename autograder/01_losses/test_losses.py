"""Hidden graders for 01_losses. Each test is worth the points course.toml gives it.

Inputs come from inputs.py (grading seed from course.toml). Tolerances: float32 losses agree with
torch's own to about 1e-6 relative; rtol=1e-5, atol=1e-6 leaves room for a different but correct
order of operations. float64 cases use rtol=1e-10, atol=1e-12.
"""
import torch

from course.grading import Mismatch, builtins_used, close, graded, normalise_answer
from solutions import losses as ref
from solutions.losses import LOSS_BUILTINS


def tolerances(expected: torch.Tensor) -> dict:
    return {"rtol": 1e-10, "atol": 1e-12} if expected.dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}


def check_group(student, group, reference):
    for case in student.cases(group):
        expected = reference(*case.args)
        close(case.output(), expected, **tolerances(expected), what=f"{case.call.fn} on {case.label}")


def check_no_builtin(student, functions, groups):
    for fn, group in zip(functions, groups):
        # Credit needs an attempt: defined, not the stub, returning something or failing on its own.
        case = student.case(f"{group}/0")
        if "error" not in case.outcome or case.outcome["error"].startswith("NotImplementedError"):
            answer = case.output()
            if not isinstance(answer, torch.Tensor):
                raise Mismatch(f"`{fn}` should return a tensor, got {type(answer).__name__}.")
        used = builtins_used(student.cells, fn, LOSS_BUILTINS)
        if used:
            raise Mismatch(f"`{fn}` uses {', '.join(sorted(used))}: write this loss from tensor operations.")


@graded("mse_manual equals nn.MSELoss (mean of squared errors) on hidden inputs of several shapes and dtypes.", about="mse_manual")
def test_mse_matches_reference(student):
    check_group(student, "mse", ref.mse)


@graded("mae_manual equals nn.L1Loss (mean of absolute errors) on hidden inputs of several shapes and dtypes.", about="mae_manual")
def test_mae_matches_reference(student):
    check_group(student, "mae", ref.mae)


@graded("mse_manual and mae_manual are implemented without nn.MSELoss, nn.L1Loss, F.mse_loss or F.l1_loss.", about="mse_manual")
def test_mse_mae_no_builtin(student):
    check_no_builtin(student, ["mse_manual", "mae_manual"], ["mse", "mae"])


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


@graded("bce_manual and bce_with_logits_manual are implemented without nn.BCELoss, nn.BCEWithLogitsLoss or their F.* forms.", about="bce_manual")
def test_bce_no_builtin(student):
    check_no_builtin(student, ["bce_manual", "bce_with_logits_manual"], ["bce", "bcel"])


@graded("cross_entropy_manual equals nn.CrossEntropyLoss for logits (N, C) and class-index targets (N,).", about="cross_entropy_manual")
def test_cross_entropy_matches_reference(student):
    check_group(student, "ce", ref.cross_entropy)


@graded("cross_entropy_manual is numerically stable: logits of magnitude 1000 give the right finite loss.", about="cross_entropy_manual")
def test_cross_entropy_stable_for_large_logits(student):
    check_group(student, "ce_large", ref.cross_entropy)


@graded("cross_entropy_manual is implemented without F.cross_entropy, F.nll_loss or nn.CrossEntropyLoss.", about="cross_entropy_manual")
def test_cross_entropy_no_builtin(student):
    check_no_builtin(student, ["cross_entropy_manual"], ["ce"])


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
