"""Hidden graders for 02_gradient_descent. Each test is worth the points course.toml gives it.

Inputs come from inputs.py (grading seed from course.toml). The oracles (oracles.py) are the closed
form of gradient descent on (x - 3)^2, torch.optim's own optimizers and schedulers, and
torch.nn.utils.clip_grad_norm_. Tolerances: a float32 trajectory agrees with the float64 closed
form to about 1e-6. A step function is run for 50 steps on its own output, and each step is compared
with torch.optim's step from the student's own previous parameter and state: the rounding of one
step, never 50 steps of it (RMSprop near a minimum amplifies a different but correct rounding to
1e-4 within 50 steps on some problems). Learning rates are float64 and agree to rounding. Every value
a function returns is compared, state included, and no self-check in the notebook is stricter than
the test of the same name.
"""

import torch

from course.grading import Mismatch, builtins_reached, close, graded, matches, sibling
from solutions import gradient_descent as ref
from solutions.gradient_descent import OPTIMIZER_BUILTINS

inputs = sibling(__file__, "inputs")
oracles = sibling(__file__, "oracles")

# float32 values from a different but correct order of operations (see the module docstring).
TRAJECTORY = {"rtol": 1e-5, "atol": 1e-5}
OPTIMIZER = {"rtol": 1e-5, "atol": 1e-6}  # one float32 step, parameters and state alike
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


def readable(value, fn: str):
    """A value the harness passed through from the student, unless it could not be read back."""
    if isinstance(value, dict) and "__unsupported__" in value:
        raise Mismatch(f"`{fn}` returned a {value['__unsupported__']}, which the grader cannot read.")
    return value


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


def as_expected(actual, expected: torch.Tensor):
    """`actual` in `expected`'s container, dtype and shape when it holds the same number of values:
    the by-hand check judges values, and a float or a list instead of a tensor is charged once,
    by the function's own test."""
    try:
        value = actual if isinstance(actual, torch.Tensor) else torch.as_tensor(actual)
        value = value.detach().to(expected.dtype)
        return value.reshape(expected.shape) if value.numel() == expected.numel() else value
    except Exception:  # not numbers at all: compare as is, and say what it was
        return actual


def compare(actual, expected: torch.Tensor, *, lenient: bool, what: str, **tolerance) -> None:
    close(as_expected(actual, expected) if lenient else actual, expected, what=what, **tolerance)


# --- gradient descent on (x - 3)^2 ---------------------------------------------------------------

def trajectory(case, fn: str):
    answer = output(case, fn)
    return readable(answer["xs"], fn) if case.call.harness else answer


def check_trajectories(student, group: str, fn: str, lenient: bool = False):
    for case in student.cases(group):
        compare(trajectory(case, fn), oracles.closed_form(*case.args), lenient=lenient, **TRAJECTORY,
                what=f"{fn} with {case.label}")


@graded("gd_trajectory (autograd, then x -= lr * x.grad under torch.no_grad(), then zero the grad) "
        "follows 3 - (3 - x0)(1 - 2 lr)^k for hidden x0, lr and numbers of steps.", about="gd_trajectory")
def test_gd_trajectory_matches_closed_form(student):
    check_trajectories(student, "gd", "gd_trajectory")


@graded("sgd_trajectory (torch.optim.SGD: zero_grad, backward, step) follows the same closed form "
        "for hidden x0, lr and numbers of steps.", about="sgd_trajectory")
def test_sgd_trajectory_matches_closed_form(student):
    check_trajectories(student, "sgd", "sgd_trajectory")


# --- optimizers by hand ------------------------------------------------------------------------

NAMES = {"momentum": "torch.optim.SGD(momentum=...)", "adam": "torch.optim.Adam", "adamw": "torch.optim.AdamW",
         "rmsprop": "torch.optim.RMSprop"}
BUFFER = "torch's momentum buffer, v = momentum * v + grad"


def check_state(fn: str, mine, theirs, lenient: bool, what: str):
    """The state a step function returned, against torch's, key by key (extra keys are allowed)."""
    if fn == "momentum_step":
        if not isinstance(mine, torch.Tensor) and not lenient:
            raise Mismatch(f"{what}: the returned buffer should be a tensor, got {type(mine).__name__}.")
        compare(mine, theirs, lenient=lenient, **OPTIMIZER, what=f"{what}: the returned buffer ({BUFFER})")
        return
    if not isinstance(mine, dict) or not set(theirs) <= set(mine):
        raise Mismatch(f"{what}: the returned state should be a dict holding {', '.join(map(repr, theirs))}.")
    for key, expected in theirs.items():
        if key == "step":
            if as_scalar(mine[key], f"{what}: state['step']", torch.float64).item() != expected:
                raise Mismatch(f"{what}: state['step'] should count the steps taken, {expected} here.")
            continue
        compare(mine[key], expected, lenient=lenient, **OPTIMIZER, what=f"{what}: state[{key!r}]")


def check_optimizer_runs(student, key: str, fn: str, lenient: bool = False):
    """Each step of the student's run against torch.optim's step from the student's previous parameter
    and state (the first from the hidden start and an empty state): a run that is right step by step
    is torch's, up to rounding."""
    for case in student.cases(key):
        history = output(case, fn)
        _, params, A, B, steps, hp = case.args
        if not isinstance(history, dict) or len(history.get("params", [])) != steps:
            raise Mismatch(f"{fn} could not be run for {steps} steps ({case.label}).")
        ps, states = list(params), [None] * len(params)
        for k in range(steps):
            where = f"{fn} vs {NAMES[key]} ({case.label}), step {k + 1}"
            mine = parameters(history["params"][k], len(params), fn)
            for i in range(len(params)):
                grad = oracles.gradient(ps[i], A[i], B[i])
                expected_p, expected_state = oracles.torch_step(fn, ps[i], grad, states[i], hp)
                compare(readable(mine[i], fn), expected_p, lenient=lenient, **OPTIMIZER,
                        what=f"{where}: parameter {i} (shape {tuple(expected_p.shape)})")
                check_state(fn, readable(history["states"][k][i], fn), expected_state, lenient, f"{where}, parameter {i}")
                ps[i], states[i] = as_expected(mine[i], expected_p), history["states"][k][i]


def check_first_step(student, key: str, name: str, lenient: bool = False):
    case = student.case(f"{key}/0")
    answer = case.output()
    if not isinstance(answer, tuple) or len(answer) != 2:
        raise Mismatch("adam_step should return a pair (new_p, new_state).")
    p, grad, _ = case.args
    compare(answer[0], oracles.torch_first_step(p, grad, case.call.kwargs), lenient=lenient, **OPTIMIZER,
            what=f"adam_step vs {name}, {case.label}")


@graded("momentum_step matches torch.optim.SGD(momentum=...) over 50 steps on a hidden problem, with "
        "hidden and with the lesson's lr and momentum: the parameters and the returned buffer.",
        about="momentum_step")
def test_momentum_step_matches_torch_sgd(student):
    check_optimizer_runs(student, "momentum", "momentum_step")


def check_adam(student, lenient: bool = False):
    check_first_step(student, "adam_first", "torch.optim.Adam", lenient)
    check_optimizer_runs(student, "adam", "adam_step", lenient)


def check_adamw(student, lenient: bool = False):
    check_first_step(student, "adamw_decay", "torch.optim.AdamW", lenient)
    check_optimizer_runs(student, "adamw", "adam_step", lenient)


@graded("adam_step (decoupled=False) matches torch.optim.Adam, L2 weight decay included, on its first "
        "step and over 50 steps with hidden lr, betas, eps and weight decay, and with the lesson's: the "
        "parameters and the returned state.", about="adam_step")
def test_adam_step_matches_torch_adam(student):
    check_adam(student)


@graded("adam_step (decoupled=True) matches torch.optim.AdamW, decoupled weight decay included, on "
        "its first step and over 50 steps with hidden lr, betas and weight decay, and with the lesson's: "
        "the parameters and the returned state.", about="adam_step")
def test_adam_step_matches_torch_adamw(student):
    check_adamw(student)


@graded("rmsprop_step matches torch.optim.RMSprop(alpha=...) over 50 steps with hidden lr, alpha and "
        "eps, and with the lesson's: the parameters and the returned state.", about="rmsprop_step")
def test_rmsprop_step_matches_torch(student):
    check_optimizer_runs(student, "rmsprop", "rmsprop_step")


# --- Short 15: high learning rate with high momentum ---------------------------------------------

def as_bool(value, what: str) -> bool:
    """True or False, also spelt 1 or 0 or a one-element bool tensor (the self-check accepts those too)."""
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        return bool(value)
    raise Mismatch(f"{what}: expected True or False, got {type(value).__name__}.")


@graded("diverges(lr, momentum, steps) says, for a hidden grid of learning rates and momenta, whether "
        "torch.optim.SGD with that momentum ends farther from 3 than it started on (x - 3)^2.",
        about="diverges")
def test_momentum_divergence_matches_sgd(student):
    case = student.case("diverge/0")
    grid = output(case, "diverges")
    lrs, momenta, steps = case.args
    false_alarms = missed = 0
    for i, lr in enumerate(lrs):
        for j, momentum in enumerate(momenta):
            said = as_bool(grid[i][j], "diverges")
            truth = ref.diverges(lr, momentum, steps)
            false_alarms += said and not truth
            missed += truth and not said
    if false_alarms or missed:
        raise Mismatch(f"diverges is wrong for {false_alarms + missed} of the {len(lrs) * len(momenta)} pairs of "
                       f"{case.label}: {false_alarms} said to diverge that end closer to 3 than they started, "
                       f"{missed} said not to that end farther away.")


# --- by hand -------------------------------------------------------------------------------------

def check_clipping(student, lenient: bool = False):
    for case in student.cases("clip"):
        answer = output(case, "clip_grad_norm_manual")
        expected = inputs.clip_run({"clip_grad_norm_manual": torch.nn.utils.clip_grad_norm_}, *case.args)
        norm = as_expected(answer["norm"], expected["norm"]) if lenient else answer["norm"]
        close(as_scalar(norm, "clip_grad_norm_manual's return value"), expected["norm"], **CLIP,
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


def check_cosine(student, lenient: bool = False):
    for case in student.cases("cosine"):
        base_lr, T_max, eta_min = case.args
        expected = torch.tensor(ref.lr_schedule("cosine", base_lr, T_max + 1, T_max=T_max, eta_min=eta_min),
                                dtype=torch.float64)
        close(as_curve(output(case, "cosine_lr"), T_max + 1, "cosine_lr"), expected, **LRS,
              what=f"cosine_lr over {case.label}")


# Each by-hand exercise and what shows that it computes the right values (type and dtype aside).
BY_HAND = {
    "gd_trajectory": lambda student: check_trajectories(student, "gd", "gd_trajectory", lenient=True),
    "momentum_step": lambda student: check_optimizer_runs(student, "momentum", "momentum_step", lenient=True),
    "adam_step": lambda student: (check_adam(student, lenient=True), check_adamw(student, lenient=True)),
    "rmsprop_step": lambda student: check_optimizer_runs(student, "rmsprop", "rmsprop_step", lenient=True),
    "cosine_lr": lambda student: check_cosine(student, lenient=True),
    "clip_grad_norm_manual": lambda student: check_clipping(student, lenient=True),
}


# A call that only answers when the function exists in the kernel.
ANSWERED_BY = {"gd_trajectory": "gd/0", "momentum_step": "momentum/0", "adam_step": "adam_first/0",
               "rmsprop_step": "rmsprop/0", "cosine_lr": "cosine/0", "clip_grad_norm_manual": "clip/0"}


@graded("gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr and clip_grad_norm_manual "
        "are written by hand (no torch.optim optimizer or scheduler, no clip_grad_norm_) and compute the "
        "right values (a float or a list where a tensor was asked is charged by its own test only).",
        about="by_hand")
def test_manual_updates_no_builtin(student):
    for fn in BY_HAND:
        reached = builtins_reached(student.cells, fn, OPTIMIZER_BUILTINS)
        for what in reached.unchecked:  # never guessed at: for the instructor
            student.note(f"{fn}: the by-hand check could not read {what}")
        if not reached.defined and "value" in student.case(ANSWERED_BY[fn]).outcome:
            student.note(f"{fn}: answered, but defined by no cell the by-hand check can read")
        if reached.used:
            raise Mismatch(f"`{fn}` uses {', '.join(sorted(reached.used))}: this exercise asks you to write it "
                           "yourself from tensor operations.")
    for fn, computes_right_values in BY_HAND.items():
        try:
            computes_right_values(student)
        except Mismatch as why:
            raise Mismatch(f"This point is for by-hand code that computes the right values, and `{fn}` does not "
                           f"yet: {why}") from None


# --- learning rates ------------------------------------------------------------------------------

def sweep(student):
    case = student.case("sweep/0")
    answer = case.output()
    lrs, epochs, _ = case.args
    if not isinstance(answer, dict) or set(answer) != set(lrs):
        raise Mismatch(f"lr_sweep should return a dict with one entry per learning rate ({case.label}).")
    return case, {lr: as_curve(answer[lr], epochs, f"lr_sweep: the losses for lr={lr}") for lr in lrs}


def falls_every_epoch(curve) -> bool:
    return bool((curve[1:] < curve[:-1]).all())


@graded("lr_sweep is a fair comparison: on a hidden seed every learning rate starts from the loss of "
        "the same initial model (a fresh nn.Linear after torch.manual_seed(seed)), and each curve is one "
        "its learning rate can give: falling at every epoch where that lr converges, growing where it diverges.",
        about="lr_sweep")
def test_lr_sweep_is_fair(student):
    case, curves = sweep(student)
    expected = {lr: torch.tensor(c, dtype=torch.float64) for lr, c in ref.lr_sweep(*case.args).items()}
    start = next(iter(expected.values()))[0]  # the initial model's loss: the same for every lr
    first = torch.stack([curve[0] for curve in curves.values()])
    # float32 losses of one model on one batch, computed in another order at most.
    if not matches(first, first[0].expand_as(first), rtol=1e-6, atol=0.0):
        raise Mismatch("The epoch-0 losses differ between learning rates: the runs did not start from the same model.")
    if not matches(first[0], start, rtol=1e-5, atol=0.0):
        raise Mismatch("Every learning rate starts from the same loss, but not from the loss of a fresh "
                       "nn.Linear(5, 1) on the lesson's data: make X and y right after torch.manual_seed(seed), "
                       "then reseed before each model.")
    for lr, curve in curves.items():
        if falls_every_epoch(expected[lr]) and not falls_every_epoch(curve):
            raise Mismatch(f"lr_sweep: the losses for lr={lr} do not fall at every epoch, though full-batch "
                           "gradient descent with this lr does on this problem.")
        if not falls_every_epoch(expected[lr]) and not curve[-1] > curve[0]:
            raise Mismatch(f"lr_sweep: the losses for lr={lr} do not grow, though this lr diverges on this problem.")
    lrs = list(curves)
    for a, b in zip(lrs, lrs[1:]):
        if matches(curves[a], curves[b], rtol=1e-6, atol=0.0):
            raise Mismatch(f"lr_sweep: lr={a} and lr={b} give the same losses; a different lr takes different steps.")


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
    check_cosine(student)


@graded("epoch_lr_below(gamma, fraction) is the first epoch whose learning rate under ExponentialLR(gamma) "
        "is below fraction times the starting one, for hidden gammas and fractions.", about="epoch_lr_below")
def test_epoch_lr_below_matches_exponential_lr(student):
    for case in student.cases("lr_below"):
        answer = case.output()
        epoch = as_scalar(answer, "epoch_lr_below", torch.float64).item()
        if epoch != ref.epoch_lr_below(*case.args):
            raise Mismatch(f"epoch_lr_below, {case.label}: {epoch:g} is not the first epoch whose lr is below "
                           "fraction * base_lr (epoch 0 runs at base_lr, epoch e at base_lr * gamma^e).")


@graded("per_step_cosine_lrs gives the lr of every step when CosineAnnealingLR is stepped after every batch, "
        "T_max counting steps: checked first at the last step, then at every step, for hidden epochs, steps "
        "per epoch and eta_min.", about="per_step_cosine_lrs")
def test_per_step_cosine_ends_at_last_step(student):
    for case in student.cases("per_step_cosine"):
        _, epochs, steps_per_epoch, _ = case.args
        expected = torch.tensor(ref.per_step_cosine_lrs(*case.args), dtype=torch.float64)
        curve = as_curve(case.output(), epochs * steps_per_epoch, f"per_step_cosine_lrs ({case.label}), one lr per step")
        close(curve[-1], expected[-1], **LRS, what=f"per_step_cosine_lrs ({case.label}): the lr at the last step")
        close(curve, expected, **LRS, what=f"per_step_cosine_lrs ({case.label}), lr per step")


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
    check_clipping(student)


def steps_taken(call: dict) -> list:
    """The gradients each optimizer.step() found during one train_step call."""
    return [grads for event, grads in call["events"] if event == "step"]


def check_update(mine: dict, theirs: dict, where: str):
    """One optimizer.step() per call, with the reference's gradients, and the reference's weights after."""
    steps = steps_taken(mine)
    if not steps:
        raise Mismatch(f"{where}: optimizer.step() was never called on the optimizer passed in, so the weights "
                       "never changed.")
    if len(steps) > 1:
        raise Mismatch(f"{where}: optimizer.step() ran {len(steps)} times; one training step is one update.")
    (expected,) = steps_taken(theirs)
    for i, (a, e) in enumerate(zip(parameters(steps[0], len(expected), where), expected)):
        if a is None:
            raise Mismatch(f"{where}: parameter {i} had no gradient when optimizer.step() ran.")
        close(a, e, **CLIP, what=f"{where}: the gradient of parameter {i} (shape {tuple(e.shape)}) when optimizer.step() ran")
    for i, (a, e) in enumerate(zip(parameters(mine["after"], len(theirs["after"]), where), theirs["after"])):
        close(a, e, **OPTIMIZER, what=f"{where}: parameter {i} (shape {tuple(e.shape)}) after the step")


def check_training(student, key: str):
    """Everything train_step is asked for: model.train() before the forward pass, the loss as a
    Python float, and the update."""
    case = student.case(key)
    record = output(case, "train_step")
    expected = inputs.train_run({"train_step": ref.train_step}, *case.args)
    if not isinstance(record, list) or len(record) != len(expected):
        raise Mismatch(f"train_step could not be called {len(expected)} times ({case.label}).")
    for n, (mine, theirs) in enumerate(zip(record, expected), start=1):
        where = f"train_step ({case.label}), call {n}"
        modes = [training for event, training in mine["events"] if event == "forward"]
        if not modes:
            raise Mismatch(f"{where}: the model was never called on x.")
        if not all(modes):
            raise Mismatch(f"{where}: the model was in eval mode during the forward pass; call model.train() first.")
        loss = readable(mine["loss"], "train_step")
        if not isinstance(loss, float):
            raise Mismatch(f"{where}: return the loss as a Python float (loss.item()), not a {type(loss).__name__}.")
        close(torch.tensor(loss), torch.tensor(theirs["loss"]), rtol=1e-5, atol=1e-7,
              what=f"{where}: the returned loss")  # float32 forward pass
        check_update(mine, theirs, where)


@graded("train_step does model.train(), zero_grad, forward, loss, backward and one optimizer.step(), and "
        "returns the loss as a float: on one model, with MSE over two calls and with BCEWithLogitsLoss, the "
        "reference's losses, gradients at each step and weights.", about="train_step")
def test_train_step_matches_reference(student):
    for case in student.cases("train"):
        check_training(student, case.key)


@graded("train_step with max_norm clips the gradients after backward and before optimizer.step(): "
        "optimizer.step() finds the clipped gradients, and the weights move by them.", about="train_step")
def test_train_step_clips_before_step(student):
    case = student.case("train_clip/0")
    record = output(case, "train_step")
    (theirs,) = inputs.train_run({"train_step": ref.train_step}, *case.args)
    if not isinstance(record, list) or len(record) != 1:
        raise Mismatch(f"train_step could not be called ({case.label}).")
    check_update(record[0], theirs, f"train_step ({case.label})")


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
