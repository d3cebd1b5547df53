"""Example submissions for 02_gradient_descent: a perfect one, the untouched release, and one per named mistake."""
from build import Example

ALL = frozenset({
    "test_gd_trajectory_matches_closed_form", "test_sgd_trajectory_matches_closed_form",
    "test_momentum_step_matches_torch_sgd", "test_adam_step_matches_torch_adam", "test_adam_step_matches_torch_adamw",
    "test_rmsprop_step_matches_torch", "test_lr_sweep_is_fair", "test_lr_sweep_matches_reference",
    "test_lr_schedule_matches_torch", "test_cosine_lr_matches_scheduler", "test_clip_grad_norm_manual_matches_torch",
    "test_manual_updates_no_builtin", "test_train_step_matches_reference", "test_train_step_clips_before_step",
    "test_quiz_training_step_order",
})
GD = frozenset({"test_gd_trajectory_matches_closed_form"})
SGD = frozenset({"test_sgd_trajectory_matches_closed_form"})
SWEEP = frozenset({"test_lr_sweep_is_fair", "test_lr_sweep_matches_reference"})
SCHEDULE = frozenset({"test_lr_schedule_matches_torch"})

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
        fails=frozenset({"test_adam_step_matches_torch_adam", "test_adam_step_matches_torch_adamw"}),
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
        fails=frozenset({"test_adam_step_matches_torch_adamw"}),
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
}
