"""Do the grader-author helpers explain differences to students and read code reliably?"""
import pytest
import torch

from course.grading import Mismatch, builtins_used, close, normalise_answer

SEED = 0


def test_close_names_shape_dtype_nan_and_value():
    """Does close() report, in that order, a wrong type, shape, dtype, nan and value?"""
    g = torch.Generator().manual_seed(SEED)
    expected = torch.randn(3, generator=g)
    cases = [
        ([1.0, 2.0, 3.0], "expected a tensor"),
        (expected[:2], "shape (2,), expected (3,)"),
        (expected.double(), "dtype torch.float64"),
        (torch.tensor([float("nan"), 0.0, 0.0]), "got nan"),
        (expected + 1, "values differ by up to 1"),
        (torch.tensor(2.0), "shape ()"),
    ]
    for actual, message in cases:
        with pytest.raises(Mismatch, match=message.replace("(", r"\(").replace(")", r"\)")):
            close(actual, expected, rtol=1e-5, atol=1e-6, what="f")
    close(expected.clone(), expected, rtol=0.0, atol=0.0, what="f")  # equal passes


def test_close_on_scalars_shows_both_values():
    with pytest.raises(Mismatch, match="got 6, expected 2"):
        close(torch.tensor(6.0), torch.tensor(2.0), rtol=1e-5, atol=1e-6, what="mse")


FORBIDDEN = {"mse_loss", "MSELoss", "cross_entropy"}


@pytest.mark.parametrize("code,found", [
    ("def f(a, b):\n    return ((a - b) ** 2).mean()", set()),
    ("import torch.nn.functional as F\ndef f(a, b):\n    return F.mse_loss(a, b)", {"mse_loss"}),
    ("from torch.nn.functional import mse_loss as m\ndef f(a, b):\n    return m(a, b)", {"mse_loss"}),
    ("crit = nn.MSELoss()\ndef f(a, b):\n    return crit(a, b)", {"MSELoss"}),
    ("def helper(a, b):\n    return F.cross_entropy(a, b)\ndef f(a, b):\n    return helper(a, b)", {"cross_entropy"}),
    ("def f(a, b):\n    return getattr(F, 'mse_loss')(a, b)", {"mse_loss"}),
    ("%matplotlib inline\ndef f(a, b):\n    return nn.MSELoss()(a, b)", {"MSELoss"}),
    ("def g(a, b):\n    return F.mse_loss(a, b)\ndef f(a, b):\n    return (a - b).abs().mean()", set()),
])
def test_builtins_used_reads_code_not_guesses(code, found):
    """Are forbidden calls found through aliases, helpers and magics, and only those f reaches?"""
    assert builtins_used([code], "f", FORBIDDEN) == found


def test_normalise_answer():
    assert normalise_answer("nn.BCEWithLogitsLoss()") == normalise_answer("bce_with_logits") == "bcewithlogits"
    assert normalise_answer("torch.nn.MSELoss") == "mse"
