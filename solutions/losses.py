"""Reference losses for 01_losses: torch's own modules are the oracle the manual versions must match."""
import torch.nn as nn
import torch.nn.functional as F


def mse(pred, target):
    return F.mse_loss(pred, target)


def mae(pred, target):
    return F.l1_loss(pred, target)


def bce(probs, targets):
    # nn.BCELoss clamps each log term at -100, so p = 0 or 1 gives a finite loss.
    return nn.BCELoss()(probs, targets)


def bce_with_logits(logits, targets):
    return nn.BCEWithLogitsLoss()(logits, targets)


def cross_entropy(logits, targets):
    # logits: (N, C) raw scores; targets: (N,) class indices
    return nn.CrossEntropyLoss()(logits, targets)


def make_spam_model(n_features):
    # Returns logits: nn.BCEWithLogitsLoss applies the sigmoid itself (Shorts 08, 31).
    return nn.Linear(n_features, 1)


def probabilities(logits):
    # logits: (N, C) raw scores -> (N, C) class probabilities, each row summing to 1 (Short 11)
    return logits.softmax(dim=1)


def predict_proba(model, x):
    return probabilities(model(x))


# The loss-choice quiz, for a model whose last layer returns raw logits (Shorts 30 and 31).
# Names are compared after normalising: "nn.MSELoss()", "MSELoss" and "mse" are one answer.
LOSS_FOR_TASK = {
    "regression": {"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"},
    "binary": {"BCEWithLogitsLoss"},
    "multiclass": {"CrossEntropyLoss"},
    "multilabel": {"BCEWithLogitsLoss"},
}
LOSS_INPUT = {
    "BCELoss": "probabilities",
    "BCEWithLogitsLoss": "logits",
    "CrossEntropyLoss": "logits",
}

# What a "manual" loss may not call: torch's own losses, as modules or functions.
LOSS_BUILTINS = {
    "mse_loss", "MSELoss", "l1_loss", "L1Loss", "binary_cross_entropy", "BCELoss",
    "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", "cross_entropy", "CrossEntropyLoss",
    "nll_loss", "NLLLoss",
}
