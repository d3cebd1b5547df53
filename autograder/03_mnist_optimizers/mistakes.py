"""The lesson's common mistakes for 03_mnist_optimizers, each recognised from what the harness saw
while the student's code ran: compute_loss's values, loss histories, gradients at each step, scheduler
steps, the model's mode and autograd at each forward, what run_experiment gave train, the configs, the
weight decay each kind of parameter got, and the lrs current_lrs returned. Each is named on the
function that makes it. The table at the bottom is the whole list.
"""
import math

import torch.nn.functional as F

from course.grading import Mistake, matches, sibling

budget = sibling(__file__, "budget")
inputs = sibling(__file__, "inputs")

# Cross-entropy of probabilities (softmax already applied) is at least -1 + log(e + 9) for 10 classes,
# reached only by a one-hot "logit" vector on the right class; real logits go far below it.
CE_OF_PROBABILITIES_FLOOR = math.log(math.e + 9) - 1  # 1.4612
# A loop that learns brings its loss down from about ln(10) = 2.30 by more than this: with softmax before the
# loss, by 0.74-0.82 on the grading budget (seed 3517); a loop that does not learn, by less. Read from the loss
# history only, so a kernel's own accuracy figure never names a mistake.
LEARNED = 0.3


def _seen(student, key) -> dict:
    seen = student.answer(key)
    return seen if isinstance(seen, dict) else {}


def _loss_answer(student, key, expected) -> bool:
    """compute_loss's answer to the grader's call `key` matches `expected`(logits, y), computed in float64."""
    logits, y = student.case(key).args
    return matches(student.answer(key), expected(logits.double(), y).float(), rtol=1e-5, atol=1e-6)


def softmax_before_cross_entropy(student, about) -> bool:
    if about == "compute_loss":
        return _loss_answer(student, "loss/ce", lambda logits, y: F.cross_entropy(logits.softmax(dim=1), y))
    for config in ("sgd_momentum", "adam_exponential", "adam"):
        seen = _seen(student, f"budget/{config}")
        losses = seen.get("losses") or []
        # It learned (so the loss is computed), yet never went below the floor of CE on probabilities. The
        # budget runs use the grader's compute_loss, so this is a softmax inside train() itself.
        if losses and losses[0] - min(losses) > LEARNED and min(losses) > CE_OF_PROBABILITIES_FLOOR - 1e-3:
            return True
    return False


def softmax_in_model(student, about) -> bool:
    layers = _seen(student, "model/0").get("layers") or [[""]]
    return any(layer[0] in ("Softmax", "LogSoftmax") for layer in layers)


def mse_on_logits(student, about) -> bool:
    return _loss_answer(student, "loss/mse",
                        lambda logits, y: F.mse_loss(logits, F.one_hot(y, num_classes=logits.shape[1]).double()))


def no_zero_grad(student, about) -> bool:
    seen = _seen(student, "train/plain")
    # From the second step on, .grad held the sum of every gradient so far.
    return seen.get("steps", 0) >= 2 and seen["piled"] == seen["steps"] - 1


def model_left_in_eval_mode(student, about) -> bool:
    return _seen(student, "train/plain").get("forwards_in_eval", 0) > 0


def clip_after_step(student, about) -> bool:
    seen = _seen(student, "train/clipped")
    limit = inputs.MAX_GRAD_NORM * 1.0001
    return (bool(seen.get("norms")) and min(seen["norms"]) > limit
            and seen.get("final_norm") is not None and seen["final_norm"] <= limit)


def clipped_unasked(student, about) -> bool:
    return _seen(student, "train/plain").get("clipped", 0) > 0


def scheduler_per_batch(student, about) -> bool:
    seen = _seen(student, "train/plain")
    return seen.get("steps", 0) > budget.TINY["epochs"] and seen["scheduler_steps"] == seen["steps"]


def evaluate_in_train_mode(student, about) -> bool:
    return _seen(student, "evaluate/0").get("forwards_in_train", 0) > 0


def evaluate_with_grad(student, about) -> bool:
    return _seen(student, "evaluate/0").get("forwards_with_grad", 0) > 0


def model_not_reset(student, about) -> bool:
    calls = _seen(student, "experiment/plain").get("calls") or []
    return len({call["model"] for call in calls}) < len(calls)


def different_initial_weights(student, about) -> bool:
    calls = _seen(student, "experiment/plain").get("calls") or []
    return len({call["model"] for call in calls}) == len(calls) and not all(call["same_weights"] for call in calls)


def adam_with_sgd_learning_rate(student, about) -> bool:
    configs = _seen(student, "configs/0").get("OPTIMIZERS", {})
    return any(c["optimizer"] in ("Adam", "AdamW") and c["lr"] >= 1e-2 for c in configs.values())


def decay_on_biases_or_norms(student, about) -> bool:
    found = _seen(student, "decay/0").get("found") or []
    return any(kind in ("bias", "norm") and decay != 0 for kind, decay in found)


def first_group_lr_only(student, about) -> bool:
    seen = _seen(student, "lrs/0")
    first = inputs.GROUP_LRS[0] * inputs.GROUP_FACTORS[0] ** inputs.SCHEDULER_STEPS
    return len(seen.get("lrs") or []) == 1 and math.isclose(seen["lrs"][0], first, rel_tol=1e-9)


SHORT_10 = "Short 10 — No Softmax Before CrossEntropyLoss"
SHORT_28 = "Short 28 — The “Golden” Training Loop (Production Template)"

MISTAKES = [
    Mistake("softmax before CrossEntropyLoss", SHORT_10,
            "CrossEntropyLoss applies log-softmax itself: given probabilities, it softmaxes twice and its gradients "
            "shrink, so give it the raw logits.",
            ("compute_loss", "train"), softmax_before_cross_entropy),
    Mistake("softmax baked into the model", "Short 31 — Output Layer Cheat Sheet (What Your Model Should Return)",
            "the model should return raw logits: CrossEntropyLoss applies log-softmax itself, and softmax is only "
            "for looking at probabilities.",
            ("make_model",), softmax_in_model),
    Mistake("MSE on raw logits", "Short 32 — Day 5 Summary: If Training Is Bad, Check These 3",
            "the one-hot targets are probabilities, so the MSE compares them with softmax(logits), not with the raw "
            "logits: the model's output must match what the loss expects.",
            ("compute_loss",), mse_on_logits),
    Mistake("no zero_grad", "Short 13 — Gradient Descent Toy Example: Minimize (x-3)^2",
            "at every step .grad held the sum of all gradients so far: backward() adds into .grad, so call "
            "optimizer.zero_grad() every step.",
            ("train",), no_zero_grad),
    Mistake("model left in eval mode while training", SHORT_28,
            "train() ran with dropout off because the model arrived in eval mode: call model.train() at the start.",
            ("train",), model_left_in_eval_mode),
    Mistake("gradients clipped after the step", "Short 27 — Gradient Clipping: Prevent Exploding Gradients",
            "the gradients were clipped, but only after optimizer.step() had used them: clip between backward() and step().",
            ("train",), clip_after_step),
    Mistake("gradients clipped when no clipping was asked for", "Short 27 — Gradient Clipping: Prevent Exploding Gradients",
            "the template's clip_grad_norm_ line is optional: it belongs in train() only when max_grad_norm is given.",
            ("train",), clipped_unasked),
    Mistake("scheduler stepped per batch", "Short 23 — StepLR (Drop LR Every N Epochs)",
            "scheduler.step() ran once per batch, but these schedules count epochs: step it once at the end of each epoch.",
            ("train",), scheduler_per_batch),
    Mistake("evaluation left in train mode", SHORT_28,
            "evaluate() ran the model with dropout on, so its accuracy is noisy and too low: call model.eval() first.",
            ("evaluate",), evaluate_in_train_mode),
    Mistake("evaluation with gradients on", SHORT_28,
            "evaluate() built an autograd graph it never uses, costing memory and time: run the model under torch.no_grad().",
            ("evaluate",), evaluate_with_grad),
    Mistake("model not reset between configs", "Short 29 — Compare Optimizers (The Right Way)",
            "a later config trained the model object an earlier one had trained: give every config a fresh model "
            "loaded with the same initial weights.",
            ("run_experiment",), model_not_reset),
    Mistake("configs compared from different initial weights", "Short 21 — Quick LR Comparison Loop",
            "each config got a new model with new random weights: seed once, save the initial state_dict(), and "
            "load it into every config's model.",
            ("run_experiment",), different_initial_weights),
    Mistake("Adam given an SGD-sized learning rate", "Short 16 — Adam: The Default “Good Enough” Optimizer",
            "Adam adapts its step size per parameter, and each step is about lr in size: an lr of 0.01 or more, "
            "fine for SGD, makes Adam unstable. Its usual lr is 1e-3.",
            ("OPTIMIZERS",), adam_with_sgd_learning_rate),
    Mistake("weight decay on biases and norm layers", "Short 19 — Weight Decay Is Not “Just Another LR”",
            "weight decay pulls parameters toward zero; biases and LayerNorm/BatchNorm scales are not weights to "
            "shrink, so most setups put them in a group with weight_decay 0.",
            ("decay_param_groups",), decay_on_biases_or_norms),
    Mistake("only the first param group's lr logged", "Short 26 — How to Print the Current LR",
            "optimizer.param_groups[0][\"lr\"] is one group's lr; with several param groups, each has its own: "
            "read every group's.",
            ("current_lrs",), first_group_lr_only),
]
