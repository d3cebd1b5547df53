"""Reference solution for 03_mnist_optimizers: train one MLP on MNIST under several optimizer,
learning-rate, scheduler and loss configurations, starting every run from identical weights."""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # statistics of the 60k MNIST training pixels (in [0, 1])


def load_mnist(root: str, train_size: int | None = None) -> dict:
    """Load MNIST as whole tensors, normalised once (no per-sample transforms, no DataLoader).

    train_size keeps the FIRST train_size training images (deterministic, no seed needed);
    the test set is always the full 10k.
    """
    data = {}
    for split, train in (("train", True), ("test", False)):
        ds = torchvision.datasets.MNIST(root, train=train, download=False)
        x = ds.data  # (N, 28, 28) uint8
        y = ds.targets  # (N,) int64
        if train and train_size is not None:
            x, y = x[:train_size], y[:train_size]
        # normalise the whole split once; far cheaper than a transform per sample
        x = (x.float() / 255.0 - MNIST_MEAN) / MNIST_STD
        data[f"x_{split}"] = x.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
        data[f"y_{split}"] = y.long()
    return data


def make_model() -> nn.Sequential:
    """The lesson's MLP; it returns raw logits (no softmax: CrossEntropyLoss applies log-softmax itself)."""
    return nn.Sequential(
        nn.Flatten(),  # (B, 1, 28, 28) -> (B, 784)
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )


def compute_loss(logits: torch.Tensor, y: torch.Tensor, loss: str = "ce") -> torch.Tensor:
    """Mean loss of a batch. loss="ce": cross-entropy on raw logits (the right choice for classes).
    loss="mse": MSE between softmax probabilities and one-hot targets (the lesson's MSE-vs-CE experiment)."""
    if loss == "ce":
        return F.cross_entropy(logits, y)
    if loss == "mse":
        target = F.one_hot(y, num_classes=logits.shape[1]).float()  # (B,) -> (B, 10)
        return F.mse_loss(logits.softmax(dim=1), target)
    raise ValueError(f"unknown loss {loss!r}, expected 'ce' or 'mse'")


def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0,
          loss="ce") -> list[float]:
    """Minibatch training; returns the loss of every step.

    seed fixes both the batch order (its own Generator) and the dropout masks (global RNG),
    so two runs with the same seed and the same initial weights see exactly the same data.
    """
    torch.manual_seed(seed)  # dropout masks come from the global RNG
    g = torch.Generator().manual_seed(seed)  # batch order: separate RNG, unaffected by dropout
    x, y = data["x_train"], data["y_train"]
    n = x.shape[0]
    model.train()  # dropout on
    history = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)  # a fresh shuffle every epoch
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            logits = model(x[idx])  # (B, 10)
            step_loss = compute_loss(logits, y[idx], loss)
            optimizer.zero_grad()  # otherwise .grad accumulates across steps
            step_loss.backward()
            if max_grad_norm is not None:
                # clip between backward and step: the gradients must exist, and step must see the clipped ones
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            history.append(step_loss.item())
        if scheduler is not None:
            scheduler.step()  # schedules here are defined in epochs, so step once per epoch
    return history


@torch.no_grad()  # no graph needed: saves memory and time
def evaluate(model, data, batch_size: int = 2000) -> float:
    """Accuracy on the full test set, with dropout off."""
    model.eval()
    x, y = data["x_test"], data["y_test"]
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        pred = model(x[i:i + batch_size]).argmax(dim=1)  # (B, 10) -> (B,)
        correct += (pred == y[i:i + batch_size]).sum().item()
    return correct / x.shape[0]


def run_experiment(configs, data, epochs, batch_size, seed) -> dict:
    """Train one model per config from identical initial weights and identical batch order.

    configs maps name -> spec, where spec is either
      - a callable params -> optimizer (shorthand for {"optimizer": callable}), or
      - a dict with keys
          "optimizer":     callable params -> optimizer           (required)
          "scheduler":     callable optimizer -> scheduler | None (stepped once per epoch)
          "loss":          "ce" (default) or "mse"
          "max_grad_norm": float | None
    Returns name -> {"losses": per-step losses, "accuracy": test accuracy}.
    """
    torch.manual_seed(seed)
    init_state = copy.deepcopy(make_model().state_dict())  # the one starting point all configs share
    results = {}
    for name, spec in configs.items():
        if callable(spec):
            spec = {"optimizer": spec}
        model = make_model()
        model.load_state_dict(init_state)  # reset: never reuse a model trained by a previous config
        optimizer = spec["optimizer"](model.parameters())
        make_scheduler = spec.get("scheduler")
        scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
        losses = train(model, optimizer, data, epochs, batch_size, scheduler=scheduler,
                       max_grad_norm=spec.get("max_grad_norm"), seed=seed, loss=spec.get("loss", "ce"))
        results[name] = {"losses": losses, "accuracy": evaluate(model, data)}
    return results


if __name__ == "__main__":
    import sys
    import time

    import torch.optim as optim

    EPOCHS = 3
    data = load_mnist(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data", train_size=10_000)
    configs = {
        "sgd": lambda p: optim.SGD(p, lr=0.01),
        "sgd_momentum": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
        "adam": lambda p: optim.Adam(p, lr=1e-3),
        "adamw": lambda p: optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        "adam_lr0.1": lambda p: optim.Adam(p, lr=0.1),
        "adam_cosine": {"optimizer": lambda p: optim.Adam(p, lr=1e-3),
                        "scheduler": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS)},
        "adam_mse": {"optimizer": lambda p: optim.Adam(p, lr=1e-3), "loss": "mse"},
    }
    t0 = time.perf_counter()
    results = run_experiment(configs, data, epochs=EPOCHS, batch_size=128, seed=0)
    for name, r in results.items():
        print(f"{name:14s} final loss {r['losses'][-1]:.4f}  test acc {r['accuracy']:.4f}")
    print(f"{time.perf_counter() - t0:.1f}s")
