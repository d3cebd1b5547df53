"""Reference answers for the optimizer half of Day 5: gradient descent, SGD, momentum,
Adam/AdamW, RMSprop, learning-rate sweeps and schedules, and gradient clipping."""

import math

import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR


def f(x):
    """The toy objective (x - 3)^2, minimised at x = 3."""
    return (x - 3) ** 2


def gd_trajectory(x0: float, lr: float, steps: int) -> torch.Tensor:
    """Plain gradient descent on f, by hand; returns x after each step, shape (steps,)."""
    # float32 whatever x0 is: torch.tensor(0, requires_grad=True) is an integer tensor and refuses.
    x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
    xs = []
    for _ in range(steps):
        loss = f(x)
        loss.backward()
        # The update itself must not be recorded in the graph: x is a leaf we overwrite in place.
        with torch.no_grad():
            x -= lr * x.grad
        # backward() accumulates into .grad, so clear it or the next step sees the sum of all grads.
        x.grad.zero_()
        xs.append(x.item())
    return torch.tensor(xs, dtype=torch.float32)


def sgd_trajectory(x0: float, lr: float, steps: int) -> torch.Tensor:
    """The same descent through torch.optim.SGD; must equal gd_trajectory."""
    x = torch.tensor(x0, dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    xs = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = f(x)
        loss.backward()
        optimizer.step()
        xs.append(x.item())
    return torch.tensor(xs, dtype=torch.float32)


def momentum_step(p, grad, buf, lr, momentum):
    """One SGD-with-momentum step as torch.optim.SGD(momentum, dampening=0, nesterov=False).

    v = grad on the first step (buf is None), else v = momentum * v + grad; p = p - lr * v.
    """
    # torch seeds the buffer with the raw gradient rather than with zeros, so step 1 is plain SGD.
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * buf, buf


def diverges(lr: float, momentum: float, steps: int) -> bool:
    """Whether torch.optim.SGD(lr, momentum) on f, from x0 = 0 for `steps` steps, ends farther from
    the minimum 3 than it started (or not finite): Short 15's high lr with high momentum, measured."""
    x = torch.tensor(0.0, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=momentum)
    for _ in range(steps):
        optimizer.zero_grad()
        f(x).backward()
        optimizer.step()
    # Written as `not <=` so that a nan (inf - inf after an overflow) counts as diverged.
    return not abs(x.item() - 3.0) <= 3.0


def adam_step(p, grad, state, lr, betas, eps, weight_decay, decoupled):
    """One Adam step (decoupled=False, as torch.optim.Adam) or AdamW step (decoupled=True).

    state is {} on the first call, then {"step": t, "exp_avg": m, "exp_avg_sq": v}.
    """
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


def rmsprop_step(p, grad, state, lr, alpha, eps):
    """One step of torch.optim.RMSprop(alpha, eps) without momentum, not centered.

    state is {} on the first call, then {"square_avg": v}.
    """
    v = state.get("square_avg", torch.zeros_like(p))
    v = alpha * v + (1 - alpha) * grad * grad
    # No bias correction here, unlike Adam: torch's RMSprop divides by the raw running average.
    p = p - lr * grad / (v.sqrt() + eps)
    return p, {"square_avg": v}


def lr_sweep(lrs, epochs: int, seed: int) -> dict:
    """Fair learning-rate comparison on the lesson's random regression: {lr: [loss per epoch]}.

    Each loss is the one computed in that epoch, before its optimizer.step().
    """
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


SCHEDULERS = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}


def lr_schedule(kind: str, base_lr: float, epochs: int, **kw) -> list:
    """The lr used in each epoch 0..epochs-1 under StepLR / ExponentialLR / CosineAnnealingLR.

    kw goes to the scheduler: step_size and gamma; gamma; T_max (and optionally eta_min).
    """
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


def cosine_lr(epoch: int, base_lr: float, T_max: int, eta_min: float = 0.0) -> float:
    """Closed-form cosine annealing: base_lr at epoch 0, eta_min at epoch T_max."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def epoch_lr_below(gamma: float, fraction: float) -> int:
    """The first epoch whose lr under ExponentialLR(gamma) is below fraction * base_lr (Short 24).

    Epoch 0 runs at base_lr and epoch e at base_lr * gamma^e, so the answer is the least e with
    gamma^e < fraction; it does not depend on base_lr.
    """
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=1.0)
    scheduler = ExponentialLR(optimizer, gamma=gamma)
    epoch = 0
    while not optimizer.param_groups[0]["lr"] < fraction:
        optimizer.step()
        scheduler.step()
        epoch += 1
    return epoch


def per_step_cosine_lrs(base_lr: float, epochs: int, steps_per_epoch: int, eta_min: float = 0.0) -> list:
    """The lr of every optimizer step when CosineAnnealingLR is stepped after every batch (Short 25).

    The scheduler then counts batches, so T_max is the total number of steps, not of epochs: the
    cosine reaches its last value at the last step instead of cycling back up every T_max batches.
    """
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


@torch.no_grad()
def clip_grad_norm_manual(parameters, max_norm: float) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ (2-norm) by hand; returns the total norm before clipping."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # The norm of the per-tensor norms is the norm of all grads flattened into one vector.
    total_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    # 1e-6 guards against dividing by zero; clamping to 1 means small grads are never scaled up.
    clip_coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(clip_coef)
    return total_norm


def train_step(model, optimizer, loss_fn, x, y, max_norm=None) -> float:
    """One production training step (Short 28); returns the loss before the update, as a float.

    zero_grad, forward, loss, backward, clip the total grad norm to max_norm (if given), step.
    """
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    if max_norm is not None:
        # After backward (there is nothing to clip before) and before step (which reads the grads).
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


# What the by-hand exercises may not call: torch's optimizers, schedulers and clipping helpers.
OPTIMIZER_BUILTINS = {
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "_functional",
    "StepLR", "ExponentialLR", "CosineAnnealingLR", "LRScheduler", "lr_scheduler",
    "clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_", "get_total_norm",
}


# Clipping acts on the gradients backward() just made and must finish before step() uses them;
# the scheduler moves the lr once the step that used it is done.
TRAINING_STEP_ORDER = ["zero_grad", "forward", "loss", "backward", "clip", "step", "scheduler.step"]


def step_name(answer) -> str:
    """The quiz's accepted spellings: 'optimizer.zero_grad()', 'loss.backward()' and 'zero_grad' are one answer."""
    text = str(answer).strip().lower().replace("()", "").replace(" ", "")
    for prefix in ("optimizer.", "opt.", "loss.", "model.", "torch.nn.utils.", "nn.utils."):
        text = text.removeprefix(prefix)
    return {"clip_grad_norm_": "clip", "clip_grad_norm": "clip", "sched.step": "scheduler.step"}.get(text, text)
