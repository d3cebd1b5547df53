"""The lesson's common mistakes for 02_gradient_descent, each recognised from the student's answers
or code. A mistake is recognised by what it produces: the judge replays the mistaken code (a
recurrence, a scheduler left alone, a train_step in the wrong order) on the same hidden inputs and
compares. The table at the bottom is the whole list.
"""
import ast
import math

import torch
import torch.nn as nn

from course.grading import Mistake, builtins_used, matches, sibling
from solutions import gradient_descent as ref
from solutions.gradient_descent import OPTIMIZER_BUILTINS




inputs = sibling(__file__, "inputs")

TRAJECTORY_GROUP = {"gd_trajectory": "gd", "sgd_trajectory": "sgd"}


def _all_cases(student, group, signature) -> bool:
    """True when every case of `group` was answered and fits `signature(answer, args)`."""
    answers = [(student.answer(c.key), c.args) for c in student.cases(group)]
    return all(a is not None and signature(a, args) for a, args in answers)


def _same(a, b) -> bool:
    """Two harness records (nested lists/dicts of tensors and numbers) agree within tolerance."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, torch.Tensor):
        return matches(a, b)
    if isinstance(b, float) and isinstance(a, (int, float)):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)
    return a == b


# --- gradients that pile up, and updates autograd records ----------------------------------------

def accumulating(x0: float, lr: float, steps: int) -> torch.Tensor:
    """Gradient descent whose .grad is never cleared: x_{k+1} = x_k - lr * sum_{j<=k} 2 (x_j - 3)."""
    x, pile, xs = x0, 0.0, []
    for _ in range(steps):
        pile += 2 * (x - 3)
        x -= lr * pile
        xs.append(x)
    return torch.tensor(xs, dtype=torch.float64)


def train_step_without_zero_grad(model, optimizer, loss_fn, x, y, max_norm=None):
    loss = loss_fn(model(x), y)
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def train_step_zero_grad_after_backward(model, optimizer, loss_fn, x, y, max_norm=None):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def train_step_clipping_after_step(model, optimizer, loss_fn, x, y, max_norm=None):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return loss.item()


def _train_step_like(student, key, variant) -> bool:
    """The student's train_step record equals what `variant` does on the same inputs, and the
    reference does something else."""
    case = student.case(key)
    answer = student.answer(key)
    replay = inputs.train_run({"train_step": variant}, *case.args)
    right = inputs.train_run({"train_step": ref.train_step}, *case.args)
    return answer is not None and _same(answer, replay) and not _same(answer, right)


def gradients_never_zeroed(student, fn) -> bool:
    if fn == "train_step":
        return _train_step_like(student, "train/0", train_step_without_zero_grad)
    return _all_cases(student, TRAJECTORY_GROUP[fn], lambda a, args: matches(a, accumulating(*args), rtol=1e-4, atol=1e-4))


def zero_grad_after_backward(student, fn) -> bool:
    if fn == "TRAINING_STEP_ORDER":
        order = _step_order(student)
        return bool(order) and order.index("backward") < order.index("zero_grad") < order.index("step")
    if fn == "train_step":
        return _train_step_like(student, "train/0", train_step_zero_grad_after_backward)
    # The grads are cleared before step() reads them, so x never moves.
    return _all_cases(student, "sgd", lambda a, args: matches(a, torch.full((args[2],), float(args[0]))))


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


# --- Adam and AdamW --------------------------------------------------------------------------------

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


# --- clipping, schedulers, sweeps ------------------------------------------------------------------

def _step_order(student) -> list | None:
    """TRAINING_STEP_ORDER as the grader reads it, or None unless it holds each step once."""
    answer = student.answer("quiz/order")
    if not isinstance(answer, (list, tuple)):
        return None
    order = [ref.step_name(a) for a in answer]
    return order if sorted(order) == sorted(ref.TRAINING_STEP_ORDER) else None


def clipping_after_step(student, fn) -> bool:
    if fn == "TRAINING_STEP_ORDER":
        order = _step_order(student)
        return bool(order) and order.index("clip") > order.index("step")
    # The update used the raw gradient, and the clipped one was left behind in .grad.
    return _train_step_like(student, "train_clip/0", train_step_clipping_after_step)


def _schedules(student, signature) -> bool:
    return _all_cases(student, "schedule", lambda a, args: isinstance(a, list)
                      and matches(torch.tensor(a, dtype=torch.float64), signature(args), rtol=1e-9, atol=1e-12))


def scheduler_never_stepped(student, fn) -> bool:
    return _schedules(student, lambda args: torch.full((args[2],), float(args[1]), dtype=torch.float64))


def scheduler_stepped_before_reading(student, fn) -> bool:
    def shifted(args):
        kind, base_lr, epochs = args
        kw = next(c.call.kwargs for c in student.cases("schedule") if c.args == args)
        return torch.tensor(ref.lr_schedule(kind, base_lr, epochs + 1, **kw)[1:], dtype=torch.float64)

    return _schedules(student, shifted)


def lr_sweep_seeded_once(lrs, epochs: int, seed: int) -> dict:
    """The lesson's own sweep: one seed for the data, then a new nn.Linear per lr without reseeding."""
    torch.manual_seed(seed)
    X, y = torch.randn(100, 5), torch.randn(100, 1)
    losses = {}
    for lr in lrs:
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


def no_reseed_per_model(student, fn) -> bool:
    curves = _sweep(student)
    if curves is None:
        return False
    replay = lr_sweep_seeded_once(*student.case("sweep/0").args)
    return all(matches(curve, torch.tensor(replay[lr], dtype=torch.float64)) for lr, curve in curves.items())


def model_reused_across_lrs(student, fn) -> bool:
    curves = _sweep(student)
    if curves is None or any(len(c) == 0 for c in curves.values()):
        return False
    first = torch.stack([c[0] for c in curves.values()])
    unfair = not torch.allclose(first, first[0].expand_as(first), rtol=1e-6, atol=0.0)
    return unfair and not no_reseed_per_model(student, fn)


def optimizer_builtin_by_hand(student, fn) -> bool:
    return any(builtins_used(student.cells, name, OPTIMIZER_BUILTINS)
               for name in ("gd_trajectory", "momentum_step", "adam_step", "rmsprop_step", "cosine_lr",
                            "clip_grad_norm_manual"))


SHORT_13 = "Short 13 — Gradient Descent Toy Example: Minimize (x-3)^2"
MISTAKES = [
    Mistake("gradients never zeroed", SHORT_13,
            "backward() adds into .grad, so each update used the sum of every gradient so far; clear it "
            "once per step (x.grad.zero_() or optimizer.zero_grad()).",
            ("gd_trajectory", "sgd_trajectory", "train_step"), gradients_never_zeroed),
    Mistake("zero_grad between backward and step", "Short 14 — Same Toy Example Using torch.optim.SGD",
            "the gradients were cleared after backward() made them, so step() had nothing to apply; "
            "the order is zero_grad, backward, step.",
            ("sgd_trajectory", "train_step", "TRAINING_STEP_ORDER"), zero_grad_after_backward),
    Mistake("an update outside torch.no_grad()", SHORT_13,
            "the update must not be recorded by autograd, and x must stay the same leaf tensor with "
            "requires_grad=True: write `with torch.no_grad(): x -= lr * x.grad`, in place.",
            ("gd_trajectory",), update_outside_no_grad),
    Mistake("Adam without bias correction", "Short 16 — Adam: The Default “Good Enough” Optimizer",
            "the first step from an empty state is not exactly lr per coordinate: m and v start at zero, "
            "so divide them by (1 - beta1^t) and (1 - beta2^t).",
            ("adam_step",), adam_without_bias_correction),
    Mistake("L2 weight decay where AdamW's decoupled decay was asked for",
            "Short 18 — AdamW: Modern Best Practice + Weight Decay",
            "with decoupled=True the decay must shrink p directly (p *= 1 - lr * weight_decay), not be added "
            "to the gradient, where Adam's 1/sqrt(v) rescales it.",
            ("adam_step",), l2_instead_of_decoupled),
    Mistake("clipping after optimizer.step()", "Short 27 — Gradient Clipping: Prevent Exploding Gradients",
            "the update used the unclipped gradients; clip after backward() and before step().",
            ("train_step", "TRAINING_STEP_ORDER"), clipping_after_step),
    Mistake("a scheduler that is never stepped", "Short 22 — Learning Rate Schedulers: Why Use Them?",
            "the learning rate stays at base_lr every epoch; call scheduler.step() once per epoch.",
            ("lr_schedule",), scheduler_never_stepped),
    Mistake("a scheduler stepped before the lr is read", "Short 23 — StepLR (Drop LR Every N Epochs)",
            "every learning rate is the next epoch's; read param_groups[0]['lr'] for the epoch, then step "
            "(optimizer, then scheduler) at its end.",
            ("lr_schedule",), scheduler_stepped_before_reading),
    Mistake("one model reused across learning rates", "Short 20 — The Learning Rate Is the #1 Hyperparameter",
            "the epoch-0 losses differ, so later learning rates started from where earlier ones left off "
            "(not a fair test); build a fresh nn.Linear after torch.manual_seed(seed) for every lr.",
            ("lr_sweep",), model_reused_across_lrs),
    Mistake("a fresh model per learning rate without reseeding", "Short 21 — Quick LR Comparison Loop",
            "each nn.Linear got different random initial weights, so you compared initialisations, not "
            "learning rates; call torch.manual_seed(seed) again before every nn.Linear.",
            ("lr_sweep",), no_reseed_per_model),
    Mistake("a torch optimizer in a by-hand exercise", "Short 12 — Optimizers: What They Actually Do",
            "a function meant to be written by hand calls torch.optim or clip_grad_norm_; write the update "
            "from tensor operations.",
            ("by_hand",), optimizer_builtin_by_hand),
]
