"""Authoring script for source/02_gradient_descent/gradient_descent.ipynb. Run: python tools/notebooks/02_gradient_descent.py"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbbuild import answer, check, code, md, write  # noqa: E402

cells = [
    md("intro", """
    # Day 5 · Assignment 2: Gradient descent and optimizers

    *"Optimizers update model parameters to minimize loss."* The loss says **how wrong** the model is;
    the optimizer says **how to fix it**. You will write gradient descent by hand, check it against
    `torch.optim.SGD`, rebuild momentum, Adam, AdamW and RMSprop from their update rules, run a fair
    learning-rate comparison, read learning-rate schedules, clip gradients, and put all of it into one
    production training step.

    **How this notebook works**
    - Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line).
    - Run the **self-check** cell under each exercise. It uses the lesson's own values (x0 = 0, lr = 0.1,
      momentum 0.9, seed 42, ...).
    - When you submit, hidden checks call your functions again with **other** starting points, learning
      rates, betas, weight decays, seeds and schedules, and compare them with `torch.optim` itself.
      Passing the self-checks is necessary, not sufficient.
    - Where an exercise says *by hand*, do not call `torch.optim`, its schedulers or `clip_grad_norm_`:
      the grader reads your code to check.
    - Before submitting: *Kernel → Restart & Run All*, and check that nothing fails.
    """),
    code("imports", """
    import math

    import torch
    import torch.nn as nn

    torch.manual_seed(0)  # the self-checks seed what they use; this seed is only for your own experiments
    """),
    code("helpers", """
    def toy_problem(seed=0):
        \"\"\"A small quadratic per parameter, loss_i = ||p_i @ A_i - B_i||^2, for params of shape (3, 4) and (5,).\"\"\"
        g = torch.Generator().manual_seed(seed)
        params = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
        A = [torch.randn(4, 4, generator=g) * 0.5, torch.randn(5, 5, generator=g) * 0.5]
        B = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
        return params, A, B


    def largest_gap(torch_optimizer, my_step, new_state, steps=50):
        \"\"\"Run a torch optimizer and your step function side by side on toy_problem() for `steps`
        steps; return the largest difference between their parameters at any step.\"\"\"
        params, A, B = toy_problem()
        theirs = [p.clone().requires_grad_() for p in params]
        optimizer = torch_optimizer(theirs)
        mine, states = [p.clone() for p in params], [new_state() for _ in params]
        gap = 0.0
        for _ in range(steps):
            optimizer.zero_grad()
            sum(((p @ a - b) ** 2).sum() for p, a, b in zip(theirs, A, B)).backward()
            optimizer.step()
            for i in range(len(mine)):
                leaf = mine[i].detach().clone().requires_grad_()
                (grad,) = torch.autograd.grad(((leaf @ A[i] - B[i]) ** 2).sum(), leaf)
                mine[i], states[i] = my_step(mine[i], grad, states[i])
                gap = max(gap, (mine[i] - theirs[i].detach()).abs().max().item())
        return gap
    """),
    md("gd_intro", """
    ## 1. Gradient descent by hand: minimise $f(x) = (x - 3)^2$

    Start at $x_0$, and repeat: compute the loss, let `loss.backward()` put $f'(x) = 2(x - 3)$ in `x.grad`,
    then step against the gradient, $x \\leftarrow x - \\text{lr}\\cdot f'(x)$. Two details make it work:

    - The update is not part of the model: do it inside `with torch.no_grad():`, **in place**
      (`x -= lr * x.grad`), so `x` stays the same leaf tensor that requires grad.
    - `backward()` **adds** into `.grad`. Clear it after every update with `x.grad.zero_()`.

    Write `gd_trajectory(x0, lr, steps)`: start from `x = torch.tensor(x0, requires_grad=True)` (float32)
    and return the value of $x$ **after** each step, as a float32 tensor of shape `(steps,)`. Each step
    multiplies the distance to 3 by $(1 - 2\\,\\text{lr})$, so the exact answer is
    $x_k = 3 - (3 - x_0)(1 - 2\\,\\text{lr})^k$: that is what your trajectory is compared with.

    > **Common mistake (Short 13):** not zeroing grads → updates become incorrect due to accumulation.
    """),
    answer("gd", """
    def gd_trajectory(x0, lr, steps):
        \"\"\"Gradient descent on (x - 3)^2 with autograd and a manual update; x after each step, shape (steps,).\"\"\"
        ### BEGIN SOLUTION
        x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
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
    """),
    check("test_gd_trajectory_matches_closed_form", 2, """
    # Self-check (Short 13): the lesson's run, x0 = 0 and lr = 0.1 for 20 steps.
    xs = gd_trajectory(0.0, 0.1, 20)
    assert isinstance(xs, torch.Tensor) and xs.shape == (20,) and xs.dtype == torch.float32, "return a float32 tensor of shape (steps,)"
    k = torch.arange(1, 21, dtype=torch.float64)
    closed_form = (3 - (3 - 0.0) * (1 - 2 * 0.1) ** k).float()  # x_k = 3 - (3 - x0)(1 - 2 lr)^k
    torch.testing.assert_close(xs, closed_form, rtol=1e-5, atol=1e-5)
    print(f"gd_trajectory: x = {xs[-1]:.4f} after 20 steps (target 3.0); self-check passed (hidden checks: other x0, lr, steps)")
    """),
    md("sgd_intro", """
    ## 2. The same descent with `torch.optim.SGD`

    An optimizer does the update for you. Each step is still three calls, in this order:
    `optimizer.zero_grad()` → `loss.backward()` → `optimizer.step()` (which does `x -= lr * x.grad`).

    Write `sgd_trajectory(x0, lr, steps)` with `torch.optim.SGD([x], lr=lr)`. It returns what
    `gd_trajectory` returns, and must give exactly the same numbers.

    > **Common mistake (Short 14):** calling `loss.backward()` before `opt.zero_grad()` — the fresh
    > gradients are wiped before `step()` can use them.
    """),
    answer("sgd", """
    def sgd_trajectory(x0, lr, steps):
        \"\"\"Gradient descent on (x - 3)^2 through torch.optim.SGD; x after each step, shape (steps,).\"\"\"
        ### BEGIN SOLUTION
        x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
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
    """),
    check("test_sgd_trajectory_matches_closed_form", 2, """
    # Self-check (Short 14): torch.optim.SGD walks exactly the manual path.
    torch.testing.assert_close(sgd_trajectory(0.0, 0.1, 20), closed_form, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sgd_trajectory(0.0, 0.1, 20), gd_trajectory(0.0, 0.1, 20), rtol=1e-6, atol=1e-6)
    print("sgd_trajectory: same path as gd_trajectory; self-check passed (hidden checks: other x0, lr, steps)")
    """),
    md("momentum_intro", """
    ## 3. SGD with momentum, by hand

    Momentum keeps a running velocity $v$ (a *buffer*) and steps along it, like a rolling ball:

    $$v \\leftarrow \\mu\\, v + g, \\qquad p \\leftarrow p - \\text{lr}\\cdot v$$

    On the very first step there is no buffer yet (`buf is None`): `torch.optim.SGD` starts it as a copy of
    the gradient, $v = g$, so step 1 is plain SGD.

    Write `momentum_step(p, grad, buf, lr, momentum)`: one step for one parameter tensor, returning the
    pair `(new_p, new_buf)`. Return new tensors rather than changing `p`, `grad` or `buf` in place.
    *By hand*: no `torch.optim`.

    > **Common mistake (Short 15):** a high learning rate together with high momentum — the velocity
    > overshoots and training becomes unstable.
    """),
    answer("momentum", """
    def momentum_step(p, grad, buf, lr, momentum):
        \"\"\"One step of torch.optim.SGD(lr, momentum) for one parameter; returns (new_p, new_buf).\"\"\"
        ### BEGIN SOLUTION
        buf = grad.clone() if buf is None else momentum * buf + grad
        return p - lr * buf, buf
        ### END SOLUTION
    """),
    check("test_momentum_step_matches_torch_sgd", 2, """
    # Self-check (Short 15): the lesson's SGD(lr=0.01, momentum=0.9) for 50 steps on a small problem.
    p, g = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.5])
    new_p, buf = momentum_step(p, g, None, lr=0.01, momentum=0.9)
    torch.testing.assert_close(buf, g, rtol=0, atol=0)  # the first buffer is the gradient itself
    gap = largest_gap(lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
                      lambda p, g, buf: momentum_step(p, g, buf, lr=0.01, momentum=0.9), new_state=lambda: None)
    assert gap < 1e-5, f"momentum_step drifts from torch.optim.SGD by {gap:.3g}"
    print(f"momentum_step: matches torch.optim.SGD(momentum=0.9) within {gap:.1e} over 50 steps (hidden checks: other lr, momentum)")
    """),
    md("adam_intro", """
    ## 4. Adam and AdamW, by hand

    Adam keeps two running averages per parameter — of the gradient ($m$, like momentum) and of its
    square ($v$, like RMSprop) — and divides one by the square root of the other, so every coordinate
    gets its own step size. At step $t = 1, 2, \\dots$:

    $$m \\leftarrow \\beta_1 m + (1 - \\beta_1)\\, g, \\qquad v \\leftarrow \\beta_2 v + (1 - \\beta_2)\\, g^2$$
    $$\\hat m = \\frac{m}{1 - \\beta_1^t}, \\qquad \\hat v = \\frac{v}{1 - \\beta_2^t}, \\qquad
    p \\leftarrow p - \\text{lr}\\cdot\\frac{\\hat m}{\\sqrt{\\hat v} + \\epsilon}$$

    $m$ and $v$ start at zero, so early on they are far too small; dividing by $1 - \\beta^t$ (the **bias
    correction**) undoes that. With it, the very first step moves each coordinate by almost exactly `lr`.

    **Weight decay** comes in two flavours, and this is what AdamW changed:
    - `torch.optim.Adam(weight_decay=wd)` is **L2**: before anything else, $g \\leftarrow g + \\text{wd}\\cdot p$.
      The decay then goes through $m$ and $v$ and gets rescaled like any gradient.
    - `torch.optim.AdamW(weight_decay=wd)` is **decoupled**: before the Adam update, $p \\leftarrow p\\,(1 -
      \\text{lr}\\cdot\\text{wd})$, and the gradient is left alone.

    Write `adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled)`: one step for one
    parameter. `state` is `{}` on the first call; return `(new_p, new_state)` with
    `new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v}`. `decoupled=False` is Adam,
    `decoupled=True` is AdamW. Do not change `p`, `grad` or `state` in place. *By hand*.

    > **Common mistakes (Shorts 16, 18):** copying SGD learning rates to Adam (it typically wants about
    > 1e-3), and setting `weight_decay` too high and underfitting badly.
    """),
    answer("adam", """
    def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
        \"\"\"One step of torch.optim.Adam (decoupled=False) or AdamW (decoupled=True); returns (new_p, new_state).\"\"\"
        ### BEGIN SOLUTION
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
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (v_hat.sqrt() + eps)
        return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}
        ### END SOLUTION
    """),
    check("test_adam_step_matches_torch_adam", 2, """
    # Self-check (Short 16): the lesson's Adam(lr=0.001). The first step from an empty state moves each
    # coordinate by lr (bias correction), then 50 steps follow torch.optim.Adam.
    p, g = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.3, -2.0, 1.0])
    new_p, state = adam_step(p, g, {}, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False)
    torch.testing.assert_close(p - new_p, 0.001 * g.sign(), rtol=1e-4, atol=1e-9)
    assert state["step"] == 1 and set(state) == {"step", "exp_avg", "exp_avg_sq"}, state
    adam = dict(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    gap = largest_gap(lambda ps: torch.optim.Adam(ps, **adam), lambda p, g, s: adam_step(p, g, s, **adam, decoupled=False), new_state=dict)
    assert gap < 1e-6, f"adam_step drifts from torch.optim.Adam by {gap:.3g}"
    print(f"adam_step: matches torch.optim.Adam within {gap:.1e} over 50 steps (hidden checks: other lr, betas, L2 weight decay)")
    """),
    check("test_adam_step_matches_torch_adamw", 2, """
    # Self-check (Shorts 18, 19): the lesson's AdamW(lr=0.001, weight_decay=0.01). With a zero gradient
    # and a fresh state, AdamW only shrinks p by (1 - lr * wd).
    p, zero = torch.tensor([2.0, -1.0, 0.5]), torch.zeros(3)
    new_p, _ = adam_step(p, zero, {}, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, decoupled=True)
    torch.testing.assert_close(new_p, p * (1 - 0.001 * 0.01), rtol=1e-6, atol=1e-9)
    adamw = dict(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    gap = largest_gap(lambda ps: torch.optim.AdamW(ps, **adamw), lambda p, g, s: adam_step(p, g, s, **adamw, decoupled=True), new_state=dict)
    assert gap < 1e-6, f"adam_step(decoupled=True) drifts from torch.optim.AdamW by {gap:.3g}"
    print(f"adam_step: matches torch.optim.AdamW within {gap:.1e} over 50 steps (hidden checks: other lr, betas, weight decay)")
    """),
    md("rmsprop_intro", """
    ## 5. RMSprop, by hand

    RMSprop divides the step by a running average of squared gradients, so coordinates with large
    gradients take smaller steps:

    $$v \\leftarrow \\alpha\\, v + (1 - \\alpha)\\, g^2, \\qquad p \\leftarrow p - \\text{lr}\\cdot\\frac{g}{\\sqrt{v} + \\epsilon}$$

    Unlike Adam there is no bias correction: torch divides by the raw running average, which starts at 0.
    Write `rmsprop_step(p, grad, state, lr, alpha, eps)` matching `torch.optim.RMSprop(lr, alpha, eps)`
    (no momentum, not centered). `state` is `{}` first, then `{"square_avg": v}`; return `(new_p, new_state)`.
    *By hand*.

    > **Common mistake (Short 17):** thinking RMSprop is always better; try Adam/AdamW first unless you
    > have a reason.
    """),
    answer("rmsprop", """
    def rmsprop_step(p, grad, state, lr, alpha, eps):
        \"\"\"One step of torch.optim.RMSprop(lr, alpha, eps) for one parameter; returns (new_p, new_state).\"\"\"
        ### BEGIN SOLUTION
        v = state.get("square_avg", torch.zeros_like(p))
        v = alpha * v + (1 - alpha) * grad * grad
        return p - lr * grad / (v.sqrt() + eps), {"square_avg": v}
        ### END SOLUTION
    """),
    check("test_rmsprop_step_matches_torch", 1, """
    # Self-check (Short 17): the lesson's RMSprop(lr=0.01, alpha=0.99) for 50 steps.
    rms = dict(lr=0.01, alpha=0.99, eps=1e-8)
    gap = largest_gap(lambda ps: torch.optim.RMSprop(ps, **rms), lambda p, g, s: rmsprop_step(p, g, s, **rms), new_state=dict)
    assert gap < 1e-5, f"rmsprop_step drifts from torch.optim.RMSprop by {gap:.3g}"
    print(f"rmsprop_step: matches torch.optim.RMSprop within {gap:.1e} over 50 steps (hidden checks: other lr, alpha)")
    """),
    md("sweep_intro", """
    ## 6. The learning rate, compared fairly

    If training diverges, suspect the learning rate first. Comparing learning rates is an experiment, and
    a fair one changes **one** thing: the same data, the same initial weights, the same number of updates.

    Write `lr_sweep(lrs, epochs, seed)` on the lesson's random regression:
    1. `torch.manual_seed(seed)`, then `X = torch.randn(100, 5)` and `y = torch.randn(100, 1)`.
    2. For each `lr`: `torch.manual_seed(seed)` **again**, a fresh `nn.Linear(5, 1)`, `torch.optim.SGD`
       with that `lr`, and `epochs` full-batch steps of `nn.MSELoss()` (zero_grad, loss, backward, step).
    3. Return `{lr: [loss.item() of each epoch]}`, each loss taken before that epoch's `step()`.

    Reseeding before every `nn.Linear` gives every `lr` the same initial weights, so the epoch-0 losses
    are identical. (The lesson's own loop seeds only once: look at its epoch-0 losses.)

    > **Common mistakes (Shorts 20, 21):** not resetting the model when comparing learning rates
    > (you're not running a fair test), and comparing losses from different random initialisations
    > without setting a seed.
    """),
    answer("lr_sweep", """
    def lr_sweep(lrs, epochs, seed):
        \"\"\"A fair learning-rate comparison; returns {lr: [loss of each epoch]}.\"\"\"
        ### BEGIN SOLUTION
        torch.manual_seed(seed)
        X = torch.randn(100, 5)
        y = torch.randn(100, 1)
        criterion = nn.MSELoss()
        losses = {}
        for lr in lrs:
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
    """),
    check("test_lr_sweep_is_fair", 1, """
    # Self-check (Short 20): the lesson's sweep, seed 42 and 10 epochs. Every lr starts from one model.
    sweep = lr_sweep([0.001, 0.01, 0.1, 1.0], epochs=10, seed=42)
    assert list(sweep) == [0.001, 0.01, 0.1, 1.0] and all(len(h) == 10 for h in sweep.values()), "one list of 10 losses per lr"
    first = torch.tensor([h[0] for h in sweep.values()])
    torch.testing.assert_close(first, torch.full((4,), 1.73967), rtol=1e-5, atol=0.0)  # the same epoch-0 loss for every lr
    print("lr_sweep: every lr starts from the same loss, 1.73967 (hidden checks: other seed, lrs, epochs)")
    """),
    check("test_lr_sweep_matches_reference", 2, """
    # Self-check (Short 21): the loss after 10 epochs per lr. 0.01 and 0.1 learn; 1.0 diverges.
    last = torch.tensor([sweep[lr][-1] for lr in (0.01, 0.1, 1.0)])
    torch.testing.assert_close(last, torch.tensor([1.3685, 0.82499, 179792.0]), rtol=1e-3, atol=0.0)
    assert sweep[1.0][-1] > 100 * sweep[1.0][0], "lr = 1.0 should diverge"

    import matplotlib.pyplot as plt
    for lr, history in sweep.items():
        plt.semilogy(history, label=f"lr = {lr}")
    plt.xlabel("epoch"); plt.ylabel("MSE loss"); plt.legend(); plt.title("Same model, same data, four learning rates")
    plt.show()
    print("lr_sweep: lr = 1.0 diverges, 0.1 learns fastest; self-check passed")
    """),
    md("schedule_intro", """
    ## 7. Learning-rate schedules

    Big steps early to learn fast, small steps later to settle. A scheduler changes the `lr` stored in the
    optimizer's `param_groups`; it moves on only when you call `scheduler.step()`, usually once at the
    **end** of each epoch, after that epoch's `optimizer.step()`s.

    - `StepLR(optimizer, step_size, gamma)`: multiply the lr by `gamma` every `step_size` epochs.
    - `ExponentialLR(optimizer, gamma)`: multiply it by `gamma` every epoch.
    - `CosineAnnealingLR(optimizer, T_max, eta_min=0)`: follow half a cosine from `base_lr` down to
      `eta_min` over `T_max` epochs:
      $$\\text{lr}(e) = \\eta_{\\min} + (\\text{base\\_lr} - \\eta_{\\min})\\,\\frac{1 + \\cos(\\pi e / T_{\\max})}{2}$$

    Write:
    - `lr_schedule(kind, base_lr, epochs, **kw)` for `kind` in `"step"`, `"exponential"`, `"cosine"`: make a
      real optimizer (`torch.optim.SGD` over one dummy parameter, `lr=base_lr`) and the scheduler with `**kw`;
      for each epoch, read `optimizer.param_groups[0]["lr"]` (the lr **in effect for that epoch**), then
      `optimizer.step()`, then `scheduler.step()`. Return the list of `epochs` learning rates.
    - `cosine_lr(epoch, base_lr, T_max, eta_min=0.0)` from the formula above, *by hand*: no scheduler.

    > **Common mistakes (Shorts 22, 23):** using a scheduler but forgetting to call `scheduler.step()`,
    > and stepping the scheduler at the wrong time.
    """),
    answer("schedules", """
    from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

    SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


    def lr_schedule(kind, base_lr, epochs, **kw):
        \"\"\"The lr in effect at each epoch 0..epochs-1, read from a real optimizer driven by the scheduler.\"\"\"
        ### BEGIN SOLUTION
        w = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=base_lr)
        scheduler = SCHEDULERS[kind](optimizer, **kw)
        lrs = []
        for _ in range(epochs):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return lrs
        ### END SOLUTION


    def cosine_lr(epoch, base_lr, T_max, eta_min=0.0):
        \"\"\"Cosine annealing from the formula: base_lr at epoch 0, eta_min at epoch T_max.\"\"\"
        ### BEGIN SOLUTION
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        ### END SOLUTION
    """),
    check("test_lr_schedule_matches_torch", 2, """
    # Self-check (Shorts 23-25): the lesson's three schedulers from lr = 0.1.
    got = lr_schedule("step", 0.1, 25, step_size=10, gamma=0.5)
    torch.testing.assert_close(torch.tensor(got), torch.tensor([0.1] * 10 + [0.05] * 10 + [0.025] * 5), rtol=1e-6, atol=0.0)
    got = lr_schedule("exponential", 0.1, 5, gamma=0.95)
    torch.testing.assert_close(torch.tensor(got), torch.tensor([0.1, 0.095, 0.09025, 0.0857375, 0.081450625]), rtol=1e-6, atol=0.0)
    cosine = lr_schedule("cosine", 0.1, 51, T_max=50)
    torch.testing.assert_close(torch.tensor([cosine[0], cosine[25], cosine[50]]), torch.tensor([0.1, 0.05, 0.0]), rtol=1e-6, atol=1e-9)
    print("lr_schedule: StepLR, ExponentialLR and CosineAnnealingLR as expected (hidden checks: other settings)")
    """),
    check("test_cosine_lr_matches_scheduler", 1, """
    # Self-check (Short 25): the formula agrees with CosineAnnealingLR(T_max=50) at every epoch.
    closed = torch.tensor([cosine_lr(e, 0.1, 50) for e in range(51)], dtype=torch.float64)
    torch.testing.assert_close(closed, torch.tensor(cosine, dtype=torch.float64), rtol=1e-9, atol=1e-12)
    print("cosine_lr: matches CosineAnnealingLR at every epoch (hidden checks: other base_lr, T_max, eta_min)")
    """),
    md("clip_intro", """
    ## 8. Gradient clipping, by hand

    Exploding gradients make the loss spike. `torch.nn.utils.clip_grad_norm_(parameters, max_norm)` looks at
    all the gradients as one long vector: it computes their **total 2-norm**
    $\\|g\\| = \\sqrt{\\sum_p \\|g_p\\|^2}$ and, if it exceeds `max_norm`, scales every gradient in place by
    the same factor. Exactly:

    $$c = \\min\\Big(1,\\; \\frac{\\text{max\\_norm}}{\\|g\\| + 10^{-6}}\\Big), \\qquad g_p \\leftarrow c\\, g_p$$

    (the $10^{-6}$ avoids dividing by zero; the $\\min$ means small gradients are never scaled up).

    Write `clip_grad_norm_manual(parameters, max_norm)`: it returns the total norm from **before**
    clipping, as a tensor, and scales the `.grad` of every parameter in place. Skip parameters whose
    `.grad` is `None`. `parameters` may be a generator such as `model.parameters()`, which can be looped
    over only once. *By hand*: no `clip_grad_norm_`.

    > **Common mistake (Short 27):** clipping after `optimizer.step()` (too late).
    """),
    answer("clip", """
    def clip_grad_norm_manual(parameters, max_norm):
        \"\"\"torch.nn.utils.clip_grad_norm_ by hand: scale all grads in place; return the total norm before clipping.\"\"\"
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
    """),
    check("test_clip_grad_norm_manual_matches_torch", 2, """
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
        torch.testing.assert_close(torch.as_tensor(mine), theirs, rtol=1e-5, atol=0.0)
        for p, q in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-12)
    print("clip_grad_norm_manual: matches clip_grad_norm_ (hidden checks: other models, norms and max_norm)")
    """),
    check("test_manual_updates_no_builtin", 1, """
    # Self-check: the by-hand exercises are by hand. The grader reads your code (and the functions it
    # calls) for torch.optim's optimizers and schedulers and for clip_grad_norm_.
    FORBIDDEN = {"SGD", "Adam", "AdamW", "RMSprop", "StepLR", "ExponentialLR", "CosineAnnealingLR", "lr_scheduler",
                 "clip_grad_norm_", "clip_grad_norm", "_functional"}

    def names_used(code):  # the global and attribute names a function's code refers to, nested code included
        return set(code.co_names).union(*(names_used(c) for c in code.co_consts if hasattr(c, "co_names")))

    for fn in (gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr, clip_grad_norm_manual):
        used = names_used(fn.__code__) & FORBIDDEN
        assert not used, f"{fn.__name__} uses {sorted(used)}"
    print("gd_trajectory, momentum_step, adam_step, rmsprop_step, cosine_lr, clip_grad_norm_manual: written by hand")
    """),
    md("train_step_intro", """
    ## 9. The production training step

    Everything comes together in one step of the "golden" training loop:
    `model.train()` → `optimizer.zero_grad()` → forward → loss → `loss.backward()` → clip (optional) →
    `optimizer.step()`. Clipping must sit between `backward()` (which makes the gradients) and `step()`
    (which uses them).

    Write `train_step(model, optimizer, loss_fn, x, y, max_norm=None)`: one such step on the batch `(x, y)`,
    clipping with `torch.nn.utils.clip_grad_norm_` only when `max_norm` is given (the built-in is fine here).
    Return the loss as a Python float (`loss.item()`).

    > **Common mistake (Short 28):** forgetting `model.train()` during training (it matters with dropout
    > and batchnorm).
    """),
    answer("train_step", """
    def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
        \"\"\"One training step: zero_grad, forward, loss, backward, optional clip, step. Returns loss.item().\"\"\"
        ### BEGIN SOLUTION
        model.train()
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item()
        ### END SOLUTION
    """),
    check("test_train_step_matches_reference", 2, """
    # Self-check (Short 28): two calls on the lesson's MLP with SGD(lr=0.1) equal two steps done by hand.
    def lesson_mlp():
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))

    torch.manual_seed(2)
    X, y = torch.randn(32, 10), torch.randn(32, 1)
    model, twin = lesson_mlp(), lesson_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for call in range(2):
        loss = train_step(model, optimizer, nn.MSELoss(), X, y)
        expected = nn.MSELoss()(twin(X), y)
        twin.zero_grad()
        expected.backward()
        with torch.no_grad():
            for q in twin.parameters():
                q -= 0.1 * q.grad
        assert isinstance(loss, float), f"return loss.item(), not {type(loss).__name__}"
        torch.testing.assert_close(torch.tensor(loss), expected.detach(), rtol=1e-5, atol=1e-7)
        for p, q in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)
    print("train_step: two steps as expected (hidden checks: another model and data)")
    """),
    check("test_train_step_clips_before_step", 1, """
    # Self-check (Short 27): with max_norm = 0.01 the update is -lr times the *clipped* gradient.
    model, twin = lesson_mlp(), lesson_mlp()
    train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), X, y, max_norm=0.01)
    nn.MSELoss()(twin(X), y).backward()
    torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.01)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.detach(), q.detach() - 0.1 * q.grad, rtol=1e-5, atol=1e-7)
    print("train_step: clips between backward and step (hidden checks: another model and max_norm)")
    """),
    md("quiz_intro", """
    ## 10. Quiz: the order of a training step

    Put these seven names in the order one training iteration runs them, as a list of strings in
    `TRAINING_STEP_ORDER`: `"zero_grad"`, `"forward"`, `"loss"`, `"backward"`, `"clip"`, `"step"`,
    `"scheduler.step"`. Take an epoch with a single batch, so the scheduler steps once per iteration.

    `zero_grad` only has to come before `backward`: the lesson puts it first in one loop and right after
    the loss in another, and both are right. Every other name has exactly one place.

    > **Common mistakes (Shorts 14, 22, 27):** `backward` before `zero_grad`, a scheduler that is never
    > stepped, and clipping after `optimizer.step()`.
    """),
    answer("quiz", """
    ### BEGIN SOLUTION
    TRAINING_STEP_ORDER = ["zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"]
    ### END SOLUTION
    """),
    check("test_quiz_training_step_order", 1, """
    # Self-check: the format only. The order is checked when you submit.
    NAMES = {"zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"}
    assert isinstance(TRAINING_STEP_ORDER, list) and sorted(TRAINING_STEP_ORDER) == sorted(NAMES), f"use each of {sorted(NAMES)} once"
    print("TRAINING_STEP_ORDER: well formed")
    """),
    md("outro", """
    ## Done?

    *Kernel → Restart & Run All*, check every self-check prints its message, then submit this notebook.
    When training misbehaves, change one thing at a time (Short 32): the learning rate first, then the
    optimizer, then the schedule.
    """),
]

if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    folder = root / "source" / "02_gradient_descent"
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "gradient_descent.ipynb", cells)
