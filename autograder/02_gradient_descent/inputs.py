"""The hidden inputs for 02_gradient_descent: every call the student's kernel is asked to answer,
and the harness functions shipped into that kernel to drive the student's code over many steps.

Problems, data and weights come from one generator seeded with the grading seed (course.toml);
the hyperparameters below differ from the lesson's, which the notebook's self-checks use.
Harness functions run in the student's kernel as fn(student_namespace, *args), so each imports
what it needs inside its body and returns only tensors, numbers, strings and containers of them.
The judge calls the same functions with the reference (or torch itself) in place of the student.
"""
import torch

from course.grading import Call

STEPS = 50  # optimizer steps compared parameter for parameter
# Not the lesson's momentum 0.9, betas (0.9, 0.999), weight decay 0.01 or alpha 0.99.
MOMENTUM = {"lr": 0.02, "momentum": 0.8}
ADAM = {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.05, "decoupled": False}
ADAMW = {"lr": 0.03, "betas": (0.85, 0.995), "eps": 1e-8, "weight_decay": 0.2, "decoupled": True}
RMSPROP = {"lr": 0.005, "alpha": 0.9, "eps": 1e-8}
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


def optimizer_run(student, fn, params, A, B, steps, hp):
    """Drive the student's step function `fn` for `steps` steps on loss_i = ||p_i @ A_i - B_i||^2,
    one state per parameter; returns every parameter after every step: [step][param]."""
    import torch

    step = student[fn]
    ps = [p.clone() for p in params]
    states = [None if fn == "momentum_step" else {} for _ in ps]
    history = []
    for _ in range(steps):
        for i in range(len(ps)):
            leaf = ps[i].detach().clone().requires_grad_()
            (grad,) = torch.autograd.grad(((leaf @ A[i] - B[i]) ** 2).sum(), leaf)
            ps[i], states[i] = step(ps[i].detach().clone(), grad, states[i], **hp)
            ps[i] = torch.as_tensor(ps[i]).detach()
        history.append([p.clone() for p in ps])
    return history


def cosine_curve(student, base_lr, T_max, eta_min):
    """The student's cosine_lr at every epoch 0..T_max."""
    return [student["cosine_lr"](epoch, base_lr, T_max, eta_min) for epoch in range(T_max + 1)]


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


def train_run(student, weights, x, y, lr, max_norm, calls):
    """Call the student's train_step `calls` times on one MLP with plain SGD(lr) and MSE; record
    the returned loss, the parameters before and after, and the grads left behind, per call."""
    import torch
    import torch.nn as nn

    model = mlp(weights)
    model.eval()  # train_step is the one to put the model in training mode
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    record = []
    for _ in range(calls):
        before = [p.detach().clone() for p in model.parameters()]
        loss = student["train_step"](model, optimizer, nn.MSELoss(), x, y, max_norm=max_norm)
        record.append({
            "loss": loss,
            "before": before,
            "after": [p.detach().clone() for p in model.parameters()],
            "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        })
    return record


HARNESS = [optimizer_run, cosine_curve, mlp, clip_run, train_run]


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
        calls[f"sgd/{i}"] = Call("sgd_trajectory", args, label=label)

    # Optimizer steps: a small quadratic per parameter, params of shape (3, 4) and (5,).
    problem = ([randn(3, 4), randn(5)], [randn(4, 4, scale=0.5), randn(5, 5, scale=0.5)], [randn(3, 4), randn(5)])
    for key, fn, hp, label in [("momentum", "momentum_step", MOMENTUM, "SGD with momentum"),
                               ("adam", "adam_step", ADAM, "Adam with L2 weight decay"),
                               ("adamw", "adam_step", ADAMW, "AdamW (decoupled weight decay)"),
                               ("rmsprop", "rmsprop_step", RMSPROP, "RMSprop")]:
        calls[f"{key}/0"] = Call("optimizer_run", (fn, *problem, STEPS, hp), harness=True,
                                 label=f"{STEPS} steps of {label} on a hidden quadratic")
    # Probes, one step from an empty state. With |grad| >> eps, a bias-corrected first Adam step
    # moves every coordinate by exactly lr; with zero grads, AdamW only shrinks p by (1 - lr wd).
    p = randn(6, scale=2.0)
    grad = randn(6).sign() * (0.5 + torch.rand(6, generator=g))  # |grad| in [0.5, 1.5)
    calls["adam_first/0"] = Call("adam_step", (p, grad, {}), {**ADAM, "weight_decay": 0.0},
                                 label="the first step from an empty state, no weight decay")
    p = randn(6, scale=2.0).clamp(-5.0, 5.0)  # |p| != 1 / weight_decay, where L2 and AdamW coincide
    calls["adamw_decay/0"] = Call("adam_step", (p, torch.zeros(6), {}),
                                  {**ADAMW, "lr": 0.01, "weight_decay": 0.1},
                                  label="the first step from an empty state with zero gradients")

    # The learning-rate sweep, on the lesson's data but another seed, lrs and number of epochs.
    sweep_seed = int(torch.randint(100, 10_000, (), generator=g))
    calls["sweep/0"] = Call("lr_sweep", (SWEEP_LRS, SWEEP_EPOCHS, sweep_seed),
                            label=f"lrs {SWEEP_LRS}, a hidden seed and number of epochs")

    for kind, base_lr, epochs, kw in SCHEDULES:
        calls[f"schedule/{kind}"] = Call("lr_schedule", (kind, base_lr, epochs), kw, label=f"kind={kind!r}")
    for i, args in enumerate(COSINES):
        calls[f"cosine/{i}"] = Call("cosine_curve", args, harness=True, label="every epoch of a hidden cosine cycle")

    # Clipping: an MLP 6 -> 8 -> 1 on a batch of 16, grads well above, below and tiny (where the
    # 1e-6 in max_norm / (total_norm + 1e-6) shows).
    weights = [randn(8, 6, scale=0.5), randn(8, scale=0.1), randn(1, 8, scale=0.5), randn(1, scale=0.1)]
    x, y = randn(16, 6), randn(16, 1)
    for i, (scale, max_norm, label) in enumerate([(100.0, 1.0, "gradients far above max_norm"),
                                                  (1.0, 1e3, "gradients below max_norm"),
                                                  (1e-5, 1e-6, "tiny gradients above a tiny max_norm")]):
        calls[f"clip/{i}"] = Call("clip_run", (weights, x, y, scale, max_norm), harness=True, label=label)

    # train_step: twice without clipping (a second call shows stale gradients), once clipping hard.
    calls["train/0"] = Call("train_run", (weights, x, y, TRAIN_LR, None, 2), harness=True,
                            label="two calls on one model with plain SGD, no clipping")
    calls["train_clip/0"] = Call("train_run", (weights, x, y, TRAIN_LR, 0.01, 1), harness=True,
                                 label="one call with plain SGD and a small max_norm")

    calls["quiz/order"] = Call("TRAINING_STEP_ORDER", get=True, label="TRAINING_STEP_ORDER")
    return calls
