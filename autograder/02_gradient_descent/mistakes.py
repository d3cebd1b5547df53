"""The lesson's common mistakes for 02_gradient_descent, each recognised from the student's answers
or code. A mistake is recognised by what it produces: the judge replays the mistaken code (a
recurrence, a scheduler left alone, a train_step in the wrong order) on the same hidden inputs and
compares, or reads what the harness saw inside the call (the model's mode at the forward pass, the
gradients each optimizer.step() found). Where the evidence fits several causes, the mistake named
is the symptom. The table at the bottom is the whole list.
"""
import ast
import math

import torch
import torch.nn as nn

from course.grading import Mistake, builtins_used, matches, sibling
from solutions import gradient_descent as ref
from solutions.gradient_descent import OPTIMIZER_BUILTINS

inputs = sibling(__file__, "inputs")
oracles = sibling(__file__, "oracles")


def _all_cases(student, group, signature) -> bool:
    """True when every case of `group` was answered and fits `signature(answer, args)`."""
    answers = [(student.answer(c.key), c.args) for c in student.cases(group)]
    return all(a is not None and signature(a, args) for a, args in answers)


def _same(a, b, rtol=1e-4, atol=1e-6) -> bool:
    """Two harness records (nested lists/dicts of tensors and numbers) agree within tolerance."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(b, torch.Tensor):
        return matches(a, b, rtol=rtol, atol=atol)
    if isinstance(b, float) and isinstance(a, (int, float)):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    return a == b


# 50 free-running optimizer steps: a different but correct rounding drifts by up to about 1e-5 near
# a minimum, while the mistakes below change the run by factors.
RUN = {"rtol": 1e-3, "atol": 1e-5}


def _empty(grads) -> bool:
    """No gradient to apply: every .grad None or zero."""
    return all(g is None or (isinstance(g, torch.Tensor) and not g.any()) for g in grads)


# --- gradients that pile up, updates autograd records, and an x that never moves ----------------

def accumulating(x0: float, lr: float, steps: int) -> torch.Tensor:
    """Gradient descent whose .grad is never cleared: x_{k+1} = x_k - lr * sum_{j<=k} 2 (x_j - 3)."""
    x, pile, xs = x0, 0.0, []
    for _ in range(steps):
        pile += 2 * (x - 3)
        x -= lr * pile
        xs.append(x)
    return torch.tensor(xs, dtype=torch.float64)


def _sgd_runs(student):
    """Per sgd case: (xs, events, args), or None when a case has no readable answer."""
    runs = []
    for case in student.cases("sgd"):
        answer = student.answer(case.key)
        if not isinstance(answer, dict) or not isinstance(answer.get("xs"), torch.Tensor):
            return None
        runs.append((answer["xs"], answer["events"], case.args))
    return runs


def _stuck(xs, args) -> bool:
    """x stayed at x0 at every step."""
    return matches(xs, torch.full((args[2],), float(args[0])))


def _steps(events) -> list:
    """The gradients each optimizer.step() found, in order (sgd_run's events)."""
    return [e for e in events if isinstance(e, list)]


def _cleared_after_backward(events) -> bool:
    """A gradient reached the parameter, and the next step() found nothing to apply."""
    seen_backward, cleared = False, False
    for event in events:
        if event == "backward":
            seen_backward = True
        elif seen_backward:
            if not _empty(event):
                return False
            cleared = True
    return cleared


def _every_stuck_run(student, test) -> bool:
    runs = _sgd_runs(student)
    return bool(runs) and all(_stuck(xs, args) and test(events) for xs, events, args in runs)


def train_step_without_zero_grad(model, optimizer, loss_fn, x, y, max_norm=None):
    model.train()
    loss = loss_fn(model(x), y)
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def train_step_clipping_after_step(model, optimizer, loss_fn, x, y, max_norm=None):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return loss.item()


def train_step_never_clipping(model, optimizer, loss_fn, x, y, max_norm=None):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_with_swapped_loss(model, optimizer, loss_fn, x, y, max_norm=None):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(y, model(x))
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def _observed(call: dict, fields) -> dict:
    """What a train_step call did, reduced to `fields` ("steps": the gradients each step() found)."""
    seen = {**call, "steps": [grads for event, grads in call["events"] if event == "step"]}
    return {field: seen[field] for field in fields}


def _train_step_like(student, key, variant, fields=("loss", "after", "steps")) -> bool:
    """The student's train_step did what `variant` does on the same inputs, and the reference does
    something else."""
    case = student.case(key)
    answer = student.answer(key)
    if not isinstance(answer, list):
        return False
    replay = inputs.train_run({"train_step": variant}, *case.args)
    right = inputs.train_run({"train_step": ref.train_step}, *case.args)
    mine = [_observed(call, fields) for call in answer]
    return _same(mine, [_observed(c, fields) for c in replay]) and not _same(mine, [_observed(c, fields) for c in right])


def _train_events(student, key="train/0") -> list | None:
    answer = student.answer(key)
    return [call["events"] for call in answer] if isinstance(answer, list) else None


def gradients_never_zeroed(student, fn) -> bool:
    if fn == "train_step":
        return _train_step_like(student, "train/0", train_step_without_zero_grad)
    if fn == "sgd_trajectory":
        runs = _sgd_runs(student)
        return bool(runs) and all(matches(xs, accumulating(*args), rtol=1e-4, atol=1e-4) for xs, _, args in runs)
    return _all_cases(student, "gd", lambda a, args: matches(a, accumulating(*args), rtol=1e-4, atol=1e-4))


def step_never_called(student, fn) -> bool:
    if fn == "train_step":
        calls = _train_events(student)
        return bool(calls) and all(event != "step" for events in calls for event, _ in events)
    return _every_stuck_run(student, lambda events: not _steps(events))


def zero_grad_after_backward(student, fn) -> bool:
    if fn == "TRAINING_STEP_ORDER":
        order = _step_order(student)
        return bool(order) and order.index("backward") < order.index("zero_grad") < order.index("step")
    if fn == "train_step":
        calls = _train_events(student)
        return bool(calls) and all(
            _cleared_after_backward(["backward" if event == "backward" else grads
                                     for event, grads in events if event in ("backward", "step")])
            for events in calls)
    return _every_stuck_run(student, _cleared_after_backward)


def no_gradient_at_step(student, fn) -> bool:
    """step() ran, no gradient ever reached x after it, and .grad was empty each time."""
    return _every_stuck_run(student, lambda events: bool(_steps(events)) and "backward" not in events
                            and all(_empty(grads) for grads in _steps(events)))


def x_never_moved(student, fn) -> bool:
    """The symptom, when the harness saw none of the causes above."""
    causes = (step_never_called, zero_grad_after_backward, no_gradient_at_step)
    return _every_stuck_run(student, lambda events: True) and not any(c(student, fn) for c in causes)


# What the kernel sends back when the update is recorded by autograd: an in-place update of a
# leaf that requires grad, or `x = x - ...` leaving a non-leaf whose .grad is None on the next step.
GRAPH_ERRORS = ("a leaf Variable that requires grad", "'NoneType'")
# `x = x - ...` inside no_grad leaves an x that no longer requires grad; so does forgetting
# requires_grad=True, so this one counts only when the code rebinds a name inside no_grad.
REBIND_ERROR = "does not require grad"


def rebinds_inside_no_grad(cells, function: str) -> bool:
    """Whether `function` assigns to a plain name inside a `with torch.no_grad():` block."""
    for cell in cells:
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == function:
                for block in ast.walk(node):
                    if isinstance(block, ast.With) and "no_grad" in ast.dump(block.items[0]):
                        if any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) for t in n.targets)
                               for n in ast.walk(block)):
                            return True
    return False


def update_outside_no_grad(student, fn) -> bool:
    errors = [student.case(c.key).outcome.get("error", "") for c in student.cases("gd")]
    if any(any(sign in e for sign in GRAPH_ERRORS) for e in errors):
        return True
    return any(REBIND_ERROR in e for e in errors) and rebinds_inside_no_grad(student.cells, fn)


# --- momentum, Adam, AdamW, RMSprop -----------------------------------------------------------------

def _history(student, key):
    answer = student.answer(key)
    return answer if isinstance(answer, dict) and isinstance(answer.get("params"), list) else None


def _params_match(mine, theirs) -> bool:
    return len(mine["params"]) == len(theirs["params"]) and all(
        _same(list(a), b, **RUN) for a, b in zip(mine["params"], theirs["params"]))


def momentum_buffer_convention(student, fn) -> bool:
    """The parameters follow torch's path, but the buffer returned is lr * v or -lr * v, not v."""
    cases = student.cases("momentum")
    for case in cases:
        mine = _history(student, case.key)
        theirs = oracles.torch_run(*case.args)
        if mine is None or not _params_match(mine, theirs) or _same(mine["states"], theirs["states"], **RUN):
            return False
        lr = case.args[-1]["lr"]
        if not any(_same(mine["states"], [[scale * buf for buf in step] for step in theirs["states"]], **RUN)
                   for scale in (lr, -lr)):
            return False
    return bool(cases)


def adam_without_bias_correction(student, fn) -> bool:
    """On the first step from an empty state with |grad| >> eps, each coordinate moves by lr * r:
    r = 1 with both corrections, (1 - b1) / sqrt(1 - b2) with none, (1 - b1) with only v's,
    1 / sqrt(1 - b2) with only m's."""
    case = student.case("adam_first/0")
    answer = student.answer("adam_first/0")
    if not isinstance(answer, tuple) or not isinstance(answer[0], torch.Tensor):
        return False
    p, grad, _ = case.args
    lr, (b1, b2) = case.call.kwargs["lr"], case.call.kwargs["betas"]
    moved = (p - answer[0]) / (lr * grad.sign())  # per coordinate, in units of lr
    wrong = [(1 - b1) / math.sqrt(1 - b2), 1 - b1, 1 / math.sqrt(1 - b2)]
    return any(matches(moved, torch.full_like(moved, r), rtol=1e-3, atol=1e-6) for r in wrong)


def l2_instead_of_decoupled(student, fn) -> bool:
    """With zero grads and a fresh state, AdamW gives p (1 - lr wd); L2 in the grad gives about
    p - lr sign(p), which is what Adam (decoupled=False) computes."""
    case = student.case("adamw_decay/0")
    answer = student.answer("adamw_decay/0")
    if not isinstance(answer, tuple):
        return False
    coupled, _ = ref.adam_step(*case.args, **{**case.call.kwargs, "decoupled": False})
    decoupled, _ = ref.adam_step(*case.args, **case.call.kwargs)
    return matches(answer[0], coupled) and not matches(answer[0], decoupled)


def _denominator(root: torch.Tensor, square: torch.Tensor, eps: float, inside: bool) -> torch.Tensor:
    return (square + eps).sqrt() if inside else root + eps


def adam_step_with_eps(inside: bool, fixed_eps: float | None):
    """adam_step with eps inside the square root and/or a hard-coded eps instead of the argument."""
    def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
        eps = eps if fixed_eps is None else fixed_eps
        beta1, beta2 = betas
        t = state.get("step", 0) + 1
        m = state.get("exp_avg", torch.zeros_like(p))
        v = state.get("exp_avg_sq", torch.zeros_like(p))
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        v_hat = v / (1 - beta2**t)
        p = p - lr * (m / (1 - beta1**t)) / _denominator(v_hat.sqrt(), v_hat, eps, inside)
        return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}
    return adam_step


def rmsprop_step_with_eps(inside: bool, fixed_eps: float | None):
    def rmsprop_step(p, grad, state, lr, alpha, eps):
        eps = eps if fixed_eps is None else fixed_eps
        v = alpha * state.get("square_avg", torch.zeros_like(p)) + (1 - alpha) * grad * grad
        return p - lr * grad / _denominator(v.sqrt(), v, eps, inside), {"square_avg": v}
    return rmsprop_step


EPS_VARIANTS = [(inside, fixed) for inside in (False, True) for fixed in (None, 1e-8, 1e-6, 0.0)
                if (inside, fixed) != (False, None)]  # (False, None) is the right formula


def _eps_variant(student, fn) -> tuple | None:
    """(inside, fixed_eps) of the eps handling the student's runs with a large eps replay, if any."""
    group, make = {"adam_step": ("adam", adam_step_with_eps), "rmsprop_step": ("rmsprop", rmsprop_step_with_eps)}[fn]
    cases = [c for c in student.cases(group) if c.args[-1]["eps"] >= 1e-4]
    histories = [_history(student, c.key) for c in cases]
    if not cases or any(h is None for h in histories):
        return None
    if all(_params_match(h, oracles.torch_run(*c.args)) for h, c in zip(histories, cases)):
        return None
    for inside, fixed in EPS_VARIANTS:
        replays = [inputs.optimizer_run({fn: make(inside, fixed)}, *c.args) for c in cases]
        if all(_params_match(h, r) for h, r in zip(histories, replays)):
            return inside, fixed
    return None


def eps_inside_sqrt(student, fn) -> bool:
    variant = _eps_variant(student, fn)
    return variant is not None and variant[0]


def eps_argument_ignored(student, fn) -> bool:
    variant = _eps_variant(student, fn)
    return variant is not None and variant[1] is not None


def momentum_left_out(student, fn) -> bool:
    """diverges answers as if momentum were 0, whatever momentum it was given."""
    case = student.case("diverge/0")
    grid = student.answer("diverge/0")
    lrs, momenta, steps = case.args
    try:
        said = [[bool(v) for v in row] for row in grid]
    except TypeError:
        return False
    plain = [[ref.diverges(lr, 0.0, steps)] * len(momenta) for lr in lrs]
    truth = [[ref.diverges(lr, m, steps) for m in momenta] for lr in lrs]
    return said == plain and said != truth


# --- clipping, schedulers, sweeps ------------------------------------------------------------------

def _step_order(student) -> list | None:
    """TRAINING_STEP_ORDER as the grader reads it, or None unless it holds each step once."""
    answer = student.answer("quiz/order")
    if not isinstance(answer, (list, tuple)):
        return None
    order = [ref.step_name(a) for a in answer]
    return order if sorted(order) == sorted(ref.TRAINING_STEP_ORDER) else None


CLIP_FIELDS = ("after", "steps", "grads")  # where the clipped gradient went, if anywhere


def clipping_after_step(student, fn) -> bool:
    if fn == "TRAINING_STEP_ORDER":
        order = _step_order(student)
        return bool(order) and order.index("clip") > order.index("step")
    # The update used the raw gradient, and the clipped one was left behind in .grad.
    return _train_step_like(student, "train_clip/0", train_step_clipping_after_step, CLIP_FIELDS)


def never_clipped(student, fn) -> bool:
    return _train_step_like(student, "train_clip/0", train_step_never_clipping, CLIP_FIELDS)


def model_not_in_training_mode(student, fn) -> bool:
    calls = _train_events(student)
    return bool(calls) and any(event == "forward" and not training for events in calls for event, training in events)


def loss_arguments_swapped(student, fn) -> bool:
    return _train_step_like(student, "train/1", train_step_with_swapped_loss)


def _schedules(student, signature) -> bool:
    return _all_cases(student, "schedule", lambda a, args: isinstance(a, list)
                      and matches(torch.tensor(a, dtype=torch.float64), signature(args), rtol=1e-9, atol=1e-12))


def scheduler_never_stepped(student, fn) -> bool:
    return _schedules(student, lambda args: torch.full((args[2],), float(args[1]), dtype=torch.float64))


def per_step_cosine(base_lr, epochs, steps_per_epoch, eta_min, T_max, skip=0) -> torch.Tensor:
    """The lrs CosineAnnealingLR(T_max) gives, stepped every batch; `skip` drops the first ones read."""
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
    lrs = []
    for _ in range(epochs * steps_per_epoch + skip):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return torch.tensor(lrs[skip:], dtype=torch.float64)


def _per_step_cosines(student, signature) -> bool:
    return _all_cases(student, "per_step_cosine", lambda a, args: isinstance(a, list)
                      and matches(torch.tensor(a, dtype=torch.float64), signature(*args), rtol=1e-9, atol=1e-12))


def scheduler_stepped_before_reading(student, fn) -> bool:
    if fn == "per_step_cosine_lrs":
        return _per_step_cosines(student, lambda lr, epochs, n, eta_min: per_step_cosine(
            lr, epochs, n, eta_min, T_max=epochs * n, skip=1))

    def shifted(args):
        kind, base_lr, epochs = args
        kw = next(c.call.kwargs for c in student.cases("schedule") if c.args == args)
        return torch.tensor(ref.lr_schedule(kind, base_lr, epochs + 1, **kw)[1:], dtype=torch.float64)

    return _schedules(student, shifted)


def t_max_in_epochs(student, fn) -> bool:
    return _per_step_cosines(student, lambda lr, epochs, n, eta_min: per_step_cosine(lr, epochs, n, eta_min, T_max=epochs))


def scheduler_before_optimizer(student, fn) -> bool:
    order = _step_order(student)
    return bool(order) and order.index("scheduler.step") < order.index("step")


def epoch_one_off(student, fn) -> bool:
    gaps = set()
    for case in student.cases("lr_below"):
        answer = student.answer(case.key)
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            return False
        gaps.add(answer - ref.epoch_lr_below(*case.args))
    return gaps in ({1}, {-1})


def sweep_variant(lrs, epochs: int, seed: int, *, reseed, reuse_model: bool = False, data_per_lr: bool = False) -> dict:
    """A learning-rate sweep as students write it: `reseed(i)` is the seed set before the i-th model
    (None: no reseeding), `reuse_model` keeps one model for every lr, `data_per_lr` draws X and y again
    after each reseed."""
    torch.manual_seed(seed)
    X, y = torch.randn(100, 5), torch.randn(100, 1)
    model = nn.Linear(5, 1) if reuse_model else None
    losses = {}
    for i, lr in enumerate(lrs):
        if reseed(i) is not None:
            torch.manual_seed(reseed(i))
            if data_per_lr:
                X, y = torch.randn(100, 5), torch.randn(100, 1)
        if not reuse_model:
            model = nn.Linear(5, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        history = []
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(X), y)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        losses[lr] = history
    return losses


def _sweep(student):
    """The student's sweep as {lr: float64 curve}, or None when it is not one."""
    case = student.case("sweep/0")
    answer = student.answer("sweep/0")
    lrs, epochs, _ = case.args
    if not isinstance(answer, dict) or set(answer) != set(lrs):
        return None
    try:
        return {lr: torch.tensor([float(v) for v in answer[lr]], dtype=torch.float64) for lr in lrs}
    except (TypeError, ValueError):
        return None


def _sweep_like(student, **variant) -> bool:
    curves = _sweep(student)
    if curves is None:
        return False
    replay = sweep_variant(*student.case("sweep/0").args, **variant)
    return all(matches(curve, torch.tensor(replay[lr], dtype=torch.float64)) for lr, curve in curves.items())


def no_reseed_per_model(student, fn) -> bool:
    return _sweep_like(student, reseed=lambda i: None)


def model_reused_across_lrs(student, fn) -> bool:
    return _sweep_like(student, reseed=lambda i: None, reuse_model=True)


def seeded_per_lr(student, fn) -> bool:
    seed = student.case("sweep/0").args[2]
    return (_sweep_like(student, reseed=lambda i: seed + i)
            or _sweep_like(student, reseed=lambda i: seed + i, data_per_lr=True))


def different_starts(student, fn) -> bool:
    """The epoch-0 losses differ between learning rates, and no replay above says how."""
    curves = _sweep(student)
    if curves is None or any(len(c) == 0 for c in curves.values()):
        return False
    first = torch.stack([c[0] for c in curves.values()])
    unfair = not torch.allclose(first, first[0].expand_as(first), rtol=1e-6, atol=0.0)
    known = (no_reseed_per_model, model_reused_across_lrs, seeded_per_lr)
    return unfair and not any(k(student, fn) for k in known)


def optimizer_builtin_by_hand(student, fn) -> bool:
    return any(builtins_used(student.cells, name, OPTIMIZER_BUILTINS)
               for name in ("gd_trajectory", "momentum_step", "adam_step", "rmsprop_step", "cosine_lr",
                            "clip_grad_norm_manual"))


SHORT_12 = "Short 12 — Optimizers: What They Actually Do"
SHORT_13 = "Short 13 — Gradient Descent Toy Example: Minimize (x-3)^2"
SHORT_14 = "Short 14 — Same Toy Example Using torch.optim.SGD"
SHORT_15 = "Short 15 — SGD + Momentum (Why Momentum Helps)"
SHORT_16 = "Short 16 — Adam: The Default “Good Enough” Optimizer"
SHORT_17 = "Short 17 — RMSprop: Good for Some Non-Stationary Problems"
SHORT_20 = "Short 20 — The Learning Rate Is the #1 Hyperparameter"
SHORT_21 = "Short 21 — Quick LR Comparison Loop"
SHORT_23 = "Short 23 — StepLR (Drop LR Every N Epochs)"
SHORT_27 = "Short 27 — Gradient Clipping: Prevent Exploding Gradients"
SHORT_28 = "Short 28 — The “Golden” Training Loop (Production Template)"
EPS_INSIDE = ("with a large eps, your steps match sqrt(v + eps) in the denominator; torch divides by "
              "sqrt(v) + eps, with eps outside the square root.")
EPS_IGNORED = ("with a large eps, your steps match a hard-coded eps (1e-8, 1e-6 or none), not the eps "
               "argument; use the eps you are given.")
MISTAKES = [
    Mistake("gradients never zeroed", SHORT_13,
            "backward() adds into .grad, so each update used the sum of every gradient so far; clear it "
            "once per step (x.grad.zero_() or optimizer.zero_grad()).",
            ("gd_trajectory", "sgd_trajectory", "train_step"), gradients_never_zeroed),
    Mistake("optimizer.step() never called", SHORT_12,
            "no torch optimizer's step() ran, so the parameters never changed: zero_grad, backward, then "
            "optimizer.step().",
            ("sgd_trajectory", "train_step"), step_never_called),
    Mistake("zero_grad between backward and step", SHORT_14,
            "the gradients were cleared after backward() made them, so step() had nothing to apply; "
            "the order is zero_grad, backward, step.",
            ("sgd_trajectory", "train_step", "TRAINING_STEP_ORDER"), zero_grad_after_backward),
    Mistake("no gradient when optimizer.step() ran", SHORT_14,
            "x.grad was empty every time step() ran, so x never moved: call loss.backward() before "
            "optimizer.step().",
            ("sgd_trajectory",), no_gradient_at_step),
    Mistake("x never moved", SHORT_14,
            "x stayed at x0 at every step; each step needs zero_grad, backward and step, in that order.",
            ("sgd_trajectory",), x_never_moved),
    Mistake("an update outside torch.no_grad()", SHORT_13,
            "the update must not be recorded by autograd, and x must stay the same leaf tensor with "
            "requires_grad=True: write `with torch.no_grad(): x -= lr * x.grad`, in place.",
            ("gd_trajectory",), update_outside_no_grad),
    Mistake("a momentum buffer in another convention", SHORT_15,
            "your parameters follow torch's, but the buffer you return is lr * v (or -lr * v), not torch's "
            "v = momentum * v + grad, which leaves lr out so a scheduler can change lr between steps.",
            ("momentum_step",), momentum_buffer_convention),
    Mistake("momentum left out of the optimizer", SHORT_15,
            "diverges answers as if momentum were 0; pass momentum=momentum to torch.optim.SGD.",
            ("diverges",), momentum_left_out),
    Mistake("Adam without bias correction", SHORT_16,
            "the first step from an empty state is not exactly lr per coordinate: m and v start at zero, "
            "so divide them by (1 - beta1^t) and (1 - beta2^t).",
            ("adam_step",), adam_without_bias_correction),
    Mistake("eps inside the square root", SHORT_16, EPS_INSIDE, ("adam_step",), eps_inside_sqrt),
    Mistake("eps inside the square root", SHORT_17, EPS_INSIDE, ("rmsprop_step",), eps_inside_sqrt),
    Mistake("a hard-coded eps", SHORT_16, EPS_IGNORED, ("adam_step",), eps_argument_ignored),
    Mistake("a hard-coded eps", SHORT_17, EPS_IGNORED, ("rmsprop_step",), eps_argument_ignored),
    Mistake("L2 weight decay where AdamW's decoupled decay was asked for",
            "Short 18 — AdamW: Modern Best Practice + Weight Decay",
            "with decoupled=True the decay must shrink p directly (p *= 1 - lr * weight_decay), not be added "
            "to the gradient, where Adam's 1/sqrt(v) rescales it.",
            ("adam_step",), l2_instead_of_decoupled),
    Mistake("clipping after optimizer.step()", SHORT_27,
            "the update used the unclipped gradients; clip after backward() and before step().",
            ("train_step", "TRAINING_STEP_ORDER"), clipping_after_step),
    Mistake("gradients never clipped", SHORT_27,
            "with max_norm given, step() found the unclipped gradients and they were never scaled; call "
            "clip_grad_norm_(model.parameters(), max_norm) between backward() and step().",
            ("train_step",), never_clipped),
    Mistake("model.train() not called", SHORT_28,
            "the model was still in eval mode when train_step ran it, so dropout and batchnorm would behave "
            "as at test time; call model.train() at the start of the step.",
            ("train_step",), model_not_in_training_mode),
    Mistake("loss arguments swapped", SHORT_28,
            "with BCEWithLogitsLoss, which is not symmetric, your loss matches loss_fn(y, model(x)); the "
            "prediction comes first: loss_fn(model(x), y).",
            ("train_step",), loss_arguments_swapped),
    Mistake("a scheduler that is never stepped", "Short 22 — Learning Rate Schedulers: Why Use Them?",
            "the learning rate stays at base_lr every epoch; call scheduler.step() once per epoch.",
            ("lr_schedule",), scheduler_never_stepped),
    Mistake("a scheduler stepped before the lr is read", SHORT_23,
            "every learning rate is the next one's; read param_groups[0]['lr'] first, then step "
            "(optimizer, then scheduler) at the end.",
            ("lr_schedule", "per_step_cosine_lrs"), scheduler_stepped_before_reading),
    Mistake("a scheduler stepped before the optimizer", SHORT_23,
            "scheduler.step() comes after optimizer.step(), at the end of the epoch; stepped first, the "
            "first epoch never runs at base_lr (and torch warns).",
            ("TRAINING_STEP_ORDER",), scheduler_before_optimizer),
    Mistake("an epoch count one off", "Short 24 — ExponentialLR (Decay a Little Every Epoch)",
            "every answer is one epoch off; epoch 0 runs at base_lr and epoch e at base_lr * gamma^e, so the "
            "answer is the least e with gamma^e < fraction.",
            ("epoch_lr_below",), epoch_one_off),
    Mistake("T_max counted in epochs while stepping every batch",
            "Short 25 — CosineAnnealingLR (Popular for Modern Training)",
            "stepped after every batch, the scheduler counts steps, so T_max must be epochs * steps_per_epoch; "
            "with T_max = epochs the cosine is over after a few batches and climbs back up.",
            ("per_step_cosine_lrs",), t_max_in_epochs),
    Mistake("one model reused across learning rates", SHORT_20,
            "each learning rate after the first started from the weights the previous one left, so the "
            "comparison is not fair; build a fresh nn.Linear after torch.manual_seed(seed) for every lr.",
            ("lr_sweep",), model_reused_across_lrs),
    Mistake("a fresh model per learning rate without reseeding", SHORT_21,
            "each nn.Linear got different random initial weights, so you compared initialisations, not "
            "learning rates; call torch.manual_seed(seed) again before every nn.Linear.",
            ("lr_sweep",), no_reseed_per_model),
    Mistake("a different seed for each learning rate", SHORT_21,
            "each learning rate was seeded with seed + i, so each started from other initial weights; "
            "reseed with the same seed before every nn.Linear.",
            ("lr_sweep",), seeded_per_lr),
    Mistake("learning rates that did not start from the same model", SHORT_20,
            "the epoch-0 losses differ between learning rates, so the runs did not start from the same "
            "weights and data; reseed with the same seed before every nn.Linear.",
            ("lr_sweep",), different_starts),
    Mistake("a torch optimizer in a by-hand exercise", SHORT_12,
            "a function meant to be written by hand calls torch.optim or clip_grad_norm_; write the update "
            "from tensor operations.",
            ("by_hand",), optimizer_builtin_by_hand),
]
