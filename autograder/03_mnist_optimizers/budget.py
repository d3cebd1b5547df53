"""What the 03_mnist_optimizers graders train and how much, in one place: the grading budget, the
grader's configs, and the accuracy checks with their margins. inputs.py builds the kernel's calls
from it, `course calibrate` measures the reference on it, and the tests read the thresholds that
calibration wrote next to it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

REFERENCE = "solutions.mnist_optimizers"  # the module `course calibrate` measures
THRESHOLDS = Path(__file__).with_name("thresholds.toml")  # written by `course calibrate`, never by hand

# Every submission trains this much, whatever its notebook's parameters say: about 1.3 s per config
# on one thread, so the four configs below cost about 5.5 s of training per submission.
BUDGET = {"train_size": 30_000, "epochs": 2, "batch_size": 128}
# Short, uncalibrated runs that watch the code rather than the accuracy: about 0.5 s in all. Their batch
# size is not the notebook's BATCH_SIZE (128), so a train() that ignores its batch_size is seen.
TINY = {"train_size": 1024, "epochs": 2, "batch_size": 100}  # train's loop structure: 22 steps (the last
# batch of each epoch is short), three runs
EVALUATED = {"train_size": 5000, "epochs": 1, "batch_size": 128}  # the grader's model evaluate is run on
# run_experiment's runs: the grader's make_model, and stand-ins for train and evaluate that record what
# run_experiment gives them, so no training happens; DATA and BATCH_SIZE are set for the call.
EXPERIMENT = {"train_size": 512, "epochs": 2, "batch_size": 96}

# The grader's configs, as plain data: the harness builds the optimizer (and scheduler) in the kernel.
CONFIGS = {
    "adam": {"optimizer": "Adam", "lr": 1e-3},
    "adam_lr_0.1": {"optimizer": "Adam", "lr": 0.1},
    "sgd_momentum": {"optimizer": "SGD", "lr": 0.01, "momentum": 0.9},
    # Stepped once per epoch the lr halves once; stepped per batch it is gone after a few dozen steps.
    "adam_exponential": {"optimizer": "Adam", "lr": 1e-3, "scheduler": "ExponentialLR", "gamma": 0.5},
}


def describe(config: dict) -> str:
    """'Adam lr=0.001, ExponentialLR(gamma=0.5) per epoch': what a student may be told about a config."""
    extra = "".join(f" {k}={config[k]:g}" for k in ("momentum", "weight_decay") if k in config)
    text = f"{config['optimizer']} lr={config['lr']:g}{extra}"
    if "scheduler" in config:
        text += f", {config['scheduler']}(gamma={config['gamma']:g}) stepped once per epoch"
    return text


@dataclass(frozen=True)
class Check:
    """One calibrated quantity: the test accuracy of config `better`, minus that of `worse` if given.
    A submission passes when its value is at least the threshold: the worst reference run minus `margin`."""

    what: str
    better: str
    worse: str | None
    margin: float  # why each margin is what it is: see CHECKS

    def value(self, accuracy: dict[str, float]) -> float:
        return accuracy[self.better] - (accuracy[self.worse] if self.worse else 0.0)


# Margins, from the reference and the planted mistakes over 15 seeds at this budget (bench/mnist_budget.py):
# - sgd_momentum: reference 0.944-0.948; softmax before CrossEntropyLoss 0.75-0.90, no zero_grad about 0.10.
# - adam_exponential: reference 0.956-0.959; softmax before CrossEntropyLoss 0.935-0.943 (so the margin
#   stays under 0.01), scheduler stepped per batch 0.49-0.57. (Plain Adam is not a floor: with softmax
#   before the loss it still reaches 0.938-0.946, within 0.01 of the reference, so no margin separates them.)
# - adam_lr_gap: reference gap 0.55 or more (Adam at 0.1 sometimes learns a little: up to 0.41). The margin
#   keeps the required gap near 0.2, which a train that ignores its optimizer (gap about 0) fails and
#   every train that uses it passes, even one without zero_grad (gap 0.29-0.45), failed elsewhere.
CHECKS = {
    "sgd_momentum": Check("test accuracy of SGD lr=0.01 momentum=0.9", "sgd_momentum", None, margin=0.01),
    "adam_exponential": Check("test accuracy of Adam lr=0.001 with ExponentialLR(gamma=0.5) per epoch",
                              "adam_exponential", None, margin=0.008),
    "adam_lr_gap": Check("test accuracy of Adam lr=0.001 minus that of Adam lr=0.1", "adam", "adam_lr_0.1",
                         margin=0.35),
}


def thresholds(path: Path = THRESHOLDS) -> dict:
    """The calibrated thresholds file, as `course calibrate` wrote it: check name -> its table."""
    return tomllib.loads(path.read_text())
