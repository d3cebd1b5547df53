"""Example submissions for 02_gradient_descent: a perfect one, the untouched release, and one per named mistake."""
from textwrap import dedent

from build import Example

ALL = frozenset({
    "test_gd_trajectory_matches_closed_form", "test_sgd_trajectory_matches_closed_form",
    "test_momentum_step_matches_torch_sgd", "test_momentum_divergence_matches_sgd", "test_adam_step_matches_torch_adam",
    "test_adam_step_matches_torch_adamw", "test_rmsprop_step_matches_torch", "test_lr_sweep_is_fair",
    "test_lr_sweep_matches_reference", "test_lr_schedule_matches_torch", "test_cosine_lr_matches_scheduler",
    "test_epoch_lr_below_matches_exponential_lr", "test_per_step_cosine_ends_at_last_step",
    "test_clip_grad_norm_manual_matches_torch", "test_manual_updates_no_builtin", "test_train_step_matches_reference",
    "test_train_step_clips_before_step", "test_quiz_training_step_order",
})
# The by-hand point needs each by-hand function to compute the right values (issue 14): a by-hand
# function with wrong values loses it too, where it used to be given for any attempt.
BY_HAND = frozenset({"test_manual_updates_no_builtin"})
GD = frozenset({"test_gd_trajectory_matches_closed_form"}) | BY_HAND
SGD = frozenset({"test_sgd_trajectory_matches_closed_form"})
SWEEP = frozenset({"test_lr_sweep_is_fair", "test_lr_sweep_matches_reference"})
SCHEDULE = frozenset({"test_lr_schedule_matches_torch"})
TRAIN_STEP = frozenset({"test_train_step_matches_reference"})

SCHEDULES_CELL = '''
    from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

    SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


    def lr_schedule(kind, base_lr, epochs, **kw):
        w = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=base_lr)
        scheduler = SCHEDULERS[kind](optimizer, **kw)
        lrs = []
        for _ in range(epochs):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return lrs

'''
ADAM_CELL = '''
    def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
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
'''

EXAMPLES = {
    "perfect": Example(note="every answer right"),
    "untouched": Example(fails=ALL, note="the release notebook as downloaded"),
    "grad-not-zeroed": Example(
        cells={"gd": '''
            def gd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    with torch.no_grad():
                        x -= lr * x.grad  # .grad now holds the sum of every gradient so far
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=GD, mistake="gradients never zeroed"),
    "no-zero-grad": Example(
        cells={"sgd": '''
            def sgd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                optimizer = torch.optim.SGD([x], lr=lr)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    optimizer.step()
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=SGD, mistake="gradients never zeroed"),
    "zero-grad-after-backward": Example(
        cells={"sgd": '''
            def sgd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                optimizer = torch.optim.SGD([x], lr=lr)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    optimizer.zero_grad()
                    optimizer.step()
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=SGD, mistake="zero_grad between backward and step"),
    "update-outside-no-grad": Example(
        cells={"gd": '''
            def gd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    x -= lr * x.grad  # autograd sees an in-place change of a leaf that requires grad
                    x.grad.zero_()
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=GD, mistake="an update outside torch.no_grad()"),
    "update-rebinds-x": Example(
        cells={"gd": '''
            def gd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    x = x - lr * x.grad  # a new, non-leaf x: its .grad stays None
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=GD, mistake="an update outside torch.no_grad()"),
    "update-rebinds-x-under-no-grad": Example(
        cells={"gd": '''
            def gd_trajectory(x0, lr, steps):
                x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    with torch.no_grad():
                        x = x - lr * x.grad  # a new tensor, made without autograd: it does not require grad
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=GD, mistake="an update outside torch.no_grad()"),
    "adam-no-bias-correction": Example(
        cells={"adam": '''
            def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
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
                p = p - lr * m / (v.sqrt() + eps)
                return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}
        '''},
        fails=frozenset({"test_adam_step_matches_torch_adam", "test_adam_step_matches_torch_adamw"}) | BY_HAND,
        mistake="Adam without bias correction"),
    "adamw-as-l2": Example(
        cells={"adam": '''
            def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
                beta1, beta2 = betas
                t = state.get("step", 0) + 1
                m = state.get("exp_avg", torch.zeros_like(p))
                v = state.get("exp_avg_sq", torch.zeros_like(p))
                grad = grad + weight_decay * p  # weight decay is weight decay, decoupled or not
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad * grad
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p = p - lr * m_hat / (v_hat.sqrt() + eps)
                return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}
        '''},
        fails=frozenset({"test_adam_step_matches_torch_adamw"}) | BY_HAND,
        mistake="L2 weight decay where AdamW's decoupled decay was asked for"),
    "clip-after-step": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                return loss.item()
        '''},
        fails=frozenset({"test_train_step_clips_before_step"}), mistake="clipping after optimizer.step()"),
    "quiz-clip-after-step": Example(
        cells={"quiz": '''
            TRAINING_STEP_ORDER = ["zero_grad", "forward", "loss", "backward", "step", "clip", "scheduler.step"]
        '''},
        fails=frozenset({"test_quiz_training_step_order"}), mistake="clipping after optimizer.step()"),
    "train-step-no-zero-grad": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                return loss.item()
        '''},
        fails=frozenset({"test_train_step_matches_reference"}), mistake="gradients never zeroed"),
    "scheduler-never-stepped": Example(
        cells={"schedules": '''
            from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

            SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


            def lr_schedule(kind, base_lr, epochs, **kw):
                w = torch.zeros(1, requires_grad=True)
                optimizer = torch.optim.SGD([w], lr=base_lr)
                scheduler = SCHEDULERS[kind](optimizer, **kw)
                lrs = []
                for _ in range(epochs):
                    lrs.append(optimizer.param_groups[0]["lr"])
                    optimizer.step()  # the scheduler is made, but never stepped
                return lrs


            def cosine_lr(epoch, base_lr, T_max, eta_min=0.0):
                return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        '''},
        fails=SCHEDULE, mistake="a scheduler that is never stepped"),
    "scheduler-stepped-first": Example(
        cells={"schedules": '''
            from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

            SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


            def lr_schedule(kind, base_lr, epochs, **kw):
                w = torch.zeros(1, requires_grad=True)
                optimizer = torch.optim.SGD([w], lr=base_lr)
                scheduler = SCHEDULERS[kind](optimizer, **kw)
                lrs = []
                for _ in range(epochs):
                    optimizer.step()
                    scheduler.step()
                    lrs.append(optimizer.param_groups[0]["lr"])  # already next epoch's lr
                return lrs


            def cosine_lr(epoch, base_lr, T_max, eta_min=0.0):
                return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        '''},
        fails=SCHEDULE, mistake="a scheduler stepped before the lr is read"),
    "sweep-reuses-model": Example(
        cells={"lr_sweep": '''
            def lr_sweep(lrs, epochs, seed):
                torch.manual_seed(seed)
                X = torch.randn(100, 5)
                y = torch.randn(100, 1)
                criterion = nn.MSELoss()
                model = nn.Linear(5, 1)  # one model for every lr
                losses = {}
                for lr in lrs:
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
        '''},
        fails=SWEEP, mistake="one model reused across learning rates"),
    "sweep-no-reseed": Example(
        cells={"lr_sweep": '''
            def lr_sweep(lrs, epochs, seed):
                torch.manual_seed(seed)
                X = torch.randn(100, 5)
                y = torch.randn(100, 1)
                criterion = nn.MSELoss()
                losses = {}
                for lr in lrs:
                    model = nn.Linear(5, 1)  # new weights, drawn wherever the RNG happens to be
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
        '''},
        fails=SWEEP, mistake="a fresh model per learning rate without reseeding"),
    "builtin-optimizer": Example(
        cells={"clip": '''
            def clip_grad_norm_manual(parameters, max_norm):
                return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        '''},
        fails=frozenset({"test_manual_updates_no_builtin"}), mistake="a torch optimizer in a by-hand exercise"),

    # --- issue 14: points given for nothing, and one mistake charged once ------------------------
    "cosine-placeholder": Example(
        cells={"schedules": dedent(SCHEDULES_CELL) + dedent('''
            def cosine_lr(epoch, base_lr, T_max, eta_min=0.0):
                return base_lr  # a placeholder: no tensor op, no built-in, and not the right values
        ''')},
        fails=frozenset({"test_cosine_lr_matches_scheduler"}) | BY_HAND,
        note="used to earn the by-hand point for the attempt alone"),
    "gd-returns-list": Example(
        cells={"gd": '''
            def gd_trajectory(x0, lr, steps):
                x = torch.tensor(float(x0), requires_grad=True)
                xs = []
                for _ in range(steps):
                    loss = (x - 3) ** 2
                    loss.backward()
                    with torch.no_grad():
                        x -= lr * x.grad
                    x.grad.zero_()
                    xs.append(x.item())
                return xs  # the right values, as a list rather than a tensor
        '''},
        fails=frozenset({"test_gd_trajectory_matches_closed_form"}),
        note="the right values in another container: charged by its own test, not again by the by-hand one"),
    "sweep-made-up": Example(
        cells={"lr_sweep": '''
            def lr_sweep(lrs, epochs, seed):
                return {lr: [1.0 - 0.01 * epoch for epoch in range(epochs)] for lr in lrs}
        '''},
        fails=SWEEP, note="identical made-up curves used to pass the fairness test"),
    "sweep-seed-plus-i": Example(
        cells={"lr_sweep": '''
            def lr_sweep(lrs, epochs, seed):
                torch.manual_seed(seed)
                X = torch.randn(100, 5)
                y = torch.randn(100, 1)
                criterion = nn.MSELoss()
                losses = {}
                for i, lr in enumerate(lrs):
                    torch.manual_seed(seed + i)  # reseeded, but with another seed for every lr
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
        '''},
        fails=SWEEP, mistake="a different seed for each learning rate"),
    "sweep-seeded-by-lr": Example(
        cells={"lr_sweep": '''
            def lr_sweep(lrs, epochs, seed):
                torch.manual_seed(seed)
                X = torch.randn(100, 5)
                y = torch.randn(100, 1)
                criterion = nn.MSELoss()
                losses = {}
                for lr in lrs:
                    torch.manual_seed(int(lr * 1000))  # reproducible, but another model for every lr
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
        '''},
        fails=SWEEP, mistake="learning rates that did not start from the same model",
        note="unfair in a way no replay knows: named by what was observed, not by a guessed cause"),
    # --- correct code the self-checks or graders used to reject --------------------------------------
    "adamw-decay-subtracted": Example(
        cells={"adam": ADAM_CELL.replace("p = p * (1 - lr * weight_decay)", "p = p - lr * weight_decay * p")},
        note="a correct AdamW decay the old self-check rejected (an absolute gap of 1e-6)"),
    "train-step-zero-grad-at-end": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                optimizer.zero_grad()  # cleared at the end of the step, ready for the next one
                return loss.item()
        '''},
        note="zeroing after step() is a correct style; it used to lose the clipping point"),
    "momentum-updates-in-place": Example(
        cells={"momentum": '''
            def momentum_step(p, grad, buf, lr, momentum):
                if buf is None:
                    buf = torch.clone(grad).detach()
                else:
                    buf.mul_(momentum).add_(grad)  # torch's own in-place style
                p.add_(buf, alpha=-lr)
                return p, buf
        '''},
        note="in-place updates, as torch writes them, are correct: only the returned values are graded"),
    "adam-helper-named-adam": Example(
        cells={"adam": '''
            def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
                def Adam(m, v, t):  # the student's own helper, not torch.optim.Adam
                    beta1, beta2 = betas
                    return (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)

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
                return p - lr * Adam(m, v, t), {"step": t, "exp_avg": m, "exp_avg_sq": v}
        '''},
        note="a hand-written helper named Adam is not torch.optim.Adam (needs the scope-aware builtins_used)"),
    "train-step-stores-total-norm": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # kept for logging
                optimizer.step()
                return loss.item()
        '''},
        note="a local total_norm in train_step is not the one in clip_grad_norm_manual (needs the scope-aware builtins_used)"),
    # --- mistakes that went unnoticed ----------------------------------------------------------------
    "adam-eps-inside-sqrt": Example(
        cells={"adam": ADAM_CELL.replace("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()")},
        fails=frozenset({"test_adam_step_matches_torch_adam"}) | BY_HAND, mistake="eps inside the square root"),
    "rmsprop-hard-coded-eps-inside-sqrt": Example(
        cells={"rmsprop": '''
            def rmsprop_step(p, grad, state, lr, alpha, eps):
                v = state.get("square_avg", torch.zeros_like(p))
                v = alpha * v + (1 - alpha) * grad * grad
                return p - lr * grad / torch.sqrt(v + 1e-6), {"square_avg": v}  # as in a popular tutorial
        '''},
        fails=frozenset({"test_rmsprop_step_matches_torch"}) | BY_HAND, mistake="eps inside the square root"),
    "rmsprop-ignores-eps": Example(
        cells={"rmsprop": '''
            def rmsprop_step(p, grad, state, lr, alpha, eps):
                v = state.get("square_avg", torch.zeros_like(p))
                v = alpha * v + (1 - alpha) * grad * grad
                return p - lr * grad / (v.sqrt() + 1e-8), {"square_avg": v}  # torch's default, not the argument
        '''},
        fails=frozenset({"test_rmsprop_step_matches_torch"}) | BY_HAND, mistake="a hard-coded eps"),
    "train-step-no-model-train": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                return loss.item()
        '''},
        fails=TRAIN_STEP, mistake="model.train() not called"),
    "train-step-swapped-loss": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(y, model(x))
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                return loss.item()
        '''},
        fails=TRAIN_STEP, mistake="loss arguments swapped"),
    "train-step-ignores-max-norm": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()  # max_norm is accepted, and never used
                return loss.item()
        '''},
        fails=frozenset({"test_train_step_clips_before_step"}), mistake="gradients never clipped"),
    "train-step-returns-tensor": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                return loss  # a tensor with its graph, not loss.item()
        '''},
        fails=TRAIN_STEP, note="the notebook asks for a Python float, and its self-check says so"),
    # --- mistakes given the wrong name ---------------------------------------------------------------
    "sgd-never-steps": Example(
        cells={"sgd": '''
            def sgd_trajectory(x0, lr, steps):
                x = torch.tensor(float(x0), requires_grad=True)
                optimizer = torch.optim.SGD([x], lr=lr)
                xs = []
                for _ in range(steps):
                    optimizer.zero_grad()
                    loss = (x - 3) ** 2
                    loss.backward()  # ... and no optimizer.step()
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=SGD, mistake="optimizer.step() never called"),
    "sgd-no-backward": Example(
        cells={"sgd": '''
            def sgd_trajectory(x0, lr, steps):
                x = torch.tensor(float(x0), requires_grad=True)
                optimizer = torch.optim.SGD([x], lr=lr)
                xs = []
                for _ in range(steps):
                    optimizer.zero_grad()
                    loss = (x - 3) ** 2
                    optimizer.step()  # no loss.backward(): x.grad is empty
                    xs.append(x.item())
                return torch.tensor(xs)
        '''},
        fails=SGD, mistake="no gradient when optimizer.step() ran"),
    "train-step-never-steps": Example(
        cells={"train_step": '''
            def train_step(model, optimizer, loss_fn, x, y, max_norm=None):
                model.train()
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                return loss.item()
        '''},
        fails=TRAIN_STEP | frozenset({"test_train_step_clips_before_step"}), mistake="optimizer.step() never called"),
    "quiz-scheduler-first": Example(
        cells={"quiz": '''
            TRAINING_STEP_ORDER = ["zero_grad", "forward", "loss", "backward", "clip", "scheduler.step", "step"]
        '''},
        fails=frozenset({"test_quiz_training_step_order"}), mistake="a scheduler stepped before the optimizer"),
    # --- real code: every returned value compared ----------------------------------------------------
    "momentum-buffer-minus-lr": Example(
        cells={"momentum": '''
            def momentum_step(p, grad, buf, lr, momentum):
                v = -lr * grad if buf is None else momentum * buf - lr * grad  # the velocity of many textbooks
                return p + v, v
        '''},
        fails=frozenset({"test_momentum_step_matches_torch_sgd"}) | BY_HAND,
        mistake="a momentum buffer in another convention"),
    "momentum-buffer-times-lr": Example(
        cells={"momentum": '''
            def momentum_step(p, grad, buf, lr, momentum):
                v = lr * grad if buf is None else lr * grad + momentum * buf
                return p - v, v
        '''},
        fails=frozenset({"test_momentum_step_matches_torch_sgd"}) | BY_HAND,
        mistake="a momentum buffer in another convention"),
    # --- the rest of the lesson: Shorts 15, 24 and 25 ------------------------------------------------
    "diverges-ignores-momentum": Example(
        cells={"diverges": '''
            def diverges(lr, momentum, steps):
                x = torch.tensor(0.0, requires_grad=True)
                optimizer = torch.optim.SGD([x], lr=lr)  # momentum never reaches the optimizer
                for _ in range(steps):
                    optimizer.zero_grad()
                    loss = (x - 3) ** 2
                    loss.backward()
                    optimizer.step()
                return not abs(x.item() - 3) <= 3
        '''},
        fails=frozenset({"test_momentum_divergence_matches_sgd"}), mistake="momentum left out of the optimizer"),
    "lr-below-one-early": Example(
        cells={"lr_below": '''
            def epoch_lr_below(gamma, fraction):
                return int(math.log(fraction) / math.log(gamma))  # rounds down: the last epoch still above
        '''},
        fails=frozenset({"test_epoch_lr_below_matches_exponential_lr"}), mistake="an epoch count one off"),
    "cosine-t-max-epochs": Example(
        cells={"per_step_cosine": '''
            from torch.optim.lr_scheduler import CosineAnnealingLR


            def per_step_cosine_lrs(base_lr, epochs, steps_per_epoch, eta_min=0.0):
                optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
                scheduler = CosineAnnealingLR(optimizer, T_max=epochs, eta_min=eta_min)  # epochs, but stepped per batch
                lrs = []
                for _ in range(epochs):
                    for _ in range(steps_per_epoch):
                        lrs.append(optimizer.param_groups[0]["lr"])
                        optimizer.step()
                        scheduler.step()
                return lrs
        '''},
        fails=frozenset({"test_per_step_cosine_ends_at_last_step"}),
        mistake="T_max counted in epochs while stepping every batch"),
}
