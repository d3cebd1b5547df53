"""The hidden inputs for 02_gradient_descent: every call the student's kernel is asked to answer,
and the harness functions shipped into that kernel to drive the student's code over many steps.

Problems, data and weights come from one generator seeded with the grading seed (course.toml);
the hyperparameters below differ from the lesson's, which the notebook's self-checks use, and each
optimizer is also run once with the lesson's own hyperparameters on a hidden problem, so a hidden
check is never looser than its self-check. Harness functions run in the student's kernel as
fn(student_namespace, *args), so each imports what it needs inside its body and returns only
tensors, numbers, strings and containers of them. The judge calls the same functions with the
reference (or torch itself) in place of the student.
"""
import torch

from course.grading import Call

STEPS = 50  # optimizer steps compared parameter for parameter
# (settings, label). Not the lesson's momentum 0.9, betas (0.9, 0.999), weight decay 0.01 or alpha
# 0.99, then the lesson's own, then (Adam, RMSprop) an eps of 1e-3 on a problem whose gradients are
# about 1e-2: there eps changes every step, so eps inside the square root, or an eps argument
# ignored for a hard-coded one, shows.
MOMENTUM = [({"lr": 0.02, "momentum": 0.8}, "SGD with momentum"),
            ({"lr": 0.01, "momentum": 0.9}, "SGD with the lesson's momentum")]
ADAM = [({"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.05, "decoupled": False},
         "Adam with L2 weight decay"),
        ({"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decoupled": False},
         "Adam with the lesson's settings"),
        ({"lr": 0.001, "betas": (0.9, 0.99), "eps": 1e-3, "weight_decay": 0.0, "decoupled": False},
         "Adam with a large eps and small gradients")]
ADAMW = [({"lr": 0.03, "betas": (0.85, 0.995), "eps": 1e-8, "weight_decay": 0.2, "decoupled": True},
          "AdamW (decoupled weight decay)"),
         ({"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "decoupled": True},
          "AdamW with the lesson's settings")]
RMSPROP = [({"lr": 0.005, "alpha": 0.9, "eps": 1e-8}, "RMSprop"),
           ({"lr": 0.01, "alpha": 0.99, "eps": 1e-8}, "RMSprop with the lesson's settings"),
           ({"lr": 0.001, "alpha": 0.95, "eps": 1e-3}, "RMSprop with a large eps and small gradients")]
SMALL = 0.01  # the small-gradient problem is the hidden problem scaled by this
SWEEP_LRS = [0.003, 0.03, 0.3, 1.0]  # 1.0 diverges on this problem whatever the seed
SWEEP_EPOCHS = 12
TRAIN_LR = 0.1
# (kind, base_lr, epochs, scheduler keywords): other step sizes, gammas and cycle than the lesson's.
SCHEDULES = [
    ("step", 0.05, 20, {"step_size": 6, "gamma": 0.3}),
    ("exponential", 0.2, 15, {"gamma": 0.8}),
    ("cosine", 0.03, 16, {"T_max": 12, "eta_min": 0.001}),
]
COSINES = [(0.05, 9, 0.0), (0.2, 30, 0.002)]  # (base_lr, T_max, eta_min)
# Short 15: SGD with momentum on (x - 3)^2 from 0. Diverging means lr > 1 + momentum; within 30
# steps momentum 0.99 also swings farther out than it started from lr 1.7. Every pair ends at least
# 15% away from the boundary |x - 3| = 3 (tests/test_solutions_gradient_descent.py checks it).
DIVERGE_LRS = [0.02, 0.3, 1.1, 1.7, 2.05]
DIVERGE_MOMENTA = [0.0, 0.5, 0.9, 0.99]
DIVERGE_STEPS = 30
# Short 24: (gamma, fraction), none within 5% of an epoch boundary gamma^e = fraction.
LR_BELOW = [(0.8, 0.05), (0.3, 0.001), (0.97, 0.5)]
# Short 25: (base_lr, epochs, steps_per_epoch, eta_min), other than the lesson's T_max = 50.
PER_STEP_COSINES = [(0.1, 3, 7, 0.0), (0.05, 4, 5, 0.001)]


def optimizer_run(student, fn, params, A, B, steps, hp):
    """Drive the student's step function `fn` for `steps` steps on loss_i = ||p_i @ A_i - B_i||^2,
    one state per parameter; returns every parameter and every state after every step, each as
    [step][param]."""
    import torch

    step = student[fn]
    ps = [p.clone() for p in params]
    states = [None if fn == "momentum_step" else {} for _ in ps]
    history = {"params": [], "states": []}
    for _ in range(steps):
        for i in range(len(ps)):
            leaf = ps[i].detach().clone().requires_grad_()
            (grad,) = torch.autograd.grad(((leaf @ A[i] - B[i]) ** 2).sum(), leaf)
            ps[i], states[i] = step(ps[i].detach().clone(), grad, states[i], **hp)
            ps[i] = torch.as_tensor(ps[i]).detach()
        # Copies: a step that updates its state in place must not rewrite the steps recorded before.
        history["params"].append([p.clone() for p in ps])
        history["states"].append([{k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
                                  if isinstance(s, dict) else s.detach().clone() if isinstance(s, torch.Tensor) else s
                                  for s in states])
    return history


def sgd_run(student, x0, lr, steps):
    """The student's sgd_trajectory, with what every torch optimizer's step() found: the gradients
    at each step() call, and a "backward" event whenever a gradient reached a parameter that some
    step() has already seen (so a gradient made and then cleared before step() shows)."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    events, hooked = [], set()

    def on_step(optimizer, args, kwargs):
        params = [p for group in optimizer.param_groups for p in group["params"]]
        for p in params:
            if id(p) not in hooked:
                hooked.add(id(p))
                p.register_post_accumulate_grad_hook(lambda _: events.append("backward"))
        events.append([None if p.grad is None else p.grad.detach().clone() for p in params])

    handle = register_optimizer_step_pre_hook(on_step)
    try:
        xs = student["sgd_trajectory"](x0, lr, steps)
    finally:
        handle.remove()
    return {"xs": xs, "events": events}


def cosine_curve(student, base_lr, T_max, eta_min):
    """The student's cosine_lr at every epoch 0..T_max."""
    return [student["cosine_lr"](epoch, base_lr, T_max, eta_min) for epoch in range(T_max + 1)]


def divergence_grid(student, lrs, momenta, steps):
    """The student's diverges(lr, momentum, steps) for every pair: [lr][momentum]."""
    return [[student["diverges"](lr, momentum, steps) for momentum in momenta] for lr in lrs]


def mlp(weights):
    """Linear -> ReLU -> Linear with the given weights (shapes say the sizes)."""
    import torch
    import torch.nn as nn

    w1, b1, w2, b2 = weights
    model = nn.Sequential(nn.Linear(w1.shape[1], w1.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(w)
    return model


def clip_run(student, weights, x, y, scale, max_norm):
    """One backward pass of scale * MSE on an MLP plus a layer with no grads, then the student's
    clip_grad_norm_manual(parameters, max_norm) on a generator, as model.parameters() gives it."""
    import torch.nn as nn

    model = mlp(weights)
    unused = nn.Linear(3, 3)  # its parameters have .grad None and must stay so
    (scale * nn.functional.mse_loss(model(x), y)).backward()
    params = list(model.parameters()) + list(unused.parameters())
    norm = student["clip_grad_norm_manual"]((p for p in params), max_norm)
    return {"norm": norm, "grads": [None if p.grad is None else p.grad.clone() for p in params]}


def train_run(student, weights, x, y, lr, max_norm, calls, loss="mse"):
    """Call the student's train_step `calls` times on one MLP (left in eval mode) with plain SGD(lr)
    and MSE (or, with loss="bce", BCEWithLogitsLoss, which is not symmetric in its arguments). Per
    call: the returned loss, the parameters before and after, the grads left behind, and in order
    what happened inside: "forward" with the model's mode, "backward", and each step() with the
    gradients it found."""
    import torch
    import torch.nn as nn

    model = mlp(weights)
    model.eval()  # train_step is the one to put the model in training mode
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    params = list(model.parameters())
    events = []
    model[0].register_forward_pre_hook(lambda module, inputs: events.append(("forward", module.training)))
    params[0].register_post_accumulate_grad_hook(lambda _: events.append(("backward", None)))
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: events.append(
        ("step", [None if p.grad is None else p.grad.detach().clone() for p in params])))
    loss_fn = nn.BCEWithLogitsLoss() if loss == "bce" else nn.MSELoss()
    record = []
    for _ in range(calls):
        before = [p.detach().clone() for p in params]
        events.clear()
        returned = student["train_step"](model, optimizer, loss_fn, x, y, max_norm=max_norm)
        record.append({
            "loss": returned,
            "before": before,
            "after": [p.detach().clone() for p in params],
            "grads": [None if p.grad is None else p.grad.clone() for p in params],
            "events": list(events),
        })
    return record


HARNESS = [optimizer_run, sgd_run, cosine_curve, divergence_grid, mlp, clip_run, train_run]


def grader_inputs(seed: int) -> dict[str, Call]:
    g = torch.Generator().manual_seed(seed)
    calls: dict[str, Call] = {}

    def uniform(low, high, digits=3):
        return round(low + (high - low) * torch.rand((), generator=g).item(), digits)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    # Gradient descent on (x - 3)^2: slow, fast, and oscillating (1 - 2 lr < 0) regimes.
    regimes = [((0.02, 0.08), 30, "a small lr (slow, steady approach to 3)"),
               ((0.2, 0.4), 15, "a larger lr (fast approach to 3)"),
               ((0.6, 0.9), 12, "lr between 0.5 and 1 (x overshoots 3 and oscillates)")]
    for i, (lrs, steps, label) in enumerate(regimes):
        x0 = uniform(-6.0, 0.0) if i % 2 == 0 else uniform(5.0, 10.0)  # never near the minimum
        args = (x0, uniform(*lrs), steps)
        calls[f"gd/{i}"] = Call("gd_trajectory", args, label=label)
        calls[f"sgd/{i}"] = Call("sgd_run", args, harness=True, label=label)

    # Optimizer steps: a small quadratic per parameter, params of shape (3, 4) and (5,); the same
    # problem scaled by SMALL (gradients about 1e-2) where eps is large.
    problem = ([randn(3, 4), randn(5)], [randn(4, 4, scale=0.5), randn(5, 5, scale=0.5)], [randn(3, 4), randn(5)])
    small = ([p * SMALL for p in problem[0]], problem[1], [b * SMALL for b in problem[2]])
    for key, fn, runs in [("momentum", "momentum_step", MOMENTUM), ("adam", "adam_step", ADAM),
                          ("adamw", "adam_step", ADAMW), ("rmsprop", "rmsprop_step", RMSPROP)]:
        for i, (hp, label) in enumerate(runs):
            params, A, B = small if hp.get("eps", 0.0) >= 1e-4 else problem
            calls[f"{key}/{i}"] = Call("optimizer_run", (fn, params, A, B, STEPS, hp), harness=True,
                                       label=f"{STEPS} steps of {label} on a hidden quadratic")
    # Probes, one step from an empty state. With |grad| >> eps, a bias-corrected first Adam step
    # moves every coordinate by exactly lr; with zero grads, AdamW only shrinks p by (1 - lr wd).
    adam, _ = ADAM[0]
    adamw, _ = ADAMW[0]
    p = randn(6, scale=2.0)
    grad = randn(6).sign() * (0.5 + torch.rand(6, generator=g))  # |grad| in [0.5, 1.5)
    calls["adam_first/0"] = Call("adam_step", (p, grad, {}), {**adam, "weight_decay": 0.0},
                                 label="the first step from an empty state, no weight decay")
    p = randn(6, scale=2.0).clamp(-5.0, 5.0)  # |p| != 1 / weight_decay, where L2 and AdamW coincide
    calls["adamw_decay/0"] = Call("adam_step", (p, torch.zeros(6), {}),
                                  {**adamw, "lr": 0.01, "weight_decay": 0.1},
                                  label="the first step from an empty state with zero gradients")

    calls["diverge/0"] = Call("divergence_grid", (DIVERGE_LRS, DIVERGE_MOMENTA, DIVERGE_STEPS), harness=True,
                              label="a hidden grid of learning rates and momenta")

    # The learning-rate sweep, on the lesson's data but another seed, lrs and number of epochs.
    sweep_seed = int(torch.randint(100, 10_000, (), generator=g))
    calls["sweep/0"] = Call("lr_sweep", (SWEEP_LRS, SWEEP_EPOCHS, sweep_seed),
                            label=f"lrs {SWEEP_LRS}, a hidden seed and number of epochs")

    for kind, base_lr, epochs, kw in SCHEDULES:
        calls[f"schedule/{kind}"] = Call("lr_schedule", (kind, base_lr, epochs), kw, label=f"kind={kind!r}")
    for i, args in enumerate(COSINES):
        calls[f"cosine/{i}"] = Call("cosine_curve", args, harness=True, label="every epoch of a hidden cosine cycle")
    for i, args in enumerate(LR_BELOW):
        calls[f"lr_below/{i}"] = Call("epoch_lr_below", args, label="a hidden gamma and fraction")
    for i, args in enumerate(PER_STEP_COSINES):
        calls[f"per_step_cosine/{i}"] = Call("per_step_cosine_lrs", args,
                                             label="hidden epochs, steps per epoch and eta_min")

    # Clipping: an MLP 6 -> 8 -> 1 on a batch of 16, grads well above, below and tiny (where the
    # 1e-6 in max_norm / (total_norm + 1e-6) shows).
    weights = [randn(8, 6, scale=0.5), randn(8, scale=0.1), randn(1, 8, scale=0.5), randn(1, scale=0.1)]
    x, y = randn(16, 6), randn(16, 1)
    for i, (scale, max_norm, label) in enumerate([(100.0, 1.0, "gradients far above max_norm"),
                                                  (1.0, 1e3, "gradients below max_norm"),
                                                  (1e-5, 1e-6, "tiny gradients above a tiny max_norm")]):
        calls[f"clip/{i}"] = Call("clip_run", (weights, x, y, scale, max_norm), harness=True, label=label)

    # train_step: twice without clipping (a second call shows stale gradients), once with
    # BCEWithLogitsLoss on targets in (0, 1) (swapped arguments show), once clipping hard.
    targets = torch.rand(16, 1, generator=g)
    calls["train/0"] = Call("train_run", (weights, x, y, TRAIN_LR, None, 2), harness=True,
                            label="two calls on one model with plain SGD and MSE, no clipping")
    calls["train/1"] = Call("train_run", (weights, x, targets, TRAIN_LR, None, 1, "bce"), harness=True,
                            label="one call with plain SGD and BCEWithLogitsLoss, no clipping")
    calls["train_clip/0"] = Call("train_run", (weights, x, y, TRAIN_LR, 0.01, 1), harness=True,
                                 label="one call with plain SGD and a small max_norm")

    calls["quiz/order"] = Call("TRAINING_STEP_ORDER", get=True, label="TRAINING_STEP_ORDER")
    return calls
