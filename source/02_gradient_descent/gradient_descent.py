# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Day 5 · Assignment 2: Gradient descent and optimizers
#
# *"Optimizers update model parameters to minimize loss."* The loss says **how wrong** the model is;
# the optimizer says **how to fix it**. You will write gradient descent by hand, check it against
# `torch.optim.SGD`, rebuild momentum, Adam, AdamW and RMSprop from their update rules, find where
# momentum becomes unstable, run a fair learning-rate comparison, read learning-rate schedules, clip
# gradients, and put all of it into one production training step.
#
# **How this notebook works**
# - Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
# - Run the **self-check** cell under each exercise. It uses the lesson's own values (x0 = 0, lr = 0.1,
#   momentum 0.9, seed 42, ...), and when it fails it names the likely mistake and the short that
#   teaches it.
# - When you submit, hidden checks call your functions again with **other** starting points, learning
#   rates, betas, eps, weight decays, seeds and schedules, and compare them with `torch.optim` itself,
#   at the same tolerances as the self-checks. Passing the self-checks is necessary, not sufficient.
# - Where an exercise says *by hand*, do not call `torch.optim`, its schedulers or `clip_grad_norm_`:
#   the grader reads your code to check, and the by-hand point also needs those functions to pass
#   their own checks.
# - Before submitting: *Kernel → Restart & Run All*, and check that nothing fails.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
import torch.nn as nn

torch.manual_seed(0)  # the self-checks seed what they use; this seed is only for your own experiments

# %% nbgrader={"grade": false, "grade_id": "helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Helpers for the self-checks. Each self-check uses only the function it checks, on fixed inputs.
from contextlib import contextmanager


@contextmanager
def likely(mistake):
    """Any error inside the block ends with the likely mistake and the short that teaches it."""
    try:
        yield
    except NotImplementedError:
        raise
    except Exception as error:
        raise AssertionError(f"{type(error).__name__}: {error}\nLikely mistake: {mistake}") from None


def expect_close(actual, expected, what, mistake, rtol=1e-5, atol=1e-6):
    """torch.testing.assert_close at the grader's tolerance (rtol, atol), naming the likely mistake."""
    with likely(mistake):
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, msg=lambda m: f"{what}: {m}")


def toy_problem(seed=0):
    """A small quadratic per parameter, loss_i = ||p_i @ A_i - B_i||^2, for params of shape (3, 4) and (5,)."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    A = [torch.randn(4, 4, generator=g) * 0.5, torch.randn(5, 5, generator=g) * 0.5]
    B = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    return params, A, B


def check_against_torch(optimizer, hp, my_step, kind, mistake, steps=50):
    """Run your step function for `steps` steps on each parameter of toy_problem(). At every step, compare
    your new parameter and state with one step of torch's `optimizer(**hp)` from your previous parameter
    and state, at the grader's tolerance (rtol 1e-5, atol 1e-6): step by step, so that float32 rounding
    never piles up over the run. `kind` ("momentum", "adam" or "rmsprop") names the state's format."""
    keys = {"momentum": (), "adam": ("exp_avg", "exp_avg_sq"), "rmsprop": ("square_avg",)}[kind]
    params, A, B = toy_problem()
    for i in range(len(params)):
        p, state = params[i].clone(), None if kind == "momentum" else {}
        for step in range(1, steps + 1):
            leaf = p.detach().clone().requires_grad_()
            (grad,) = torch.autograd.grad(((leaf @ A[i] - B[i]) ** 2).sum(), leaf)
            theirs = optimizer([leaf], **hp)
            with likely(mistake):
                if step > 1 and kind == "momentum":
                    theirs.state[leaf] = {"momentum_buffer": torch.as_tensor(state).clone()}
                elif step > 1:
                    assert isinstance(state, dict) and all(key in state for key in keys), f"the state should hold {keys}"
                    theirs.state[leaf] = {key: torch.as_tensor(state[key]).clone() for key in keys}
                    theirs.state[leaf]["step"] = torch.tensor(float(state.get("step", step - 1)))
                p, state = my_step(p, grad.clone(), state)
            leaf.grad = grad
            theirs.step()
            where = f"step {step}, parameter {i}"
            expect_close(p, leaf.detach(), where, mistake)
            expected = theirs.state[leaf]
            if kind == "momentum":
                expect_close(state, expected["momentum_buffer"], f"{where}: the returned buffer", mistake)
                continue
            for key in keys:
                expect_close(state[key], expected[key], f"{where}: state[{key!r}]", mistake)
            if kind == "adam":
                assert float(state["step"]) == step, f"{where}: state['step'] should be {step}, got {state['step']}"


# %% [markdown] nbgrader={"grade": false, "grade_id": "gd_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Gradient descent by hand: minimise $f(x) = (x - 3)^2$
#
# Start at $x_0$, and repeat: compute the loss, let `loss.backward()` put $f'(x) = 2(x - 3)$ in `x.grad`,
# then step against the gradient, $x \leftarrow x - \text{lr}\cdot f'(x)$. Two details make it work:
#
# - The update is not part of the model: do it inside `with torch.no_grad():`, **in place**
#   (`x -= lr * x.grad`), so `x` stays the same leaf tensor that requires grad.
# - `backward()` **adds** into `.grad`. Clear it after every update with `x.grad.zero_()`.
#
# Write `gd_trajectory(x0, lr, steps)`: start from `x = torch.tensor(float(x0), requires_grad=True)`
# (float32, whether `x0` is written `0` or `0.0`) and return the value of $x$ **after** each step, as a
# float32 tensor of shape `(steps,)`. Each step multiplies the distance to 3 by $(1 - 2\,\text{lr})$, so
# the exact answer is $x_k = 3 - (3 - x_0)(1 - 2\,\text{lr})^k$: your trajectory is compared with it,
# up to float32 rounding.
#
# > **Common mistake (Short 13):** not zeroing grads → updates become incorrect due to accumulation.

# %% nbgrader={"grade": false, "grade_id": "gd", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gd_trajectory(x0, lr, steps):
    """Gradient descent on (x - 3)^2 with autograd and a manual update; x after each step, shape (steps,)."""
    ### BEGIN SOLUTION
    x = torch.tensor(float(x0), requires_grad=True)
    xs = []
    for _ in range(steps):
        loss = (x - 3) ** 2
        loss.backward()
        with torch.no_grad():
            x -= lr * x.grad
        x.grad.zero_()
        xs.append(x.item())
    return torch.tensor(xs, dtype=torch.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gd_trajectory_matches_closed_form", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 13): the lesson's run, x0 = 0 and lr = 0.1 for 20 steps.
with likely("an update recorded by autograd: write `with torch.no_grad(): x -= lr * x.grad`, in place (Short 13)"):
    xs = gd_trajectory(0.0, 0.1, 20)
assert isinstance(xs, torch.Tensor) and xs.shape == (20,) and xs.dtype == torch.float32, "return a float32 tensor of shape (steps,)"
k = torch.arange(1, 21, dtype=torch.float64)
closed_form = (3 - (3 - 0.0) * (1 - 2 * 0.1) ** k).float()  # x_k = 3 - (3 - x0)(1 - 2 lr)^k
expect_close(xs, closed_form, "x after each step",
             "x.grad not zeroed after each update, so the gradients add up (Short 13)", rtol=1e-5, atol=1e-5)
print(f"gd_trajectory: x = {xs[-1]:.4f} after 20 steps (target 3.0); self-check passed (hidden checks: other x0, lr, steps)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_gd_trajectory_matches_closed_form', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sgd_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The same descent with `torch.optim.SGD`
#
# An optimizer does the update for you. Each step is still three calls, in this order:
# `optimizer.zero_grad()` → `loss.backward()` → `optimizer.step()` (which does `x -= lr * x.grad`).
#
# Write `sgd_trajectory(x0, lr, steps)` with `torch.optim.SGD([x], lr=lr)`. It returns what
# `gd_trajectory` returns: the same closed-form path, up to float32 rounding.
#
# > **Common mistakes (Shorts 12, 14):** forgetting `optimizer.step()` and wondering why nothing changes;
# > calling `loss.backward()` before `opt.zero_grad()`, which wipes the fresh gradients before `step()`
# > can use them.

# %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_trajectory(x0, lr, steps):
    """Gradient descent on (x - 3)^2 through torch.optim.SGD; x after each step, shape (steps,)."""
    ### BEGIN SOLUTION
    x = torch.tensor(float(x0), requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    xs = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (x - 3) ** 2
        loss.backward()
        optimizer.step()
        xs.append(x.item())
    return torch.tensor(xs, dtype=torch.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_trajectory_matches_closed_form", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Shorts 12-14): torch.optim.SGD walks the closed-form path, x0 = 0 and lr = 0.1 for 20 steps.
xs = sgd_trajectory(0.0, 0.1, 20)
assert isinstance(xs, torch.Tensor) and xs.shape == (20,) and xs.dtype == torch.float32, "return a float32 tensor of shape (steps,)"
k = torch.arange(1, 21, dtype=torch.float64)
expected = (3 - (3 - 0.0) * (1 - 2 * 0.1) ** k).float()  # x_k = 3 - (3 - x0)(1 - 2 lr)^k
never_moved = bool((xs == 0.0).all())  # still at x0
expect_close(xs, expected, "x after each step",
             "x never moved: optimizer.step() not called (Short 12), or zero_grad between backward and step (Short 14)"
             if never_moved else "optimizer.zero_grad() missing, so the gradients add up (Short 13)",
             rtol=1e-5, atol=1e-5)
print("sgd_trajectory: the closed-form path; self-check passed (hidden checks: other x0, lr, steps)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_sgd_trajectory_matches_closed_form', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "momentum_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. SGD with momentum, by hand
#
# Momentum keeps a running velocity $v$ (a *buffer*) and steps along it, like a rolling ball:
#
# $$v \leftarrow \mu\, v + g, \qquad p \leftarrow p - \text{lr}\cdot v$$
#
# On the very first step there is no buffer yet (`buf is None`): `torch.optim.SGD` starts it as a copy of
# the gradient, $v = g$, so step 1 is plain SGD. The buffer holds no `lr`: other books write
# $v \leftarrow \mu v - \text{lr}\, g$, $p \leftarrow p + v$, which walks the same path while `lr` is
# constant, but it is not torch's buffer, and it stops matching once a scheduler changes `lr`.
#
# Write `momentum_step(p, grad, buf, lr, momentum)`: one step for one parameter tensor, returning the
# pair `(new_p, new_buf)` with torch's buffer. Both values are checked. *By hand*: no `torch.optim`.

# %% nbgrader={"grade": false, "grade_id": "momentum", "locked": false, "schema_version": 3, "solution": true, "task": false}
def momentum_step(p, grad, buf, lr, momentum):
    """One step of torch.optim.SGD(lr, momentum) for one parameter; returns (new_p, new_buf)."""
    ### BEGIN SOLUTION
    # body of momentum_step in solutions/gradient_descent.py (copied by `course release`; edit it there)
    # torch seeds the buffer with the raw gradient rather than with zeros, so step 1 is plain SGD.
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * buf, buf
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_momentum_step_matches_torch_sgd", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 15): the lesson's SGD(lr=0.01, momentum=0.9) for 50 steps, parameters and buffer.
check_against_torch(torch.optim.SGD, dict(lr=0.01, momentum=0.9),
                    lambda p, g, buf: momentum_step(p, g, buf, lr=0.01, momentum=0.9), kind="momentum",
                    mistake="a buffer other than torch's: v = grad on the first step, then v = momentum * v + grad, "
                            "with no lr in it (Short 15)")
print("momentum_step: matches torch.optim.SGD(momentum=0.9) over 50 steps (hidden checks: other lr, momentum)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_momentum_step_matches_torch_sgd', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "diverge_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 3b. High learning rate with high momentum
#
# With momentum $\mu$, a gradient that keeps its sign adds up to about $\text{lr}/(1 - \mu)$ per step:
# ten times `lr` at $\mu = 0.9$. Short 15 warns that a high learning rate together with high momentum
# makes training unstable. Measure where, on $(x - 3)^2$.
#
# Write `diverges(lr, momentum, steps)`: run `torch.optim.SGD([x], lr=lr, momentum=momentum)` on
# $(x - 3)^2$ from `x = torch.tensor(0.0, requires_grad=True)` for `steps` steps (zero_grad, backward,
# step) and return `True` when $x$ ends **farther from 3 than it started**, else `False`. Write the test
# as `not abs(x.item() - 3) <= 3`, so that an `x` that overflowed to nan also counts as diverged.
#
# > **Common mistake (Short 15):** using a high learning rate and high momentum together and getting
# > instability.

# %% nbgrader={"grade": false, "grade_id": "diverges", "locked": false, "schema_version": 3, "solution": true, "task": false}
def diverges(lr, momentum, steps):
    """Whether SGD(lr, momentum) on (x - 3)^2 from x = 0 ends farther from 3 than it started after `steps` steps."""
    ### BEGIN SOLUTION
    x = torch.tensor(0.0, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=momentum)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (x - 3) ** 2
        loss.backward()
        optimizer.step()
    return not abs(x.item() - 3) <= 3
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_momentum_divergence_matches_sgd", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 15): 50 steps for each of these learning rates and momenta.
LRS, MOMENTA = [0.01, 0.1, 0.5, 1.2, 1.7, 1.95], [0.0, 0.5, 0.9, 0.99]
table = [[diverges(lr, momentum, 50) for momentum in MOMENTA] for lr in LRS]
print("lr \\ momentum " + "".join(f"{m:>7}" for m in MOMENTA))
for lr, row in zip(LRS, table):
    print(f"{lr:>15}" + "".join(f"{'BOOM' if d else '.':>7}" for d in row))
F, T = False, True
expected = [[F, F, F, F], [F, F, F, F], [F, F, F, F], [T, F, F, F], [T, T, F, T], [T, T, T, T]]
assert table == expected, ("diverges disagrees with SGD on this table. Likely mistake: "
                           + ("momentum never reaches torch.optim.SGD (Short 15)" if all(row == [row[0]] * 4 for row in table)
                              else "the test: diverged means abs(x - 3) > 3 after the last step (Short 15)"))
print("diverges: plain SGD blows up above lr = 1, momentum lets lr go to 1 + momentum, but momentum 0.99 "
      "still swings farther out than it started (hidden checks: other lrs, momenta, steps)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_momentum_divergence_matches_sgd', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "adam_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Adam and AdamW, by hand
#
# Adam keeps two running averages per parameter — of the gradient ($m$, like momentum) and of its
# square ($v$, like RMSprop) — and divides one by the square root of the other, so every coordinate
# gets its own step size. At step $t = 1, 2, \dots$:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2$$
# $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
# p \leftarrow p - \text{lr}\cdot\frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
#
# $m$ and $v$ start at zero, so early on they are far too small; dividing by $1 - \beta^t$ (the **bias
# correction**) undoes that. With it, the very first step moves each coordinate by almost exactly `lr`.
# Note where $\epsilon$ goes: **outside** the square root, and it is the `eps` you are given (the hidden
# checks use an eps large enough for both to matter).
#
# **Weight decay** comes in two flavours, and this is what AdamW changed:
# - `torch.optim.Adam(weight_decay=wd)` is **L2**: before anything else, $g \leftarrow g + \text{wd}\cdot p$.
#   The decay then goes through $m$ and $v$ and gets rescaled like any gradient.
# - `torch.optim.AdamW(weight_decay=wd)` is **decoupled**: before the Adam update, $p \leftarrow p\,(1 -
#   \text{lr}\cdot\text{wd})$, and the gradient is left alone.
#
# Write `adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled)`: one step for one
# parameter. `state` is `{}` on the first call; return `(new_p, new_state)` with
# `new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}` (both are checked). `decoupled=False` is
# Adam, `decoupled=True` is AdamW. *By hand*.
#
# > **Common mistakes (Shorts 16, 18):** copying SGD learning rates to Adam (it typically wants about
# > 1e-3), and setting `weight_decay` too high and underfitting badly.

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
    """One step of torch.optim.Adam (decoupled=False) or AdamW (decoupled=True); returns (new_p, new_state)."""
    ### BEGIN SOLUTION
    # body of adam_step in solutions/gradient_descent.py (copied by `course release`; edit it there)
    beta1, beta2 = betas
    t = state.get("step", 0) + 1
    m = state.get("exp_avg", torch.zeros_like(p))
    v = state.get("exp_avg_sq", torch.zeros_like(p))

    if decoupled:
        # AdamW: shrink the weights directly, so the decay is not rescaled by 1/sqrt(v).
        p = p * (1 - lr * weight_decay)
    else:
        # Adam's weight_decay is L2: it enters the gradient and then goes through m and v.
        grad = grad + weight_decay * p

    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    # m and v start at zero, so early on they underestimate; dividing by 1 - beta^t undoes that.
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p = p - lr * m_hat / (v_hat.sqrt() + eps)
    return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adam_step_matches_torch_adam", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 16): the lesson's Adam(lr=0.001). The first step from an empty state moves each
# coordinate by lr (bias correction), then 50 steps follow torch.optim.Adam, parameters and state.
p, g = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.3, -2.0, 1.0])
new_p, state = adam_step(p, g, {}, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False)
expect_close(new_p, p - 0.001 * g.sign(), "the first step from an empty state",
             "Adam without bias correction: divide m by (1 - beta1^t) and v by (1 - beta2^t) (Short 16)")
assert state["step"] == 1 and {"step", "exp_avg", "exp_avg_sq"} <= set(state), f"the new state should be {{'step': 1, 'exp_avg': m, 'exp_avg_sq': v}}, got {state}"
adam = dict(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
check_against_torch(torch.optim.Adam, adam, lambda p, g, s: adam_step(p, g, s, **adam, decoupled=False), kind="adam",
                    mistake="eps inside the square root, or m and v updated in another order (Short 16)")
print("adam_step: matches torch.optim.Adam over 50 steps (hidden checks: other lr, betas, eps, L2 weight decay)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_adam_step_matches_torch_adam', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_adam_step_matches_torch_adamw", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 18): the lesson's AdamW(lr=0.001, weight_decay=0.01). With a zero gradient and a
# fresh state, AdamW only shrinks p by (1 - lr * wd); then 50 steps follow torch.optim.AdamW.
p, zero = torch.tensor([2.0, -1.0, 0.5]), torch.zeros(3)
new_p, _ = adam_step(p, zero, {}, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, decoupled=True)
expect_close(new_p, p * (1 - 0.001 * 0.01), "one step with a zero gradient",
             "L2 weight decay where AdamW's decoupled decay was asked for: p = p * (1 - lr * weight_decay) (Short 18)")
adamw = dict(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
check_against_torch(torch.optim.AdamW, adamw, lambda p, g, s: adam_step(p, g, s, **adamw, decoupled=True), kind="adam",
                    mistake="the decay applied after the Adam update, or added to the gradient (Short 18)")
print("adam_step: matches torch.optim.AdamW over 50 steps (hidden checks: other lr, betas, weight decay)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_adam_step_matches_torch_adamw', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "rmsprop_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. RMSprop, by hand
#
# RMSprop divides the step by a running average of squared gradients, so coordinates with large
# gradients take smaller steps:
#
# $$v \leftarrow \alpha\, v + (1 - \alpha)\, g^2, \qquad p \leftarrow p - \text{lr}\cdot\frac{g}{\sqrt{v} + \epsilon}$$
#
# Unlike Adam there is no bias correction: torch divides by the raw running average, which starts at 0.
# As in Adam, $\epsilon$ is the `eps` argument, outside the square root.
# Write `rmsprop_step(p, grad, state, lr, alpha, eps)` matching `torch.optim.RMSprop(lr, alpha, eps)`
# (no momentum, not centered). `state` is `{}` first, then `{"square_avg": v}`; return `(new_p, new_state)`.
# *By hand*.
#
# > **Common mistake (Short 17):** thinking RMSprop is always better; try Adam/AdamW first unless you
# > have a reason.

# %% nbgrader={"grade": false, "grade_id": "rmsprop", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rmsprop_step(p, grad, state, lr, alpha, eps):
    """One step of torch.optim.RMSprop(lr, alpha, eps) for one parameter; returns (new_p, new_state)."""
    ### BEGIN SOLUTION
    # body of rmsprop_step in solutions/gradient_descent.py (copied by `course release`; edit it there)
    v = state.get("square_avg", torch.zeros_like(p))
    v = alpha * v + (1 - alpha) * grad * grad
    # No bias correction here, unlike Adam: torch's RMSprop divides by the raw running average.
    p = p - lr * grad / (v.sqrt() + eps)
    return p, {"square_avg": v}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rmsprop_step_matches_torch", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 17): the lesson's RMSprop(lr=0.01, alpha=0.99) for 50 steps, parameters and state.
rms = dict(lr=0.01, alpha=0.99, eps=1e-8)
check_against_torch(torch.optim.RMSprop, rms, lambda p, g, s: rmsprop_step(p, g, s, **rms), kind="rmsprop",
                    mistake="eps inside the square root or a hard-coded eps, or a bias correction RMSprop does not have (Short 17)")
print("rmsprop_step: matches torch.optim.RMSprop over 50 steps (hidden checks: other lr, alpha, eps)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_rmsprop_step_matches_torch', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "sweep_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. The learning rate, compared fairly
#
# If training diverges, suspect the learning rate first. Comparing learning rates is an experiment, and
# a fair one changes **one** thing: the same data, the same initial weights, the same number of updates.
#
# Write `lr_sweep(lrs, epochs, seed)` on the lesson's random regression:
# 1. `torch.manual_seed(seed)`, then `X = torch.randn(100, 5)` and `y = torch.randn(100, 1)`.
# 2. For each `lr`: `torch.manual_seed(seed)` **again**, a fresh `nn.Linear(5, 1)`, `torch.optim.SGD`
#    with that `lr`, and `epochs` full-batch steps of `nn.MSELoss()` (zero_grad, loss, backward, step).
# 3. Return `{lr: [loss.item() of each epoch]}`, each loss taken before that epoch's `step()`.
#
# Reseeding before every `nn.Linear` gives every `lr` the same initial weights, so the epoch-0 losses
# are identical: the loss of that one initial model. (The lesson's own loop seeds only once: look at its
# epoch-0 losses.) After that, a learning rate that converges lowers the loss at every epoch, and one
# that diverges raises it.
#
# > **Common mistakes (Shorts 20, 21):** not resetting the model when comparing learning rates
# > (you're not running a fair test), and comparing losses from different random initialisations
# > without setting a seed.

# %% nbgrader={"grade": false, "grade_id": "lr_sweep", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lr_sweep(lrs, epochs, seed):
    """A fair learning-rate comparison; returns {lr: [loss of each epoch]}."""
    ### BEGIN SOLUTION
    # body of lr_sweep in solutions/gradient_descent.py (copied by `course release`; edit it there)
    torch.manual_seed(seed)
    X = torch.randn(100, 5)
    y = torch.randn(100, 1)
    criterion = nn.MSELoss()

    losses = {}
    for lr in lrs:
        # Reseed so every lr starts from the same weights: otherwise we compare inits, not lrs.
        torch.manual_seed(seed)
        model = nn.Linear(5, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        history = []
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = criterion(model(X), y)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        losses[lr] = history
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lr_sweep_is_fair", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Shorts 20, 21): the lesson's sweep, seed 42 and 10 epochs. Every lr starts from one model.
sweep = lr_sweep([0.001, 0.01, 0.1, 1.0], epochs=10, seed=42)
assert list(sweep) == [0.001, 0.01, 0.1, 1.0] and all(len(h) == 10 for h in sweep.values()), "one list of 10 losses per lr"
first = torch.tensor([h[0] for h in sweep.values()])
expect_close(first, torch.full((4,), first[0].item()), "the epoch-0 loss of each lr",
             "the model not rebuilt after torch.manual_seed(seed) for every lr (Shorts 20, 21)", rtol=1e-6, atol=0.0)
expect_close(first, torch.full((4,), 1.73967), "the epoch-0 loss",
             "X and y not made right after torch.manual_seed(seed), or a model made before reseeding (Short 21)", rtol=1e-5, atol=0.0)
falls = lambda h: all(b < a for a, b in zip(h, h[1:]))
assert falls(sweep[0.01]) and falls(sweep[0.1]) and sweep[1.0][-1] > sweep[1.0][0], \
    "lr = 0.01 and 0.1 should lower the loss at every epoch and lr = 1.0 raise it: is each loss the one before that epoch's step()?"
print("lr_sweep: every lr starts from the same loss, 1.73967 (hidden checks: other seed, lrs, epochs)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_lr_sweep_is_fair', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_lr_sweep_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 21): the loss after 10 epochs per lr. 0.01 and 0.1 learn; 1.0 diverges.
sweep = lr_sweep([0.001, 0.01, 0.1, 1.0], epochs=10, seed=42)
last = torch.tensor([sweep[lr][-1] for lr in (0.01, 0.1, 1.0)])
expect_close(last, torch.tensor([1.3685, 0.82499, 179792.0]), "the loss after 10 epochs",
             "a step other than zero_grad, loss, backward, step on full-batch MSE (Short 21)", rtol=1e-3, atol=0.0)

import matplotlib.pyplot as plt
for lr, history in sweep.items():
    plt.semilogy(history, label=f"lr = {lr}")
plt.xlabel("epoch"); plt.ylabel("MSE loss"); plt.legend(); plt.title("Same model, same data, four learning rates")
plt.show()
print("lr_sweep: lr = 1.0 diverges, 0.1 learns fastest; self-check passed")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_lr_sweep_matches_reference', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "schedule_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7. Learning-rate schedules
#
# Big steps early to learn fast, small steps later to settle. A scheduler changes the `lr` stored in the
# optimizer's `param_groups`; it moves on only when you call `scheduler.step()`, usually once at the
# **end** of each epoch, after that epoch's `optimizer.step()`s.
#
# - `StepLR(optimizer, step_size, gamma)`: multiply the lr by `gamma` every `step_size` epochs.
# - `ExponentialLR(optimizer, gamma)`: multiply it by `gamma` every epoch.
# - `CosineAnnealingLR(optimizer, T_max, eta_min=0)`: follow half a cosine from `base_lr` down to
#   `eta_min` over `T_max` epochs:
#   $$\text{lr}(e) = \eta_{\min} + (\text{base\_lr} - \eta_{\min})\,\frac{1 + \cos(\pi e / T_{\max})}{2}$$
#
# Write:
# - `lr_schedule(kind, base_lr, epochs, **kw)` for `kind` in `"step"`, `"exponential"`, `"cosine"`: make a
#   real optimizer (`torch.optim.SGD` over one dummy parameter, `lr=base_lr`) and the scheduler with `**kw`;
#   for each epoch, read `optimizer.param_groups[0]["lr"]` (the lr **in effect for that epoch**), then
#   `optimizer.step()`, then `scheduler.step()`. Return the list of `epochs` learning rates.
# - `cosine_lr(epoch, base_lr, T_max, eta_min=0.0)` from the formula above, *by hand*: no scheduler.
#
# > **Common mistakes (Shorts 22, 23):** using a scheduler but forgetting to call `scheduler.step()`,
# > and stepping the scheduler at the wrong time.

# %% nbgrader={"grade": false, "grade_id": "schedules", "locked": false, "schema_version": 3, "solution": true, "task": false}
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


def lr_schedule(kind, base_lr, epochs, **kw):
    """The lr in effect at each epoch 0..epochs-1, read from a real optimizer driven by the scheduler."""
    ### BEGIN SOLUTION
    # body of lr_schedule in solutions/gradient_descent.py (copied by `course release`; edit it there)
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=base_lr)
    scheduler = SCHEDULERS[kind](optimizer, **kw)
    lrs = []
    for _ in range(epochs):
        # The lr in effect for this epoch is read before the scheduler moves it on.
        lrs.append(optimizer.param_groups[0]["lr"])
        # optimizer.step() first, as in a real loop; the reverse order makes torch warn.
        optimizer.step()
        scheduler.step()
    return lrs
    ### END SOLUTION


def cosine_lr(epoch, base_lr, T_max, eta_min=0.0):
    """Cosine annealing from the formula: base_lr at epoch 0, eta_min at epoch T_max."""
    ### BEGIN SOLUTION
    # body of cosine_lr in solutions/gradient_descent.py (copied by `course release`; edit it there)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lr_schedule_matches_torch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Shorts 22-25): the lesson's three schedulers from lr = 0.1.
stepping = "scheduler.step() never called (Short 22), or called before the epoch's lr is read (Short 23)"
got = lr_schedule("step", 0.1, 25, step_size=10, gamma=0.5)
expect_close(torch.tensor(got, dtype=torch.float64), torch.tensor([0.1] * 10 + [0.05] * 10 + [0.025] * 5, dtype=torch.float64),
             "StepLR, lr per epoch", stepping, rtol=1e-9, atol=1e-12)
got = lr_schedule("exponential", 0.1, 5, gamma=0.95)
expect_close(torch.tensor(got, dtype=torch.float64), torch.tensor([0.1, 0.095, 0.09025, 0.0857375, 0.081450625], dtype=torch.float64),
             "ExponentialLR, lr per epoch", stepping, rtol=1e-9, atol=1e-12)
got = lr_schedule("cosine", 0.1, 51, T_max=50)
expect_close(torch.tensor([got[0], got[25], got[50]], dtype=torch.float64), torch.tensor([0.1, 0.05, 0.0], dtype=torch.float64),
             "CosineAnnealingLR at epochs 0, 25 and 50", stepping, rtol=1e-9, atol=1e-12)
print("lr_schedule: StepLR, ExponentialLR and CosineAnnealingLR as expected (hidden checks: other settings)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_lr_schedule_matches_torch', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cosine_lr_matches_scheduler", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 25): the formula agrees with CosineAnnealingLR(T_max=50) itself at every epoch.
from torch.optim.lr_scheduler import CosineAnnealingLR

optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
scheduler = CosineAnnealingLR(optimizer, T_max=50)
torch_lrs = []
for epoch in range(51):
    torch_lrs.append(optimizer.param_groups[0]["lr"])
    optimizer.step()
    scheduler.step()
closed = torch.tensor([cosine_lr(e, 0.1, 50) for e in range(51)], dtype=torch.float64)
expect_close(closed, torch.tensor(torch_lrs, dtype=torch.float64), "cosine_lr at every epoch",
             "the formula: eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2 (Short 25)", rtol=1e-9, atol=1e-12)
print("cosine_lr: matches CosineAnnealingLR at every epoch (hidden checks: other base_lr, T_max, eta_min)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_cosine_lr_matches_scheduler', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "lr_below_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 7b. A gamma too small stops learning
#
# `ExponentialLR` multiplies the lr by `gamma` every epoch, so epoch $e$ runs at
# $\text{base\_lr}\cdot\gamma^e$ (epoch 0 at `base_lr` itself). A gamma that looks harmless can stop
# learning long before training ends.
#
# Write `epoch_lr_below(gamma, fraction)`: the first epoch whose lr is **below** `fraction * base_lr`
# (it does not depend on `base_lr`). Use a real `ExponentialLR` on a dummy optimizer, or the formula.
#
# > **Common mistake (Short 24):** setting gamma too small and killing learning too early.

# %% nbgrader={"grade": false, "grade_id": "lr_below", "locked": false, "schema_version": 3, "solution": true, "task": false}
from torch.optim.lr_scheduler import ExponentialLR


def epoch_lr_below(gamma, fraction):
    """The first epoch whose lr under ExponentialLR(gamma) is below fraction * base_lr."""
    ### BEGIN SOLUTION
    # body of epoch_lr_below in solutions/gradient_descent.py (copied by `course release`; edit it there)
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=1.0)
    scheduler = ExponentialLR(optimizer, gamma=gamma)
    epoch = 0
    while not optimizer.param_groups[0]["lr"] < fraction:
        optimizer.step()
        scheduler.step()
        epoch += 1
    return epoch
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_epoch_lr_below_matches_exponential_lr", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 24): the lesson's gamma = 0.95 keeps the lr above 1% of base_lr for 90 epochs; 0.5 for 7.
got = [epoch_lr_below(0.95, 0.01), epoch_lr_below(0.5, 0.01), epoch_lr_below(0.9, 0.5)]
assert got == [90, 7, 7], f"got {got}, expected [90, 7, 7]. Likely mistake: " + (
    "an epoch count one off: epoch 0 runs at base_lr, epoch e at base_lr * gamma^e (Short 24)"
    if all(isinstance(g, (int, float)) and abs(g - e) == 1 for g, e in zip(got, [90, 7, 7]))
    else "the lr compared with fraction * base_lr, strictly below (Short 24)")
print(f"epoch_lr_below: with gamma = 0.5 the lr is below 1% of base_lr from epoch {got[1]} on (hidden checks: other gammas, fractions)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_epoch_lr_below_matches_exponential_lr', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "per_step_cosine_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 7c. Cosine annealing stepped every batch
#
# `T_max` is counted in **scheduler steps**. Stepped once per epoch, that is epochs; many recipes step the
# scheduler after every batch instead, and then `T_max` must be the total number of steps,
# `epochs * steps_per_epoch`. Otherwise the cosine is over after a few batches, and `CosineAnnealingLR`
# climbs back up.
#
# Write `per_step_cosine_lrs(base_lr, epochs, steps_per_epoch, eta_min=0.0)`: a dummy optimizer with
# `lr=base_lr` and `CosineAnnealingLR` with the right `T_max`; for each of the `epochs * steps_per_epoch`
# batches, read the lr, `optimizer.step()`, `scheduler.step()`. Return the list of lrs, one per batch.
# The last batch runs just above `eta_min`.
#
# > **Common mistake (Short 25):** misunderstanding `T_max` (it's the cycle length in epochs/steps,
# > depending on how you step).

# %% nbgrader={"grade": false, "grade_id": "per_step_cosine", "locked": false, "schema_version": 3, "solution": true, "task": false}
from torch.optim.lr_scheduler import CosineAnnealingLR


def per_step_cosine_lrs(base_lr, epochs, steps_per_epoch, eta_min=0.0):
    """The lr of every batch when CosineAnnealingLR is stepped after every batch."""
    ### BEGIN SOLUTION
    # body of per_step_cosine_lrs in solutions/gradient_descent.py (copied by `course release`; edit it there)
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=base_lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch, eta_min=eta_min)
    lrs = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return lrs
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_per_step_cosine_ends_at_last_step", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 25): 5 epochs of 10 batches from lr = 0.1, stepped every batch, so T_max = 50 steps.
lrs = per_step_cosine_lrs(0.1, 5, 10)
assert isinstance(lrs, list) and len(lrs) == 50, "one lr per batch: 50 of them"
closed = torch.tensor([0.1 * (1 + math.cos(math.pi * s / 50)) / 2 for s in range(50)], dtype=torch.float64)
got = torch.tensor([float(lr) for lr in lrs], dtype=torch.float64)
t_max = "T_max counted in epochs: stepped every batch, T_max = epochs * steps_per_epoch (Short 25)"
expect_close(got[-1], closed[-1], "the lr at the last batch", t_max, rtol=1e-9, atol=1e-12)
expect_close(got, closed, "the lr at every batch", t_max + ", and the lr read before scheduler.step() (Short 23)", rtol=1e-9, atol=1e-12)
print(f"per_step_cosine_lrs: the last batch runs at {lrs[-1]:.2e}, just above eta_min = 0 (hidden checks: other epochs, batches, eta_min)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_per_step_cosine_ends_at_last_step', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "clip_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8. Gradient clipping, by hand
#
# Exploding gradients make the loss spike. `torch.nn.utils.clip_grad_norm_(parameters, max_norm)` looks at
# all the gradients as one long vector: it computes their **total 2-norm**
# $\|g\| = \sqrt{\sum_p \|g_p\|^2}$ and, if it exceeds `max_norm`, scales every gradient in place by
# the same factor. Exactly:
#
# $$c = \min\Big(1,\; \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\Big), \qquad g_p \leftarrow c\, g_p$$
#
# (the $10^{-6}$ avoids dividing by zero; the $\min$ means small gradients are never scaled up).
#
# Write `clip_grad_norm_manual(parameters, max_norm)`: it returns the total norm from **before**
# clipping, as a tensor, and scales the `.grad` of every parameter in place. Skip parameters whose
# `.grad` is `None`. `parameters` may be a generator such as `model.parameters()`, which can be looped
# over only once. *By hand*: no `clip_grad_norm_`.
#
# > **Common mistake (Short 27):** clipping after `optimizer.step()` (too late).

# %% nbgrader={"grade": false, "grade_id": "clip", "locked": false, "schema_version": 3, "solution": true, "task": false}
def clip_grad_norm_manual(parameters, max_norm):
    """torch.nn.utils.clip_grad_norm_ by hand: scale all grads in place; return the total norm before clipping."""
    ### BEGIN SOLUTION
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    with torch.no_grad():
        total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
        coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)
    return total_norm
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_clip_grad_norm_manual_matches_torch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 27): the lesson's MLP and max_norm = 1.0, against clip_grad_norm_ on an identical twin.
def mlp_with_grads(scale):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    X, y = torch.randn(32, 10), torch.randn(32, 1)
    (scale * nn.MSELoss()(model(X), y)).backward()
    return model

for scale, max_norm in [(1.0, 1.0), (1.0, 10.0), (1e-5, 1e-6)]:  # clipped, left alone, tiny
    model, twin = mlp_with_grads(scale), mlp_with_grads(scale)
    mine = clip_grad_norm_manual(model.parameters(), max_norm)
    theirs = torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm)
    expect_close(torch.as_tensor(mine), theirs, f"the total norm (max_norm = {max_norm})",
                 "the norm taken after scaling, or not over every gradient at once (Short 27)", rtol=1e-5, atol=0.0)
    for i, (p, q) in enumerate(zip(model.parameters(), twin.parameters())):
        expect_close(p.grad, q.grad, f"the gradient of parameter {i} (max_norm = {max_norm})",
                     "`parameters` looped over twice (a generator is empty the second time: make a list), "
                     "or the 1e-6 left out of max_norm / (total_norm + 1e-6) (Short 27)", rtol=1e-5, atol=1e-12)
print("clip_grad_norm_manual: matches clip_grad_norm_ (hidden checks: other models, norms and max_norm)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_clip_grad_norm_manual_matches_torch', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_manual_updates_no_builtin", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: the by-hand exercises call no torch optimizer, scheduler or clip_grad_norm_. The grader
# reads your code (and the functions it calls) the same way, and gives the point when each of these
# functions also passes its own check above.
FORBIDDEN = {"SGD", "Adam", "AdamW", "RMSprop", "StepLR", "ExponentialLR", "CosineAnnealingLR", "lr_scheduler",
             "clip_grad_norm_", "clip_grad_norm", "_functional"}

def names_used(fn):  # the global and attribute names fn refers to, nested code included, less your own functions
    def walk(code):
        return set(code.co_names).union(*(walk(c) for c in code.co_consts if hasattr(c, "co_names")))
    own = {name for name in walk(fn.__code__) if getattr(fn.__globals__.get(name), "__module__", None) == "__main__"}
    return walk(fn.__code__) - own

for fn in (gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr, clip_grad_norm_manual):
    used = names_used(fn) & FORBIDDEN
    assert not used, f"{fn.__name__} uses {sorted(used)}. Likely mistake: a torch optimizer in a by-hand exercise (Short 12)"
print("gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr, clip_grad_norm_manual: no built-in optimizer found")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_manual_updates_no_builtin', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_step_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 9. The production training step
#
# Everything comes together in one step of the "golden" training loop:
# `model.train()` → `optimizer.zero_grad()` → forward → loss → `loss.backward()` → clip (optional) →
# `optimizer.step()`. Clipping must sit between `backward()` (which makes the gradients) and `step()`
# (which uses them). The loss takes the prediction first: `loss_fn(model(x), y)`.
#
# Write `train_step(model, optimizer, loss_fn, x, y, max_norm=None)`: one such step on the batch `(x, y)`,
# clipping with `torch.nn.utils.clip_grad_norm_` only when `max_norm` is given (the built-in is fine here).
# Return the loss as a Python float (`loss.item()`). The grader checks the model's mode during the
# forward pass, the gradients `optimizer.step()` finds, the weights after it and the returned loss;
# where you clear the gradients is up to you, as long as it is not between `backward()` and `step()`.
#
# > **Common mistake (Short 28):** forgetting `model.train()` during training (it matters with dropout
# > and batchnorm).

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
    """One training step: model.train(), zero_grad, forward, loss, backward, optional clip, step. Returns loss.item()."""
    ### BEGIN SOLUTION
    # body of train_step in solutions/gradient_descent.py (copied by `course release`; edit it there)
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    if max_norm is not None:
        # After backward (there is nothing to clip before) and before step (which reads the grads).
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_step_matches_reference", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 28): two calls on the lesson's MLP with SGD(lr=0.1) equal two steps done by hand.
def lesson_mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))

torch.manual_seed(2)
X, y = torch.randn(32, 10), torch.randn(32, 1)
model, twin = lesson_mlp(), lesson_mlp()
model.eval()  # train_step is the one to switch to training mode
modes = []
model[0].register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for call in range(2):
    loss = train_step(model, optimizer, nn.MSELoss(), X, y)
    assert modes and all(modes), "the model was in eval mode during the forward pass. Likely mistake: model.train() not called (Short 28)"
    expected = nn.MSELoss()(twin(X), y)
    twin.zero_grad()
    expected.backward()
    with torch.no_grad():
        for q in twin.parameters():
            q -= 0.1 * q.grad
    assert isinstance(loss, float), f"return loss.item(), not {type(loss).__name__}"
    expect_close(torch.tensor(loss), expected.detach(), f"the loss returned by call {call + 1}",
                 "the loss taken after the step, or its arguments swapped: loss_fn(model(x), y) (Short 28)", rtol=1e-5, atol=1e-7)
    for i, (p, q) in enumerate(zip(model.parameters(), twin.parameters())):
        expect_close(p.detach(), q.detach(), f"parameter {i} after call {call + 1}",
                     "optimizer.step() missing (Short 12), zero_grad missing so gradients add up (Short 13), "
                     "or zero_grad between backward and step (Short 14)")
print("train_step: two steps as expected (hidden checks: another model, data and loss)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_train_step_matches_reference', globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_step_clips_before_step", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check (Short 27): with max_norm = 0.01 the update is -lr times the *clipped* gradient.
def lesson_mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))

torch.manual_seed(2)
X, y = torch.randn(32, 10), torch.randn(32, 1)
model, twin = lesson_mlp(), lesson_mlp()
train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), X, y, max_norm=0.01)
nn.MSELoss()(twin(X), y).backward()
torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.01)
for i, (p, q) in enumerate(zip(model.parameters(), twin.parameters())):
    expect_close(p.detach(), q.detach() - 0.1 * q.grad, f"parameter {i} after the step",
                 "clipping after optimizer.step(), or not at all: clip between backward() and step() (Short 27)")
print("train_step: clips between backward and step (hidden checks: another model and max_norm)")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_train_step_clips_before_step', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 10. Quiz: the order of a training step
#
# Put these seven names in the order one training iteration runs them, as a list of strings in
# `TRAINING_STEP_ORDER`: `"zero_grad"`, `"forward"`, `"loss"`, `"backward"`, `"clip"`, `"step"`,
# `"scheduler.step"`. Take an epoch with a single batch, so the scheduler steps once per iteration.
#
# `zero_grad` only has to come before `backward`: the lesson puts it first in one loop and right after
# the loss in another, and both are right. Every other name has exactly one place.
#
# > **Common mistakes (Shorts 14, 22, 23, 27):** `backward` before `zero_grad`, a scheduler that is never
# > stepped or stepped before the optimizer, and clipping after `optimizer.step()`.

# %% nbgrader={"grade": false, "grade_id": "quiz", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
TRAINING_STEP_ORDER = ["zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"]
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_quiz_training_step_order", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Self-check: the format only. The order is checked when you submit.
NAMES = {"zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"}
assert isinstance(TRAINING_STEP_ORDER, list) and sorted(TRAINING_STEP_ORDER) == sorted(NAMES), f"use each of {sorted(NAMES)} once"
print("TRAINING_STEP_ORDER: well formed")
### BEGIN HIDDEN TESTS
# For `nbgrader autograde`: the hidden grader test of the same name (course/nbgrader_bridge.py).
from course.nbgrader_bridge import check as _hidden_check
_hidden_check('02_gradient_descent', 'test_quiz_training_step_order', globals())
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "outro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Done?
#
# *Kernel → Restart & Run All*, check every self-check prints its message, then submit this notebook.
# When training misbehaves, change one thing at a time (Short 32): the learning rate first, then the
# optimizer, then the schedule.
