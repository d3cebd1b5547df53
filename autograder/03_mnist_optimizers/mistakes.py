"""The lesson's common mistakes for 03_mnist_optimizers, each recognised from what the harness saw
while the student's code ran: loss histories, gradients at each step, scheduler steps, the model's
mode and autograd at each forward, the model objects run_experiment trained, and the configs.
The table at the bottom is the whole list.
"""
import math

from course.grading import Mistake, sibling

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


def softmax_before_cross_entropy(student, about) -> bool:
    if about == "make_model":
        layers = _seen(student, "model/0").get("layers") or [[""]]
        return layers[-1][0] == "Softmax"
    for config in ("sgd_momentum", "adam_exponential", "adam"):
        seen = _seen(student, f"budget/{config}")
        losses = seen.get("losses") or []
        # It learned (so the loss is computed), yet never went below the floor of CE on probabilities.
        if losses and losses[0] - min(losses) > LEARNED and min(losses) > CE_OF_PROBABILITIES_FLOOR - 1e-3:
            return True
    return False


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


def scheduler_per_batch(student, about) -> bool:
    seen = _seen(student, "train/plain")
    return seen.get("steps", 0) > budget.TINY["epochs"] and seen["scheduler_steps"] == seen["steps"]


def evaluate_in_train_mode(student, about) -> bool:
    return _seen(student, "evaluate/0").get("forwards_in_train", 0) > 0


def evaluate_with_grad(student, about) -> bool:
    return _seen(student, "evaluate/0").get("forwards_with_grad", 0) > 0


def model_not_reset(student, about) -> bool:
    seen = _seen(student, "experiment/fair")
    if seen.get("train_calls"):
        return seen["distinct_models"] < seen["train_calls"]
    # run_experiment trained without calling train(): a reused model starts a later config lower.
    first = [r["first_loss"] for r in seen.get("results", {}).values() if r["first_loss"] is not None]
    return len(first) > 1 and min(first[1:]) < 0.9 * first[0]


def different_initial_weights(student, about) -> bool:
    seen = _seen(student, "experiment/fair")
    sums = seen.get("initial_weight_sums", [])
    return (bool(sums) and seen["distinct_models"] == seen["train_calls"]
            and any(not math.isclose(s, sums[0], rel_tol=1e-9, abs_tol=1e-9) for s in sums))


def adam_with_sgd_learning_rate(student, about) -> bool:
    configs = _seen(student, "configs/0").get("OPTIMIZERS", {})
    return any(c["optimizer"] in ("Adam", "AdamW") and c["lr"] >= 1e-2 for c in configs.values())


MISTAKES = [
    Mistake("softmax before CrossEntropyLoss", "Short 10 — No Softmax Before CrossEntropyLoss",
            f"your losses never went below {CE_OF_PROBABILITIES_FLOOR:.3f}, the least cross-entropy can be when it is "
            "given probabilities: CrossEntropyLoss applies log-softmax itself, so give it the raw logits.",
            ("train", "make_model"), softmax_before_cross_entropy),
    Mistake("no zero_grad", "Short 13 — Gradient Descent Toy Example: Minimize (x-3)^2",
            "at every step .grad held the sum of all gradients so far: backward() adds into .grad, so call "
            "optimizer.zero_grad() every step.",
            ("train",), no_zero_grad),
    Mistake("model left in eval mode while training", "Short 28 — The “Golden” Training Loop (Production Template)",
            "train() ran with dropout off because the model arrived in eval mode: call model.train() at the start.",
            ("train",), model_left_in_eval_mode),
    Mistake("gradients clipped after the step", "Short 27 — Gradient Clipping: Prevent Exploding Gradients",
            "the gradients were clipped, but only after optimizer.step() had used them: clip between backward() and step().",
            ("train",), clip_after_step),
    Mistake("scheduler stepped per batch", "Short 23 — StepLR (Drop LR Every N Epochs)",
            "scheduler.step() ran once per batch, but these schedules count epochs: step it once at the end of each epoch.",
            ("train",), scheduler_per_batch),
    Mistake("evaluation left in train mode", "Short 28 — The “Golden” Training Loop (Production Template)",
            "evaluate() ran the model with dropout on, so its accuracy is noisy and too low: call model.eval() first.",
            ("evaluate",), evaluate_in_train_mode),
    Mistake("evaluation with gradients on", "Short 28 — The “Golden” Training Loop (Production Template)",
            "evaluate() built an autograd graph it never uses, costing memory and time: run the model under torch.no_grad().",
            ("evaluate",), evaluate_with_grad),
    Mistake("model not reset between configs", "Short 29 — Compare Optimizers (The Right Way)",
            "a later config started from the model an earlier one had trained: give every config a fresh model "
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
]
