"""Reference solution for 03_mnist_optimizers: one MLP trained on MNIST under several optimizer,
learning-rate, scheduler and loss configurations, every run from identical weights and batch order.

The notebook's answer cells are copied from these functions by `course release` (the `# body of ...` lines
of source/03_mnist_optimizers/mnist_optimizers.py),
and `course calibrate` measures this module to set the accuracy thresholds, so the two cannot drift.
"""
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # statistics of the 60k MNIST training pixels (in [0, 1])

# What run_experiment trains on; the notebook sets both in its data cell.
DATA: dict | None = None
BATCH_SIZE = 128


def load_mnist(root, train_size=None):
    """MNIST as four in-memory tensors, normalised once: x_train (N, 1, 28, 28), y_train (N,),
    x_test (10000, 1, 28, 28), y_test (10000,). train_size keeps the first train_size training images."""
    data = {}
    for split, train in (("train", True), ("test", False)):
        dataset = torchvision.datasets.MNIST(root, train=train, download=True)
        x, y = dataset.data, dataset.targets  # (N, 28, 28) uint8, (N,) int64
        if train and train_size is not None:
            x, y = x[:train_size], y[:train_size]
        # Normalising the whole split once is far cheaper than a transform per sample per epoch.
        data[f"x_{split}"] = ((x.float() / 255 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
        data[f"y_{split}"] = y.long()
    return data


def make_model():
    """The lesson's MLP: Flatten, 784 -> 256 -> 128 -> 10, ReLU and Dropout(0.2) after each hidden layer.
    It returns raw logits (no softmax)."""
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


def compute_loss(logits, y, loss="ce"):
    """The mean loss of a batch of logits (B, 10) against class indices y (B,).
    loss="ce": cross-entropy on the raw logits. loss="mse": MSE between softmax(logits) and one-hot(y)."""
    if loss == "ce":
        return F.cross_entropy(logits, y)  # log-softmax is inside: never softmax the logits first
    if loss == "mse":
        target = F.one_hot(y, num_classes=logits.shape[1]).float()  # (B,) -> (B, 10)
        return F.mse_loss(logits.softmax(dim=1), target)
    raise ValueError(f"unknown loss {loss!r}: use 'ce' or 'mse'")


def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
    """Train `model` on data["x_train"], data["y_train"] in minibatches of `batch_size` for `epochs`
    epochs; return the loss of every step as a list of floats (epochs * ceil(N / batch_size) of them).

    Each epoch visits the data in a new random order from torch.randperm with a generator seeded
    with `seed`, and torch.manual_seed(seed) fixes the dropout masks: the same seed and the same
    initial weights give the same run. Per step: zero_grad, forward, loss, backward, clip the
    gradient norm to max_grad_norm (when given) before the step, step. The scheduler (when given)
    steps once per epoch."""
    torch.manual_seed(seed)  # dropout masks come from the global generator
    order = torch.Generator().manual_seed(seed)  # batch order: its own generator, untouched by dropout
    x, y = data["x_train"], data["y_train"]
    model.train()  # dropout on; evaluate() may have switched it off
    history = []
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=order).split(batch_size):  # (N,) -> batches of (<= B,)
            optimizer.zero_grad()  # backward() adds into .grad: clear the previous step's gradients
            step_loss = compute_loss(model(x[idx]), y[idx], loss)
            step_loss.backward()
            if max_grad_norm is not None:
                # between backward and step: the gradients exist, and the step uses the clipped ones
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            history.append(step_loss.item())
        if scheduler is not None:
            scheduler.step()  # the schedules here count epochs
    return history


def evaluate(model, data):
    """Accuracy in [0, 1] of `model` on data["x_test"], data["y_test"], with dropout off (model.eval())
    and no autograd graph (torch.no_grad())."""
    model.eval()
    x, y = data["x_test"], data["y_test"]
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), 2000):
            predicted = model(x[start:start + 2000]).argmax(dim=1)  # (B, 10) -> (B,)
            correct += (predicted == y[start:start + 2000]).sum().item()
    return correct / len(x)


def run_experiment(configs, epochs, seed):
    """Train one fresh model per config on DATA (batches of BATCH_SIZE) with make_model, train and
    evaluate, and return {name: {"losses": [...], "accuracy": ...}}: what train returned and what
    evaluate measured. Every config starts from the same initial weights and sees the same batches.
    A config is a function params -> optimizer, or a dict with "optimizer" (that function) and
    optionally "scheduler" (optimizer -> scheduler), "loss" ("ce" or "mse") and "max_grad_norm"."""
    torch.manual_seed(seed)
    initial = copy.deepcopy(make_model().state_dict())  # the one starting point all configs share
    results = {}
    for name, config in configs.items():
        if callable(config):
            config = {"optimizer": config}
        model = make_model()
        model.load_state_dict(initial)  # a fresh copy: never a model another config has trained
        optimizer = config["optimizer"](model.parameters())
        scheduler = config["scheduler"](optimizer) if config.get("scheduler") else None
        losses = train(model, optimizer, DATA, epochs, BATCH_SIZE, scheduler=scheduler,
                       max_grad_norm=config.get("max_grad_norm"), seed=seed, loss=config.get("loss", "ce"))
        results[name] = {"losses": losses, "accuracy": evaluate(model, DATA)}
    return results


def decay_param_groups(model, weight_decay):
    """Two param groups for an optimizer such as AdamW, each with its own "weight_decay": the weights of
    the Linear (and Conv) layers decay with `weight_decay`; every bias and every parameter of a
    normalisation layer (LayerNorm, BatchNorm) gets weight_decay 0."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):  # each parameter once, with its own module
            if name == "bias" or isinstance(module, (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d)):
                no_decay.append(p)
            else:
                decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def current_lrs(optimizer):
    """The learning rate every param group has now, in group order, as floats: log them all, not group 0's."""
    return [float(group["lr"]) for group in optimizer.param_groups]


def plot_losses(results, panels):
    """A figure with one panel per entry of `panels` (title -> config names), titled with it: in each
    panel the training loss per step of every config named, one line per config labelled with its
    name, axis labels and a legend. Returns the figure."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (title, names) in zip(axes.flat, panels.items()):
        for name in names:
            ax.plot(results[name]["losses"], label=name, linewidth=0.8)
        ax.set(title=title, xlabel="training step", ylabel="training loss (per batch)", yscale="log")
        ax.legend()
    fig.tight_layout()
    return fig


def best_config(results):
    """The name of the config with the highest final test accuracy in `results`."""
    return max(results, key=lambda name: results[name]["accuracy"])
