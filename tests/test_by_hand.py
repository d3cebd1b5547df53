"""Does the by-hand check resolve each name as Python would, per scope, and never guess?

Pure AST: the cells are read, never run.
"""
import pytest

from course.grading import Student, builtins_reached, builtins_used

LOSSES = {"mse_loss", "MSELoss", "l1_loss", "cross_entropy", "CrossEntropyLoss", "nll_loss"}
OPTIMIZERS = {"SGD", "Adam", "AdamW", "lr_scheduler", "StepLR", "clip_grad_norm_", "_functional"}
IMPORTS = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


@pytest.mark.parametrize("code,found", [
    ("import torch.nn.functional as F\ndef f(a, b):\n    return F.mse_loss(a, b)", {"mse_loss"}),
    ("from torch.nn.functional import mse_loss as m\ndef f(a, b):\n    return m(a, b)", {"mse_loss"}),
    ("import torch\nF = torch.nn.functional\ndef f(a, b):\n    return F.mse_loss(a, b)", {"mse_loss"}),
    ("from torch.nn import functional as F\ndef f(a, b):\n    return F.mse_loss(a, b)", {"mse_loss"}),
    ("import torch\ndef f(a, b):\n    return torch.nn.functional.cross_entropy(a, b)", {"cross_entropy"}),
    ("import torch.nn as nn\ndef f(a, b):\n    return nn.CrossEntropyLoss()(a, b)", {"CrossEntropyLoss"}),
    ("import torch.nn as nn\ncrit = nn.MSELoss()\ndef f(a, b):\n    return crit(a, b)", {"MSELoss"}),
    ("from torch.nn.functional import *\ndef f(a, b):\n    return mse_loss(a, b)", {"mse_loss"}),
    ("import torch.nn.functional as F\ndef f(a, b):\n    return getattr(F, 'l1_loss')(a, b)", {"l1_loss"}),
    ("import importlib\ndef f(a, b):\n    return importlib.import_module('torch.nn.functional').mse_loss(a, b)", {"mse_loss"}),
    (IMPORTS + "def f(a, b, loss=F.mse_loss):\n    return loss(a, b)", {"mse_loss"}),
    (IMPORTS + "def f(a, b):\n    F2 = torch.nn.functional\n    return F2.nll_loss(a, b)", {"nll_loss"}),
    (IMPORTS + "def f(a, b):\n    return (lambda x, y: F.mse_loss(x, y))(a, b)", {"mse_loss"}),
    (IMPORTS + "class Mine(nn.MSELoss):\n    pass\ndef f(a, b):\n    return Mine()(a, b)", {"MSELoss"}),
    (IMPORTS + "LOSSES = {'mse': nn.MSELoss()}\ndef f(a, b):\n    return LOSSES['mse'](a, b)", {"MSELoss"}),
    (IMPORTS + "def outer():\n    crit = nn.MSELoss()\n    def f(a, b):\n        return crit(a, b)\n    return f\nf = outer()", {"MSELoss"}),
    (IMPORTS + "def helper(a, b):\n    return F.cross_entropy(a, b)\ndef f(a, b):\n    return helper(a, b)", {"cross_entropy"}),
    (IMPORTS + "def f(a, b):\n    return [F.mse_loss(x, y) for x, y in zip(a, b)]", {"mse_loss"}),
    (IMPORTS + "if True:\n    m = nn.MSELoss()\ndef f(a, b):\n    return m(a, b)", {"MSELoss"}),
    ("%matplotlib inline\nimport torch.nn as nn\ndef f(a, b):\n    return nn.MSELoss()(a, b)", {"MSELoss"}),
])
def test_builtins_are_caught_through_aliases_and_chains(code, found):
    """Is a torch loss caught however it is reached: import aliases, module aliases, attribute chains,
    instances, star imports, constant getattr, defaults, closures, subclasses, containers, helpers?"""
    assert builtins_used([code], "f", LOSSES) == found


@pytest.mark.parametrize("code", [
    # a student's own helper named like a torch loss
    IMPORTS + "def cross_entropy(z, y):\n    return -(z.log_softmax(1)[torch.arange(len(y)), y]).mean()\n"
              "def f(z, y):\n    return cross_entropy(z, y)",
    # a nested def named like a torch loss
    IMPORTS + "def f(a, b):\n    def mse_loss(x, y):\n        return ((x - y) ** 2).mean()\n    return mse_loss(a, b)",
    # a module-level name from another cell does not leak into a function's local of the same name
    IMPORTS + "loss = nn.CrossEntropyLoss()(torch.randn(2, 3), torch.tensor([0, 1]))\n"
              "def f(z, y):\n    loss = -(z.log_softmax(1)[torch.arange(len(y)), y]).mean()\n    return loss",
    # a parameter shadows a module-level alias
    IMPORTS + "crit = nn.MSELoss()\ndef f(crit, b):\n    return (crit - b).abs().mean()",
    # the last module-level binding is the one the function sees when the grader calls it
    IMPORTS + "mse = nn.MSELoss()\nmse = lambda a, b: ((a - b) ** 2).mean()\ndef f(a, b):\n    return mse(a, b)",
    # a torch loss used elsewhere in the notebook, not by f
    IMPORTS + "def g(a, b):\n    return F.mse_loss(a, b)\ndef f(a, b):\n    return (a - b).abs().mean()",
    # a method of the student's own class named like a loss
    IMPORTS + "class Losses:\n    def cross_entropy(self, z, y):\n        return -(z.log_softmax(1)[torch.arange(len(y)), y]).mean()\n"
              "def f(z, y):\n    return Losses().cross_entropy(z, y)",
])
def test_own_code_named_like_a_builtin_is_not_one(code):
    """Is a student's own function, nested def, local or method kept apart from torch's, whatever its name?"""
    assert builtins_used([code], "f", LOSSES) == set()


def test_names_in_one_function_do_not_alias_another_functions_locals():
    """Does `total_norm = clip_grad_norm_(...)` in train_step leave a manual clip's own `total_norm` alone?"""
    cells = [
        IMPORTS,
        "def train_step(model, optimizer, loss_fn, x, y, max_norm=None):\n"
        "    loss = loss_fn(model(x), y)\n    optimizer.zero_grad()\n    loss.backward()\n"
        "    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n"
        "    optimizer.step()\n    return loss.item()",
        "def clip_grad_norm_manual(parameters, max_norm):\n"
        "    grads = [p.grad for p in parameters if p.grad is not None]\n"
        "    total_norm = torch.sqrt(sum((g ** 2).sum() for g in grads))\n"
        "    for g in grads:\n        g.mul_(min(1.0, max_norm / (total_norm + 1e-6)))\n    return total_norm",
    ]
    assert builtins_used(cells, "clip_grad_norm_manual", OPTIMIZERS) == set()
    assert builtins_used(cells, "train_step", OPTIMIZERS) == {"clip_grad_norm_"}


def test_self_check_cells_do_not_poison_a_function():
    """Do module-level names made in a locked self-check cell (run through nbgrader, where the cells
    include test cells) leave the function's own locals alone?"""
    answer = IMPORTS + "def cross_entropy_manual(z, y):\n    shifted = z - z.max(1, keepdim=True).values\n" \
                       "    loss = -(shifted.log_softmax(1)[torch.arange(len(y)), y]).mean()\n    return loss"
    self_check = "loss = cross_entropy_manual(digits * 1000, classes)\n" \
                 "forbidden = {'cross_entropy', 'nll_loss', 'CrossEntropyLoss'}\n" \
                 "torch.testing.assert_close(loss, nn.CrossEntropyLoss()(digits * 1000, classes), rtol=1e-5, atol=1e-6)"
    assert builtins_used([answer, self_check], "cross_entropy_manual", LOSSES) == set()


def test_a_nested_def_named_like_an_optimizer_is_by_hand():
    """Is a by-hand `adam_step` that defines its own `Adam` helper credited?"""
    code = IMPORTS + ("def adam_step(p, grad, state, lr, betas, eps, weight_decay=0.0, decoupled=False):\n"
                      "    def Adam(m, v, t):\n        return m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)\n"
                      "    m_hat, v_hat = Adam(state['m'], state['v'], state['t'])\n"
                      "    return p - lr * m_hat / (v_hat.sqrt() + eps), state")
    assert builtins_used([code], "adam_step", OPTIMIZERS) == set()
    assert builtins_used([IMPORTS + "def adam_step(p):\n    return torch.optim.Adam([p])"], "adam_step", OPTIMIZERS) == {"Adam"}
    assert builtins_used([IMPORTS + "from torch.optim.lr_scheduler import StepLR\ndef cosine_lr(o):\n    return StepLR(o, 1)"],
                         "cosine_lr", OPTIMIZERS) == {"lr_scheduler", "StepLR"}


@pytest.mark.parametrize("code,reason", [
    (IMPORTS + "def f(a, b):\n    name = 'mse' + '_loss'\n    return getattr(F, name)(a, b)", "getattr() with a computed name"),
    ("import importlib\ndef f(a, b, m='torch'):\n    return importlib.import_module(m).nn.functional.mse_loss(a, b)",
     "import_module() of a computed name"),
    ("def f(a, b, m='torch'):\n    return __import__(m).nn.functional.mse_loss(a, b)", "__import__() of a computed name"),
    (IMPORTS + "def f(a, b):\n    return eval('F.mse' + '_loss')(a, b)", "eval()"),
    (IMPORTS + "exec('def f(a, b):\\n    return F.mse_loss(a, b)')", "module-level exec()"),
    (IMPORTS + "def f(a, b):\n    return ((a - b) ** 2).mean()\nglobals()['f'] = F.mse_loss", "module-level globals()"),
])
def test_what_cannot_be_read_statically_is_reported_not_guessed(code, reason):
    """Is a name built at run time neither charged nor silently passed, but reported as unchecked?"""
    result = builtins_reached([code], "f", LOSSES)
    assert result.used == frozenset()
    assert reason in result.unchecked


def test_a_function_no_cell_defines_is_said_so():
    """Is a function made at run time (exec) reported as not defined in the cells, not as by hand?"""
    result = builtins_reached([IMPORTS + "exec('def f(a, b):\\n    return F.mse_loss(a, b)')"], "f", LOSSES)
    assert result.defined is False and result.used == frozenset()
    assert builtins_reached([IMPORTS + "def f(a, b):\n    return a"], "f", LOSSES).defined is True


def test_plain_code_has_nothing_unchecked():
    """Does ordinary by-hand code leave nothing for the instructor to look at?"""
    code = IMPORTS + "def f(a, b):\n    return ((a - b) ** 2).mean()"
    assert builtins_reached([code, "pred = torch.zeros(3)\nprint(f(pred, pred))"], "f", LOSSES).unchecked == ()


def test_unreadable_cells_and_deep_code_do_not_crash():
    """Are cells that are not Python skipped, and absurdly nested code reported rather than crashing?"""
    assert builtins_used(["def f(:", "%%bash\necho hi", IMPORTS + "def f(a, b):\n    return F.mse_loss(a, b)"],
                         "f", LOSSES) == {"mse_loss"}
    deep = "x0 = 1\n" + "".join(f"x{i + 1} = x{i}\n" for i in range(3000)) + "def f(a):\n    return x3000"
    assert builtins_reached([deep], "f", LOSSES).used == frozenset()


def test_student_notes_are_kept_once():
    """Does a grader's note to the instructor appear once, however many tests make it?"""
    student = Student({}, {}, [])
    student.note("mse_manual: getattr() with a computed name")
    student.note("mse_manual: getattr() with a computed name")
    assert student.notes == ["mse_manual: getattr() with a computed name"]


def test_unchecked_names_reach_the_verdict_for_the_instructor_only(course):
    """Does a by-hand function the grader cannot read (getattr with a computed name) leave a note in
    the verdict, for the instructor, and none in what the student reads?"""
    from course.engine.judge import judge

    cells = [IMPORTS, "def mse_manual(pred, target):\n    name = 'mse' + '_loss'\n    return getattr(F, name)(pred, target)\n\n\n"
                      "def mae_manual(pred, target):\n    return (pred - target).abs().mean()"]
    verdict = judge(course, course.assignment("01_losses"), {}, cells, "not run in this test")
    assert verdict.notes == ["mse_manual: the by-hand check could not read getattr() with a computed name"]
    assert not any("getattr" in t.message for t in verdict.tests)
