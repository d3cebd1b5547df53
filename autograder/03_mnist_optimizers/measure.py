"""What the judge measures itself for 03_mnist_optimizers, from plain data the kernel sent back and the
grader's own MNIST (course.data_dir), never from anything the student's kernel computed or named:
the test accuracy of trained weights loaded into the lesson's MLP, and the loss a budget run must
start from (the grader's initial weights on the first batch).

The arithmetic is the harness's own (inputs.py: mnist_normalised, grader_mlp, grader_accuracy's
batches), so the judge measures the reference's weights exactly as `course calibrate` did.
"""
from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

from course.grading import Mismatch, sibling

inputs = sibling(__file__, "inputs")

# The first loss of a correct train() is the cross-entropy of the grader's initial weights on its first batch,
# in train mode, under the dropout masks its seeding draws. Measured over 20 seeds (grading seeds 3517-3526,
# calibration seeds 0-9), 200 draws each (tests/test_mnist_judge.py re-measures it): the eval-mode loss on the
# judge's first batch and the train-mode loss under the reference's masks are at most 0.025 apart; other masks
# stay within 0.024 of the eval-mode loss; and even another batch order with other masks (a train() that
# shuffles its own way) lands at most 0.056 outside the span of those two figures. A loss within FIRST_LOSS_ATOL
# of that span passes, which admits all of them (rtol 0: every first loss is near ln(10) = 2.30). Two Adam
# steps from these weights already bring the loss on that batch to 2.06-2.13, twenty to 0.60-0.89: weights that
# arrive trained, or a history that starts after the first steps, fall below the band.
FIRST_LOSS_ATOL = 0.1
FIRST_LOSS_RTOL = 0.0
# Accuracy is a count out of 10,000 images. The judge's matmuls may round differently from the kernel's
# (another thread count), which can flip an image whose two best logits tie to the last bit: allow one.
ONE_IMAGE = 1.5e-4
EVAL_BATCH = 2000  # images per forward pass, as grader_accuracy batches them


def budget_steps(budget: dict) -> int:
    """The optimizer steps of a run: one per batch, every epoch."""
    return budget["epochs"] * math.ceil(budget["train_size"] / budget["batch_size"])


def mnist_split(root: str, train: bool, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 1, 28, 28) normalised as the harness does, labels (N,)) of the grader's MNIST at `root`:
    the first `size` images of the split, or all."""
    dataset = torchvision.datasets.MNIST(root, train=train, download=False)
    images, labels = dataset.data, dataset.targets  # (N, 28, 28) uint8, (N,) int64
    if size is not None:
        images, labels = images[:size], labels[:size]
    return inputs.mnist_normalised(images), labels.clone()


@functools.lru_cache(maxsize=2)
def mnist_test(root: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The grader's test set, read once per process (31 MB): every accuracy is measured on it."""
    return mnist_split(root, False)


def mlp_with(weights) -> torch.nn.Module:
    """The lesson's MLP holding `weights` (the kernel's list of parameter tensors, in parameter order),
    or a Mismatch when they are not that MLP's parameters."""
    model = inputs.grader_mlp()
    params = list(model.parameters())
    if (not isinstance(weights, (list, tuple)) or len(weights) != len(params)
            or not all(isinstance(w, torch.Tensor) and w.shape == p.shape for w, p in zip(weights, params))):
        raise Mismatch("The trained weights that came back are not the lesson's MLP's parameters (they differ in "
                       "number or shape): train() must train the model it is given, in place.")
    with torch.no_grad():
        for p, w in zip(params, weights):
            p.copy_(w.to(p.dtype))
    return model


def _digest(weights) -> str:
    digest = hashlib.sha256()
    for w in weights:
        digest.update(str(tuple(w.shape)).encode() + w.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


_ACCURACY: dict[tuple[str, str], float] = {}


def accuracy(root: Path | str, weights) -> float:
    """Test accuracy of `weights` in the lesson's MLP on the grader's MNIST test set: eval mode, no grad,
    batches of EVAL_BATCH, as grader_accuracy measures it in the kernel."""
    model = mlp_with(weights)
    key = (str(root), _digest(weights))
    if key not in _ACCURACY:
        x_test, y_test = mnist_test(str(root))
        model.eval()
        with torch.no_grad():
            predicted = torch.cat([model(x).argmax(dim=1) for x in x_test.split(EVAL_BATCH)])  # (10000,)
        _ACCURACY[key] = (predicted == y_test).double().mean().item()
    return _ACCURACY[key]


def initial_mlp(seed: int) -> torch.nn.Module:
    """The grader's initial weights, built as the harness builds them (inputs.initial_mlp):
    the lesson's MLP under torch.manual_seed(seed). The judge's own generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return inputs.grader_mlp()


@functools.lru_cache(maxsize=8)
def first_losses(root: str, train_size: int, batch_size: int, seed: int) -> tuple[float, float]:
    """(train-mode, eval-mode) cross-entropy of the grader's initial weights on a budget run's first batch:
    the first batch_size indices of torch.randperm(train_size) drawn from torch.Generator().manual_seed(seed),
    and in train mode the dropout masks of torch.manual_seed(seed), as the reference's train() draws them."""
    x_train, y_train = mnist_split(root, True, train_size)
    first = torch.randperm(train_size, generator=torch.Generator().manual_seed(seed))[:batch_size]  # (B,)
    x, y = x_train[first], y_train[first]  # (B, 1, 28, 28), (B,)
    model = initial_mlp(seed)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        model.eval()
        in_eval = F.cross_entropy(model(x), y).item()
        model.train()
        torch.manual_seed(seed)
        in_train = F.cross_entropy(model(x), y).item()
    return in_train, in_eval


def first_loss_gap(loss: float, expected: tuple[float, float]) -> float:
    """How far `loss` is outside the band a correct first loss lies in (0 when inside): the span of the
    train- and eval-mode figures, widened by FIRST_LOSS_ATOL (+ FIRST_LOSS_RTOL of the figure) each side.
    Positive: above the band; negative: below it; nan when the loss is not finite."""
    if not math.isfinite(loss):
        return math.nan
    low, high = min(expected), max(expected)
    low -= FIRST_LOSS_ATOL + FIRST_LOSS_RTOL * abs(low)
    high += FIRST_LOSS_ATOL + FIRST_LOSS_RTOL * abs(high)
    return loss - high if loss > high else loss - low if loss < low else 0.0


@functools.lru_cache(maxsize=4)
def data_fingerprint(root: str, train_size: int) -> tuple:
    """inputs.data_fingerprint of the grader's own data: what the kernel's data should have been."""
    x_train, _ = mnist_split(root, True, train_size)
    x_test, _ = mnist_test(root)
    return tuple(inputs.data_fingerprint({"x_train": x_train, "x_test": x_test}))
