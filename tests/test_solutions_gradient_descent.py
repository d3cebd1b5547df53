"""Checks that solutions/gradient_descent.py agrees with torch itself and with closed forms."""

import math
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

# Let `python -m pytest tests/...` import the package from the repo root whatever the cwd.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.grading import sibling  # noqa: E402
from solutions.gradient_descent import (  # noqa: E402
    TRAINING_STEP_ORDER,
    adam_step,
    clip_grad_norm_manual,
    cosine_lr,
    diverges,
    epoch_lr_below,
    gd_trajectory,
    lr_schedule,
    lr_sweep,
    momentum_step,
    per_step_cosine_lrs,
    rmsprop_step,
    sgd_trajectory,
)

GRADERS = Path(__file__).resolve().parents[1] / "autograder" / "02_gradient_descent"

PROBLEM_SEED = 0
CLIP_SEED = 1
SWEEP_SEED = 42
STEPS = 50

# (x0, lr, steps): converging, faster, oscillating (1 - 2lr < 0), one-step exact, diverging.
GD_CASES = [(0.0, 0.1, 20), (5.0, 0.3, 15), (-2.0, 0.9, 10), (7.0, 0.5, 5), (1.0, 1.05, 10)]


def closed_form(x0, lr, steps, dtype):
    """x_k = 3 - (3 - x0)(1 - 2 lr)^k for k = 1..steps, evaluated in dtype."""
    k = torch.arange(1, steps + 1, dtype=dtype)
    return 3 - (3 - torch.tensor(x0, dtype=dtype)) * torch.tensor(1 - 2 * lr, dtype=dtype) ** k


@pytest.mark.parametrize("x0, lr, steps", GD_CASES)
def test_gd_trajectory_matches_closed_form(x0, lr, steps):
    """Does hand-written gradient descent on (x-3)^2 follow 3 - (3-x0)(1-2lr)^k in float64 and float32?"""
    xs = gd_trajectory(x0, lr, steps)
    assert xs.dtype == torch.float32 and xs.shape == (steps,)
    torch.testing.assert_close(xs.double(), closed_form(x0, lr, steps, torch.float64), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(xs, closed_form(x0, lr, steps, torch.float32), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x0, lr, steps", GD_CASES)
def test_sgd_trajectory_matches_closed_form_and_gd(x0, lr, steps):
    """Does torch.optim.SGD follow the same closed form, and the same path as the manual update?"""
    xs = sgd_trajectory(x0, lr, steps)
    assert xs.dtype == torch.float32 and xs.shape == (steps,)
    torch.testing.assert_close(xs.double(), closed_form(x0, lr, steps, torch.float64), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(xs, closed_form(x0, lr, steps, torch.float32), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(xs, gd_trajectory(x0, lr, steps), rtol=1e-6, atol=1e-6)


def test_gd_trajectory_takes_an_integer_start():
    """Does gd_trajectory(0, ...) work like gd_trajectory(0.0, ...), in float32 (torch.tensor(0) is an integer)?"""
    torch.testing.assert_close(gd_trajectory(0, 0.1, 5), gd_trajectory(0.0, 0.1, 5), rtol=0, atol=0)


def test_gd_lesson_example_reaches_3():
    """Does the lesson's run (x0=0, lr=0.1, 20 steps) end near the minimum x=3?"""
    assert abs(gd_trajectory(0.0, 0.1, 20)[-1].item() - 3.0) < 0.05


# A fixed random quadratic: loss = sum_i ||p_i @ A_i - B_i||^2 over params of shape (3, 4) and (5,).
def make_problem():
    torch.manual_seed(PROBLEM_SEED)
    params = [torch.randn(3, 4), torch.randn(5)]
    A = [torch.randn(4, 4), torch.randn(5, 5)]
    B = [torch.randn(3, 4), torch.randn(5)]
    return params, A, B


def quadratic_loss(params, A, B):
    return sum(((p @ a - b) ** 2).sum() for p, a, b in zip(params, A, B))


def quadratic_grads(params, A, B):
    leaves = [p.detach().requires_grad_() for p in params]
    return torch.autograd.grad(quadratic_loss(leaves, A, B), leaves)


def assert_matches_torch_optimizer(make_optimizer, step, first_state):
    """Run torch's optimizer and the pure step side by side; compare every param after every step."""
    params, A, B = make_problem()
    theirs = [p.clone().requires_grad_() for p in params]
    optimizer = make_optimizer(theirs)
    ours = [p.clone() for p in params]
    states = [first_state() for _ in ours]
    for _ in range(STEPS):
        optimizer.zero_grad()
        quadratic_loss(theirs, A, B).backward()
        optimizer.step()
        grads = quadratic_grads(ours, A, B)
        for i, g in enumerate(grads):
            ours[i], states[i] = step(ours[i], g, states[i])
            torch.testing.assert_close(ours[i], theirs[i].detach(), rtol=1e-5, atol=1e-6)


def test_momentum_step_matches_torch_sgd():
    """Does momentum_step reproduce torch.optim.SGD(momentum=0.9) for 50 steps, parameter for parameter?"""
    assert_matches_torch_optimizer(
        lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
        lambda p, g, buf: momentum_step(p, g, buf, lr=0.01, momentum=0.9),
        first_state=lambda: None,
    )


def test_momentum_step_first_step_and_purity():
    """Is the first momentum step plain SGD (buf = grad), and are the inputs left untouched?"""
    torch.manual_seed(PROBLEM_SEED)
    p, grad = torch.randn(3, 4), torch.randn(3, 4)
    p_before, grad_before = p.clone(), grad.clone()
    new_p, buf = momentum_step(p, grad, None, lr=0.1, momentum=0.9)
    torch.testing.assert_close(buf, grad, rtol=0, atol=0)
    torch.testing.assert_close(new_p, p - 0.1 * grad, rtol=0, atol=0)
    _, buf2 = momentum_step(new_p, grad, buf, lr=0.1, momentum=0.9)
    torch.testing.assert_close(buf2, 1.9 * grad, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(buf, grad, rtol=0, atol=0)
    torch.testing.assert_close(p, p_before, rtol=0, atol=0)
    torch.testing.assert_close(grad, grad_before, rtol=0, atol=0)


@pytest.mark.parametrize(
    "cls, weight_decay, decoupled, eps",
    [
        (torch.optim.Adam, 0.0, False, 1e-8),
        (torch.optim.Adam, 0.1, False, 1e-8),
        (torch.optim.AdamW, 0.1, True, 1e-8),
        # A large eps makes its placement visible: torch adds it to sqrt(v_hat), not inside the sqrt.
        (torch.optim.Adam, 0.0, False, 0.1),
    ],
    ids=["adam", "adam_l2", "adamw", "adam_big_eps"],
)
def test_adam_step_matches_torch(cls, weight_decay, decoupled, eps):
    """Does adam_step reproduce torch Adam (L2 in the grad) / AdamW (decoupled decay) for 50 steps?"""
    hp = dict(lr=0.01, betas=(0.9, 0.999), eps=eps, weight_decay=weight_decay)
    assert_matches_torch_optimizer(
        lambda ps: cls(ps, **hp),
        lambda p, g, s: adam_step(p, g, s, **hp, decoupled=decoupled),
        first_state=dict,
    )


def test_adam_step_state_and_decoupling_matter():
    """Does the state count steps, and do Adam-L2 and AdamW give different answers for the same wd?"""
    torch.manual_seed(PROBLEM_SEED)
    p, grad = torch.randn(5), torch.randn(5)
    hp = dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5)
    p_l2, state = adam_step(p, grad, {}, **hp, decoupled=False)
    p_w, _ = adam_step(p, grad, {}, **hp, decoupled=True)
    assert state["step"] == 1 and set(state) == {"step", "exp_avg", "exp_avg_sq"}
    assert not torch.allclose(p_l2, p_w, rtol=1e-4, atol=1e-6)
    _, state2 = adam_step(p_l2, grad, state, **hp, decoupled=False)
    assert state2["step"] == 2 and state["step"] == 1  # the input state is not mutated


def test_rmsprop_step_matches_torch():
    """Does rmsprop_step reproduce torch.optim.RMSprop(alpha=0.99, eps=1e-8) for 50 steps?"""
    hp = dict(lr=0.01, alpha=0.99, eps=1e-8)
    assert_matches_torch_optimizer(
        lambda ps: torch.optim.RMSprop(ps, **hp),
        lambda p, g, s: rmsprop_step(p, g, s, **hp),
        first_state=dict,
    )


def test_lr_sweep_is_fair_and_lr_1_diverges():
    """With seed 42 and 10 epochs, do all lrs start from the same loss, 0.01/0.1 decrease and 1.0 blow up?"""
    lrs = [0.001, 0.01, 0.1, 1.0]
    losses = lr_sweep(lrs, epochs=10, seed=SWEEP_SEED)
    assert list(losses) == lrs and all(len(v) == 10 for v in losses.values())
    # Same seed before every nn.Linear, so the first (pre-step) loss is identical across lrs.
    assert len({v[0] for v in losses.values()}) == 1
    for lr in (0.01, 0.1):
        assert all(b < a for a, b in zip(losses[lr], losses[lr][1:]))
    diverged = losses[1.0]
    assert not math.isfinite(diverged[-1]) or diverged[-1] > 100 * diverged[0]


def test_lr_sweep_is_deterministic_and_independent_of_order():
    """Does each lr's curve depend only on (lr, seed), not on which other lrs ran before it?"""
    a = lr_sweep([0.01, 0.1], epochs=5, seed=SWEEP_SEED)
    b = lr_sweep([0.1, 0.01], epochs=5, seed=SWEEP_SEED)
    assert a[0.01] == b[0.01] and a[0.1] == b[0.1]


@pytest.mark.parametrize(
    "kind, kw, epochs, expected",
    [
        ("step", dict(step_size=10, gamma=0.5), 25, [0.1] * 10 + [0.05] * 10 + [0.025] * 5),
        ("exponential", dict(gamma=0.95), 5, [0.1, 0.095, 0.09025, 0.0857375, 0.081450625]),
        # 0.1 * (1 + cos(pi k / 4)) / 2 for k = 0..4
        ("cosine", dict(T_max=4), 5, [0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0]),
    ],
)
def test_lr_schedule_hand_computed(kind, kw, epochs, expected):
    """Is the lr read before each scheduler.step() what StepLR/ExponentialLR/Cosine should give?"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "scheduler.step() before optimizer.step()"
        lrs = lr_schedule(kind, 0.1, epochs, **kw)
    torch.testing.assert_close(
        torch.tensor(lrs, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("base_lr, T_max, eta_min", [(0.1, 50, 0.0), (0.01, 7, 1e-4)])
def test_cosine_lr_matches_scheduler(base_lr, T_max, eta_min):
    """Does the closed-form cosine_lr agree with CosineAnnealingLR for every epoch 0..T_max?"""
    sched = lr_schedule("cosine", base_lr, T_max + 1, T_max=T_max, eta_min=eta_min)
    closed = [cosine_lr(e, base_lr, T_max, eta_min) for e in range(T_max + 1)]
    torch.testing.assert_close(
        torch.tensor(closed, dtype=torch.float64), torch.tensor(sched, dtype=torch.float64), rtol=1e-12, atol=1e-15
    )
    assert closed[0] == base_lr and closed[-1] == pytest.approx(eta_min, abs=1e-15)


def model_with_grads(scale):
    """A small MLP (plus one unused, grad-less layer) after one backward pass on seeded data."""
    torch.manual_seed(CLIP_SEED)
    model = nn.ModuleDict({"net": nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1)), "unused": nn.Linear(3, 3)})
    X, y = torch.randn(32, 10), torch.randn(32, 1)
    (scale * nn.functional.mse_loss(model["net"](X), y)).backward()
    return model


@pytest.mark.parametrize(
    "scale, max_norm, clipped",
    # The tiny case makes torch's 1e-6 in max_norm / (total_norm + 1e-6) visible.
    [(100.0, 1.0, True), (1.0, 1e3, False), (1e-5, 1e-6, True)],
    ids=["clipped", "below_max_norm", "tiny_grads"],
)
def test_clip_grad_norm_manual_matches_torch(scale, max_norm, clipped):
    """Do the returned norm and the grads afterwards equal torch.nn.utils.clip_grad_norm_'s, above and below max_norm?"""
    # Same seed, same data: an identical model with identical grads (deepcopy drops .grad).
    model, twin = model_with_grads(scale), model_with_grads(scale)
    before = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    assert model["unused"].weight.grad is None

    ours = clip_grad_norm_manual(model.parameters(), max_norm)
    theirs = torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm)

    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=0)
    assert bool(ours > max_norm) == clipped
    for p, q in zip(model.parameters(), twin.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=1e-12)

    after = [p.grad for p in model.parameters() if p.grad is not None]
    after_norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in after]))
    if clipped:
        # Not exactly max_norm: torch aims at max_norm * total / (total + 1e-6).
        target = max_norm * ours / (ours + 1e-6)
        torch.testing.assert_close(after_norm, target, rtol=1e-5, atol=0)
    else:
        for g, g0 in zip(after, before):
            torch.testing.assert_close(g, g0, rtol=0, atol=0)


def test_training_step_order():
    """Is the step order zero_grad, forward, loss, backward, clip, step, then scheduler.step?"""
    assert TRAINING_STEP_ORDER == ["zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"]
    assert TRAINING_STEP_ORDER.index("backward") < TRAINING_STEP_ORDER.index("clip") < TRAINING_STEP_ORDER.index("step")


def mlp_and_data():
    torch.manual_seed(CLIP_SEED)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    return model, torch.randn(32, 10), torch.randn(32, 1)


@pytest.mark.parametrize("max_norm", [None, 0.05], ids=["no_clip", "clipped"])
def test_train_step_is_one_clipped_sgd_update(max_norm):
    """Is train_step's update -lr * (clipped) grad of the loss at the old weights, returning that loss?"""
    from solutions.gradient_descent import train_step

    model, X, y = mlp_and_data()
    twin, _, _ = mlp_and_data()
    before = [p.detach().clone() for p in model.parameters()]
    lr = 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    # A stale gradient from an earlier step: train_step must clear it, not add to it.
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    loss = train_step(model, optimizer, nn.MSELoss(), X, y, max_norm=max_norm)

    expected_loss = nn.functional.mse_loss(twin(X), y)
    expected_loss.backward()
    total = torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm if max_norm else math.inf)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss.item(), rel=1e-6)
    if max_norm:
        assert total > 10 * max_norm  # the case really clips
    for b, p, q in zip(before, model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(p.detach(), b - lr * q.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("spelled, name", [
    ("optimizer.zero_grad()", "zero_grad"), ("loss.backward()", "backward"), ("Forward", "forward"),
    ("torch.nn.utils.clip_grad_norm_", "clip"), ("optimizer.step()", "step"), ("scheduler.step()", "scheduler.step"),
])
def test_step_name_reads_common_spellings(spelled, name):
    """Are the usual ways of writing a training-step call read as the quiz's seven names?"""
    from solutions.gradient_descent import step_name

    assert step_name(spelled) == name


# --- Short 15: where SGD with momentum diverges on (x - 3)^2 ---------------------------------------

def distance_ratio(lr, momentum, steps):
    """|x_T - 3| / |x_0 - 3| in float64 for torch's SGD with momentum from x0 = 0: e_1 = (1 - 2 lr) e_0
    (the first buffer is the gradient), then e_{k+1} = (1 + momentum - 2 lr) e_k - momentum e_{k-1}."""
    before, now = -3.0, (1 - 2 * lr) * -3.0
    for _ in range(steps - 1):
        before, now = now, (1 + momentum - 2 * lr) * now - momentum * before
    return abs(now) / 3.0


# The notebook's self-check grid (50 steps) and the grader's (inputs.py).
PUBLIC_GRID = ([0.01, 0.1, 0.5, 1.2, 1.7, 1.95], [0.0, 0.5, 0.9, 0.99], 50)


def grids():
    inputs = sibling(GRADERS / "inputs.py", "inputs")
    return [PUBLIC_GRID, (inputs.DIVERGE_LRS, inputs.DIVERGE_MOMENTA, inputs.DIVERGE_STEPS)]


@pytest.mark.parametrize("grid", range(2), ids=["self-check", "hidden"])
def test_diverges_agrees_with_the_recurrence_far_from_the_boundary(grid):
    """Does diverges agree with the float64 recurrence on every pair of the self-check's and the grader's
    grids, each pair ending at least 15% away from |x - 3| = 3, so float32 rounding cannot flip it?"""
    lrs, momenta, steps = grids()[grid]
    for lr in lrs:
        for momentum in momenta:
            ratio = distance_ratio(lr, momentum, steps)
            assert not 0.85 < ratio < 1 / 0.85, (lr, momentum, ratio)
            assert diverges(lr, momentum, steps) == (ratio > 1), (lr, momentum)


def test_diverges_shows_the_stability_boundary():
    """Over many steps, does SGD with momentum mu diverge on (x - 3)^2 exactly when lr > 1 + mu?"""
    for momentum in (0.0, 0.5, 0.9):
        assert not diverges(0.95 * (1 + momentum), momentum, 200)
        assert diverges(1.05 * (1 + momentum), momentum, 200)


# --- Short 24: the epoch at which ExponentialLR's lr falls below a fraction --------------------------

LR_BELOW_PUBLIC = [(0.95, 0.01), (0.5, 0.01), (0.9, 0.5)]


@pytest.mark.parametrize("which", ["self-check", "hidden"])
def test_epoch_lr_below_is_the_closed_form_far_from_ties(which):
    """Is epoch_lr_below the least e with gamma^e < fraction, on settings at least 5% of an epoch away
    from a tie gamma^e = fraction (where rounding could move the answer)?"""
    pairs = LR_BELOW_PUBLIC if which == "self-check" else sibling(GRADERS / "inputs.py", "inputs").LR_BELOW
    for gamma, fraction in pairs:
        exact = math.log(fraction) / math.log(gamma)
        assert abs(exact - round(exact)) > 0.05, (gamma, fraction)
        assert epoch_lr_below(gamma, fraction) == math.floor(exact) + 1
    assert [epoch_lr_below(*p) for p in LR_BELOW_PUBLIC] == [90, 7, 7]  # the notebook's self-check


# --- Short 25: cosine annealing stepped every batch ------------------------------------------------

@pytest.mark.parametrize("base_lr, epochs, steps_per_epoch, eta_min", [(0.1, 5, 10, 0.0), (0.05, 4, 5, 0.001)])
def test_per_step_cosine_lrs_is_one_half_cosine_over_all_steps(base_lr, epochs, steps_per_epoch, eta_min):
    """Is the lr at step s eta_min + (base_lr - eta_min)(1 + cos(pi s / T))/2 with T = epochs * steps_per_epoch,
    so that the last step runs just above eta_min?"""
    total = epochs * steps_per_epoch
    lrs = per_step_cosine_lrs(base_lr, epochs, steps_per_epoch, eta_min)
    closed = [eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * s / total)) / 2 for s in range(total)]
    torch.testing.assert_close(torch.tensor(lrs, dtype=torch.float64), torch.tensor(closed, dtype=torch.float64),
                               rtol=1e-9, atol=1e-12)
    assert eta_min < lrs[-1] < eta_min + (base_lr - eta_min) * 0.01


# --- the grader's tolerances accept the reference --------------------------------------------------

@pytest.mark.parametrize("seed", [7243, 0, 210, 2024])
def test_reference_passes_the_hidden_optimizer_checks(seed):
    """On several grading seeds (course.toml's, and ones where 50 free-running RMSprop steps drift by 1e-4),
    do the reference step functions pass the grader's own optimizer checks, parameters and state?"""
    from course.grading import Student

    inputs = sibling(GRADERS / "inputs.py", "inputs")
    graders = sibling(GRADERS / "test_gradient_descent.py", "test_gradient_descent")
    namespace = {"momentum_step": momentum_step, "adam_step": adam_step, "rmsprop_step": rmsprop_step}
    calls = {key: call for key, call in inputs.grader_inputs(seed).items() if call.fn == "optimizer_run"}
    outcomes = {key: {"value": inputs.optimizer_run(namespace, *call.args)} for key, call in calls.items()}
    student = Student(calls, outcomes, cells=[])
    for key, fn in [("momentum", "momentum_step"), ("adam", "adam_step"), ("adamw", "adam_step"), ("rmsprop", "rmsprop_step")]:
        graders.check_optimizer_runs(student, key, fn)
