"""What the graders and the mistake table compare with, computed in the judge on the hidden inputs:
the closed form of gradient descent on (x - 3)^2, and torch.optim's own runs with their state
written in the notebook's format.
"""
import torch

# The state each step function returns, in the notebook's format, read from torch's optimizer state.
STATE_KEYS = {"momentum_step": None, "adam_step": ("step", "exp_avg", "exp_avg_sq"), "rmsprop_step": ("square_avg",)}


def closed_form(x0: float, lr: float, steps: int) -> torch.Tensor:
    """x_k = 3 - (3 - x0)(1 - 2 lr)^k for k = 1..steps, in float64, returned as float32."""
    k = torch.arange(1, steps + 1, dtype=torch.float64)
    return (3 - (3 - x0) * (1 - 2 * lr) ** k).float()


def optimizer_class(hp: dict):
    """The torch optimizer a harness setting stands for, and its keyword arguments."""
    hp = dict(hp)
    if "momentum" in hp:
        return torch.optim.SGD, hp
    if "alpha" in hp:
        return torch.optim.RMSprop, hp
    return (torch.optim.AdamW if hp.pop("decoupled") else torch.optim.Adam), hp


def notebook_state(fn: str, state: dict):
    """torch's state for one parameter as the notebook's step function returns it."""
    if fn == "momentum_step":
        return state["momentum_buffer"].clone()
    found = {key: state[key].clone() for key in STATE_KEYS[fn] if key != "step"}
    if "step" in STATE_KEYS[fn]:
        found["step"] = int(state["step"])
    return found


def torch_state(fn: str, state, like: torch.Tensor) -> dict:
    """A state in the notebook's format (None or {} before the first step) as torch's optimizer keeps it."""
    if state is None or (isinstance(state, dict) and not state):
        return {}

    def tensor(value):
        return torch.as_tensor(value).detach().to(like.dtype).clone()

    if fn == "momentum_step":
        return {"momentum_buffer": tensor(state)}
    found = {key: tensor(state[key]) for key in STATE_KEYS[fn] if key != "step"}
    # torch keeps the step count as a float32 tensor; RMSprop counts steps but its update never reads them.
    found["step"] = torch.tensor(float(state["step"]) if "step" in STATE_KEYS[fn] else 0.0)
    return found


def gradient(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The gradient of the harness's loss ||p @ a - b||^2 at p, computed as the harness computes it."""
    leaf = p.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(((leaf @ a - b) ** 2).sum(), leaf)
    return grad


def torch_step(fn: str, p: torch.Tensor, grad: torch.Tensor, state, hp) -> tuple:
    """One torch.optim step from the given parameter and state (notebook format): the new parameter
    and the new state in the notebook's format."""
    cls, kwargs = optimizer_class(hp)
    leaf = p.detach().clone().requires_grad_()
    optimizer = cls([leaf], **kwargs)
    optimizer.state[leaf] = torch_state(fn, state, leaf)
    leaf.grad = grad.clone()
    optimizer.step()
    return leaf.detach(), notebook_state(fn, optimizer.state[leaf])


def torch_run(fn: str, params, A, B, steps, hp) -> dict:
    """torch.optim on the harness's problem, in optimizer_run's format: every parameter and every
    state after every step, each as [step][param]."""
    cls, kwargs = optimizer_class(hp)
    theirs = [p.clone().requires_grad_() for p in params]
    optimizer = cls(theirs, **kwargs)
    history = {"params": [], "states": []}
    for _ in range(steps):
        optimizer.zero_grad()
        sum(((p @ a - b) ** 2).sum() for p, a, b in zip(theirs, A, B)).backward()
        optimizer.step()
        history["params"].append([p.detach().clone() for p in theirs])
        history["states"].append([notebook_state(fn, optimizer.state[p]) for p in theirs])
    return history


def torch_first_step(p, grad, hp) -> torch.Tensor:
    """One torch Adam/AdamW step from a fresh state with the given gradient."""
    cls, kwargs = optimizer_class(hp)
    leaf = p.clone().requires_grad_()
    leaf.grad = grad.clone()
    cls([leaf], **kwargs).step()
    return leaf.detach()
