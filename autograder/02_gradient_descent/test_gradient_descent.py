"""Hidden graders for 02_gradient_descent. Each test is worth the points course.toml gives it.

Inputs come from inputs.py (grading seed from course.toml). The oracles are the closed form of
gradient descent on (x - 3)^2, torch.optim's own optimizers and schedulers, and
torch.nn.utils.clip_grad_norm_. Tolerances: a float32 trajectory agrees with the float64 closed
form to about 1e-6; optimizer runs feed the student's own parameters back in for 50 steps, so
float32 rounding in a different but correct order of operations may grow to about 1e-6 relative;
learning rates are float64 and agree to rounding.
"""

import torch

from course.grading import Mismatch, builtins_used, close, graded, matches, sibling
from solutions import gradient_descent as ref
from solutions.gradient_descent import OPTIMIZER_BUILTINS




inputs = sibling(__file__, "inputs")

# float32 values from a different but correct order of operations (see the module docstring).
TRAJECTORY = {"rtol": 1e-5, "atol": 1e-5}
OPTIMIZER = {"rtol": 1e-5, "atol": 1e-6}
LRS = {"rtol": 1e-9, "atol": 1e-12}  # float64 learning rates: only rounding may differ
# clip: the tiny case has grads near 1e-7, so atol must sit far below them.
CLIP = {"rtol": 1e-5, "atol": 1e-12}


# --- reading answers ---------------------------------------------------------------------------

def output(case, fn: str):
    """The student's answer; for a harness call, failures are told in terms of the student's `fn`."""
    error = case.outcome.get("error", "")
    if case.call.harness and error:
        if error.startswith("NotImplementedError"):
            raise Mismatch(f"`{fn}` is not implemented yet (it raises NotImplementedError).")
        if error == f"KeyError: '{fn}'":
            raise Mismatch(f"`{fn}` is not defined: keep the cell that defines it, and make sure it runs without error.")
        raise Mismatch(f"`{fn}` raised {error} ({case.label}).")
    return case.output()


def as_scalar(value, what: str, dtype=torch.float32) -> torch.Tensor:
    """A returned number or one-element tensor, as a 0-d tensor of `dtype`."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.detach().reshape(()).to(dtype)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(value, dtype=dtype)
    raise Mismatch(f"{what}: expected a number, got {type(value).__name__}.")


def as_curve(values, length: int, what: str) -> torch.Tensor:
    """A returned list of `length` numbers, as a float64 tensor."""
    if not isinstance(values, (list, tuple)) or len(values) != length:
        got = f"{len(values)} values" if isinstance(values, (list, tuple)) else type(values).__name__
        raise Mismatch(f"{what}: expected a list of {length} numbers, got {got}.")
    return torch.stack([as_scalar(v, what, torch.float64) for v in values])


def parameters(value, count: int, what: str) -> list:
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise Mismatch(f"{what}: expected {count} parameters.")
    return list(value)


# --- gradient descent on (x - 3)^2 ---------------------------------------------------------------

def closed_form(x0: float, lr: float, steps: int) -> torch.Tensor:
    """x_k = 3 - (3 - x0)(1 - 2 lr)^k for k = 1..steps, in float64, returned as float32."""
    k = torch.arange(1, steps + 1, dtype=torch.float64)
    return (3 - (3 - x0) * (1 - 2 * lr) ** k).float()


def check_trajectories(student, group: str, fn: str):
    for case in student.cases(group):
        close(case.output(), closed_form(*case.args), **TRAJECTORY, what=f"{fn} with {case.label}")


@graded("gd_trajectory (autograd, then x -= lr * x.grad under torch.no_grad(), then zero the grad) "
        "follows 3 - (3 - x0)(1 - 2 lr)^k for hidden x0, lr and numbers of steps.", about="gd_trajectory")
def test_gd_trajectory_matches_closed_form(student):
    check_trajectories(student, "gd", "gd_trajectory")


@graded("sgd_trajectory (torch.optim.SGD: zero_grad, backward, step) follows the same closed form "
        "for hidden x0, lr and numbers of steps.", about="sgd_trajectory")
def test_sgd_trajectory_matches_closed_form(student):
    check_trajectories(student, "sgd", "sgd_trajectory")


# --- optimizers by hand ------------------------------------------------------------------------

def torch_run(params, A, B, steps, hp) -> list:
    """torch.optim on the harness's problem: every parameter after every step, [step][param]."""
    hp = dict(hp)
    if "momentum" in hp:
        cls = torch.optim.SGD
    elif "alpha" in hp:
        cls = torch.optim.RMSprop
    else:
        cls = torch.optim.AdamW if hp.pop("decoupled") else torch.optim.Adam
    theirs = [p.clone().requires_grad_() for p in params]
    optimizer = cls(theirs, **hp)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        sum(((p @ a - b) ** 2).sum() for p, a, b in zip(theirs, A, B)).backward()
        optimizer.step()
        history.append([p.detach().clone() for p in theirs])
    return history


def torch_first_step(p, grad, hp) -> torch.Tensor:
    """One torch Adam/AdamW step from a fresh state with the given gradient."""
    hp = dict(hp)
    cls = torch.optim.AdamW if hp.pop("decoupled") else torch.optim.Adam
    leaf = p.clone().requires_grad_()
    leaf.grad = grad.clone()
    cls([leaf], **hp).step()
    return leaf.detach()


def check_optimizer_run(student, key: str, fn: str, name: str):
    case = student.case(f"{key}/0")
    history = output(case, fn)
    fn_name, params, A, B, steps, hp = case.args
    expected = torch_run(params, A, B, steps, hp)
    if not isinstance(history, list) or len(history) != len(expected):
        raise Mismatch(f"{fn} could not be run for {steps} steps ({case.label}).")
    for k, (mine, theirs) in enumerate(zip(history, expected), start=1):
        for i, (a, e) in enumerate(zip(parameters(mine, len(theirs), fn), theirs)):
            close(a, e, **OPTIMIZER, what=f"{fn} vs {name}: parameter {i} (shape {tuple(e.shape)}) after step {k}")


def check_first_step(student, key: str, name: str):
    case = student.case(f"{key}/0")
    answer = case.output()
    if not isinstance(answer, tuple) or len(answer) != 2:
        raise Mismatch("adam_step should return a pair (new_p, new_state).")
    p, grad, _ = case.args
    close(answer[0], torch_first_step(p, grad, case.call.kwargs), **OPTIMIZER, what=f"adam_step vs {name}, {case.label}")


@graded("momentum_step matches torch.optim.SGD(momentum=...) parameter for parameter over 50 steps "
        "on a hidden problem with hidden lr and momentum.", about="momentum_step")
def test_momentum_step_matches_torch_sgd(student):
    check_optimizer_run(student, "momentum", "momentum_step", "torch.optim.SGD(momentum=...)")


@graded("adam_step (decoupled=False) matches torch.optim.Adam, L2 weight decay included, on its first "
        "step and over 50 steps with hidden lr, betas and weight decay.", about="adam_step")
def test_adam_step_matches_torch_adam(student):
    check_first_step(student, "adam_first", "torch.optim.Adam")
    check_optimizer_run(student, "adam", "adam_step", "torch.optim.Adam")


@graded("adam_step (decoupled=True) matches torch.optim.AdamW, decoupled weight decay included, on "
        "its first step and over 50 steps with hidden lr, betas and weight decay.", about="adam_step")
def test_adam_step_matches_torch_adamw(student):
    check_first_step(student, "adamw_decay", "torch.optim.AdamW")
    check_optimizer_run(student, "adamw", "adam_step", "torch.optim.AdamW")


@graded("rmsprop_step matches torch.optim.RMSprop(alpha=...) parameter for parameter over 50 steps "
        "with hidden lr and alpha.", about="rmsprop_step")
def test_rmsprop_step_matches_torch(student):
    check_optimizer_run(student, "rmsprop", "rmsprop_step", "torch.optim.RMSprop")


# The by-hand exercises and a call that shows each was attempted.
BY_HAND = {"gd_trajectory": "gd/0", "momentum_step": "momentum/0", "adam_step": "adam_first/0",
           "rmsprop_step": "rmsprop/0", "cosine_lr": "cosine/0", "clip_grad_norm_manual": "clip/0"}


@graded("gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr and clip_grad_norm_manual "
        "are written by hand: no torch.optim optimizer or scheduler, no clip_grad_norm_.", about="by_hand")
def test_manual_updates_no_builtin(student):
    for fn, key in BY_HAND.items():
        # Credit needs an attempt: defined, not the stub, returning something or failing on its own.
        case = student.case(key)
        error = case.outcome.get("error", "")
        if error.startswith("NotImplementedError") or "missing" in case.outcome or error == f"KeyError: '{fn}'":
            output(case, fn)
        used = builtins_used(student.cells, fn, OPTIMIZER_BUILTINS)
        if used:
            raise Mismatch(f"`{fn}` uses {', '.join(sorted(used))}: this exercise asks you to write it yourself from tensor operations.")


# --- learning rates ------------------------------------------------------------------------------

def sweep(student):
    case = student.case("sweep/0")
    answer = case.output()
    lrs, epochs, _ = case.args
    if not isinstance(answer, dict) or set(answer) != set(lrs):
        raise Mismatch(f"lr_sweep should return a dict with one entry per learning rate ({case.label}).")
    return case, {lr: as_curve(answer[lr], epochs, f"lr_sweep: the losses for lr={lr}") for lr in lrs}


@graded("lr_sweep is a fair comparison: on a hidden seed every learning rate starts from the same "
        "epoch-0 loss (a fresh model with the same initial weights for every lr).", about="lr_sweep")
def test_lr_sweep_is_fair(student):
    _, curves = sweep(student)
    first = torch.stack([curve[0] for curve in curves.values()])
    if not torch.allclose(first, first[0].expand_as(first), rtol=1e-6, atol=0.0):  # one model, one loss
        raise Mismatch(f"The epoch-0 losses differ between learning rates (from {first.min():.6g} to "
                       f"{first.max():.6g}): the runs did not start from the same model.")


@graded("lr_sweep's loss history equals the reference's for every learning rate on a hidden seed and "
        "number of epochs, lr = 1.0 diverging included.", about="lr_sweep")
def test_lr_sweep_matches_reference(student):
    case, curves = sweep(student)
    expected = ref.lr_sweep(*case.args)
    for lr, curve in curves.items():
        # float32 training; a diverging curve reaches ~1e6, so the tolerance is relative.
        close(curve, torch.tensor(expected[lr], dtype=torch.float64), rtol=1e-4, atol=1e-6,
              what=f"lr_sweep: the losses for lr={lr}")


@graded("lr_schedule gives the learning rate in effect at each epoch under StepLR, ExponentialLR and "
        "CosineAnnealingLR with hidden settings.", about="lr_schedule")
def test_lr_schedule_matches_torch(student):
    for case in student.cases("schedule"):
        kind, base_lr, epochs = case.args
        expected = torch.tensor(ref.lr_schedule(kind, base_lr, epochs, **case.call.kwargs), dtype=torch.float64)
        close(as_curve(case.output(), epochs, f"lr_schedule({case.label})"), expected, **LRS,
              what=f"lr_schedule({case.label}), lr per epoch")


@graded("cosine_lr, written from the formula, equals CosineAnnealingLR at every epoch of hidden cycles.",
        about="cosine_lr")
def test_cosine_lr_matches_scheduler(student):
    for case in student.cases("cosine"):
        base_lr, T_max, eta_min = case.args
        expected = torch.tensor(ref.lr_schedule("cosine", base_lr, T_max + 1, T_max=T_max, eta_min=eta_min),
                                dtype=torch.float64)
        close(as_curve(output(case, "cosine_lr"), T_max + 1, "cosine_lr"), expected, **LRS,
              what=f"cosine_lr over {case.label}")


# --- gradient clipping and the training step -----------------------------------------------------

def check_grads(actual, expected, what):
    for i, (a, e) in enumerate(zip(parameters(actual, len(expected), what), expected)):
        if e is None or a is None:
            if a is not e:
                raise Mismatch(f"{what}: parameter {i} should have .grad " + ("None." if e is None else "set."))
            continue
        close(a, e, **CLIP, what=f"{what}: .grad of parameter {i} (shape {tuple(e.shape)})")


@graded("clip_grad_norm_manual returns the total 2-norm and scales the gradients in place exactly as "
        "torch.nn.utils.clip_grad_norm_, for gradients above, below and far below max_norm.",
        about="clip_grad_norm_manual")
def test_clip_grad_norm_manual_matches_torch(student):
    for case in student.cases("clip"):
        answer = output(case, "clip_grad_norm_manual")
        expected = inputs.clip_run({"clip_grad_norm_manual": torch.nn.utils.clip_grad_norm_}, *case.args)
        close(as_scalar(answer["norm"], "clip_grad_norm_manual's return value"), expected["norm"], **CLIP,
              what=f"clip_grad_norm_manual's returned total norm, {case.label}")
        unclipped = inputs.clip_run({"clip_grad_norm_manual": lambda ps, max_norm: None}, *case.args)["grads"]
        try:
            check_grads(answer["grads"], expected["grads"], f"clip_grad_norm_manual, {case.label}")
        except Mismatch:
            clipping = bool(expected["norm"] > case.args[-1])  # args end with max_norm
            if clipping and all(a is None if u is None else matches(a, u) for a, u in zip(answer["grads"], unclipped)):
                raise Mismatch(f"clip_grad_norm_manual, {case.label}: the total norm is right but no gradient "
                               "was scaled. `parameters` can be a generator (model.parameters()), which a "
                               "second loop finds empty: make a list of it first.") from None
            raise


def check_training(student, key: str):
    case = student.case(key)
    record = output(case, "train_step")
    expected = inputs.train_run({"train_step": ref.train_step}, *case.args)
    for n, (mine, theirs) in enumerate(zip(record, expected), start=1):
        where = f"train_step ({case.label}), call {n}"
        close(as_scalar(mine["loss"], f"{where}: the returned loss"), torch.tensor(theirs["loss"]),
              rtol=1e-5, atol=1e-7, what=f"{where}: the returned loss")  # float32 forward pass
        for i, (a, e) in enumerate(zip(parameters(mine["after"], len(theirs["after"]), where), theirs["after"])):
            close(a, e, **OPTIMIZER, what=f"{where}: parameter {i} (shape {tuple(e.shape)}) after the step")
        check_grads(mine["grads"], theirs["grads"], where)


@graded("train_step does zero_grad, forward, loss, backward and step, and returns the loss: two calls "
        "on one model give the reference's losses, weights and gradients.", about="train_step")
def test_train_step_matches_reference(student):
    check_training(student, "train/0")


@graded("train_step with max_norm clips the gradients after backward and before optimizer.step(): the "
        "update uses the clipped gradients.", about="train_step")
def test_train_step_clips_before_step(student):
    check_training(student, "train_clip/0")


# --- the quiz ---------------------------------------------------------------------------------

STEP_NAMES = set(ref.TRAINING_STEP_ORDER)


def step_order(answer) -> list[str]:
    if not isinstance(answer, (list, tuple)):
        raise Mismatch(f"TRAINING_STEP_ORDER should be a list, got {type(answer).__name__}.")
    order = [ref.step_name(a) for a in answer]
    if sorted(order) != sorted(STEP_NAMES):
        raise Mismatch(f"TRAINING_STEP_ORDER should hold each of {', '.join(sorted(STEP_NAMES))} exactly once.")
    return order


@graded("TRAINING_STEP_ORDER puts forward, loss, backward, clip, step and scheduler.step in order, "
        "with zero_grad anywhere before backward.", about="TRAINING_STEP_ORDER")
def test_quiz_training_step_order(student):
    order = step_order(student.case("quiz/order").output())
    ranked = [order.index(name) for name in ref.TRAINING_STEP_ORDER if name != "zero_grad"]
    if ranked != sorted(ranked) or order.index("zero_grad") > order.index("backward"):
        raise Mismatch("Not the order of a training step. Check the golden loop (Short 28) and where "
                       "clipping (Short 27) and the scheduler (Short 22) go.")
