"""The hidden calls for 03_mnist_optimizers, and the harness functions that run the student's code on
real MNIST inside the student's kernel.

Each check runs one student function and stands the grader's own code in for the others, so a mistake
is charged to the function that makes it: the budget runs and the loop checks train the grader's MLP
with the student's train, whose compute_loss is the grader's while it runs; run_experiment runs with
the grader's make_model, and with recording stand-ins for train and evaluate (no training at all);
compute_loss, evaluate, plot_losses, best_config, decay_param_groups and current_lrs are called on
the grader's inputs.

The budget runs load the training data from the notebook's DATA_DIR (which the engine sets, and the
student could change), build the grader's initial weights and train them with the student's train on
the grader's configs under budget.BUDGET. Nothing measured there is trusted for a score: each budget
run sends back the trained weights and the loss history, and the judge measures the accuracy on its
own MNIST and checks the history against the budget (measure.py). What the kernel measured itself
(its accuracy, its optimizer-step count, a fingerprint of its data) comes back too, for `course
calibrate` (which runs the trusted reference) and for the instructor's notes (integrity.py). Every
seed is the grading seed. Harness functions run as fn(student_namespace, *args): each imports what it
needs in its body, and returns only numbers, strings, tensors and containers of them.
"""
import torch

from course.grading import Call, sibling

budget = sibling(__file__, "budget")

MAX_GRAD_NORM = 0.05  # far below this MLP's gradient norms, so every step must be clipped
EXPERIMENT_GROUPS = ("OPTIMIZERS", "LEARNING_RATES", "SCHEDULES", "LOSSES")

# run_experiment's configs, as plain data the harness turns into functions. Named by what they are, since
# feedback quotes the names: never the grader's own config names.
PLAIN_CONFIGS = {budget.describe(budget.CONFIGS[name]): budget.CONFIGS[name] for name in ("adam", "sgd_momentum", "adam_lr_0.1")}
DICT_CONFIGS = {
    "Adam lr=0.001 with StepLR": {"optimizer": budget.CONFIGS["adam"], "scheduler": {"step_size": 1, "gamma": 0.5}},
    "SGD lr=0.01 on MSE, clipped at 0.5": {"optimizer": {"optimizer": "SGD", "lr": 0.01}, "loss": "mse",
                                           "max_grad_norm": 0.5},
    "Adam lr=0.003 clipped at 2": {"optimizer": {"optimizer": "Adam", "lr": 0.003}, "max_grad_norm": 2.0},
}

# compute_loss's inputs: 6 images' logits over 10 classes, spread as a trained MLP's are (seeded below).
LOSS_BATCH, LOSS_SCALE = 6, 3.0

# decay_param_groups: the model is the harness's decay_model(); weight_decay is not the notebook's 0.01, and
# the optimizer's own default is neither it nor 0, so a group without its own "weight_decay" is seen.
DECAY = 0.05
OPTIMIZER_DEFAULT_DECAY = 0.0123

# current_lrs: three param groups with their own lrs, each scaled by its own LambdaLR factor per step.
GROUP_LRS = (0.1, 0.02, 0.005)
GROUP_FACTORS = (0.5, 0.9, 1.0)
SCHEDULER_STEPS = 2

# plot_losses and best_config: made-up results (their names are not the notebook's), in which the highest
# accuracy is neither the first, the last, nor the config with the lowest final loss (an MSE run).
MADE_UP_RESULTS = {
    "momentum 0.8": {"losses": [2.31, 1.42, 0.93, 0.71, 0.62], "accuracy": 0.912},
    "Adam 3e-4": {"losses": [2.29, 1.08, 0.55, 0.41, 0.35], "accuracy": 0.947},
    "Adam 3e-4 + MSE": {"losses": [0.092, 0.061, 0.034, 0.027, 0.021], "accuracy": 0.928},
    "RMSprop 1e-3": {"losses": [2.33, 0.97, 0.68, 0.49, 0.44, 0.40, 0.38], "accuracy": 0.935},
    "Adam 3e-2": {"losses": [2.30, 2.41, 2.35, 2.32], "accuracy": 0.113},
}
MADE_UP_PANELS = {"Optimizers": ["momentum 0.8", "Adam 3e-4", "RMSprop 1e-3"],
                  "Loss": ["Adam 3e-4", "Adam 3e-4 + MSE"], "Too high": ["Adam 3e-2"]}


# --- harness: shipped into the kernel as source ---------------------------------------------------

class StudentError(Exception):
    """The student's code failed; the message says which function and how, in the student's terms."""


def student_call(student, name, *args, **kwargs):
    """student[name](*args, **kwargs), with any failure told as a StudentError naming `name`."""
    if name not in student:
        raise StudentError(f"`{name}` is not defined: keep the cell that defines it, and make sure it runs without error.")
    try:
        return student[name](*args, **kwargs)
    except NotImplementedError:
        raise StudentError(f"`{name}` is not implemented yet (it raises NotImplementedError).") from None
    except Exception as error:
        raise StudentError(f"`{name}` raised {type(error).__name__}: {error}"[:300]) from None


class StandIns:
    """While a `with` block runs, the notebook's functions named here are the grader's; the student's come
    back after (or stay undefined). The student's other functions find them as globals, as they would
    find the student's own."""

    def __init__(self, student, **functions):
        self.student, self.functions, self.saved = student, functions, {}

    def __enter__(self):
        self.saved = {name: (name in self.student, self.student.get(name)) for name in self.functions}
        self.student.update(self.functions)
        return self

    def __exit__(self, *exc):
        for name, (present, value) in self.saved.items():
            if present:
                self.student[name] = value
            else:
                self.student.pop(name, None)
        return False


def grader_compute_loss(logits, y, *options, **named):
    """compute_loss as the notebook asks for it, standing in for the student's while their train() is
    checked: cross-entropy on the raw logits, or for loss="mse" the MSE between softmax(logits) and the
    one-hot targets. It takes the loss's name however train() passes it."""
    import torch.nn.functional as F

    kind = options[0] if options else next(iter(named.values()), "ce")
    if kind == "mse":
        return F.mse_loss(logits.softmax(dim=1), F.one_hot(y, num_classes=logits.shape[1]).float())
    return F.cross_entropy(logits, y)


def mnist_normalised(images):
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float32, normalised with the training set's mean and std.
    In place after the one copy .float() makes; the judge normalises its own MNIST with this too."""
    return images.float().div_(255).sub_(0.1307).div_(0.3081).unsqueeze(1)


def grader_data(root, train_size, _cache={}):
    """MNIST normalised once per call, first train_size training images and the full test set, as
    fresh tensors (a train that edits its data in place cannot spoil the next run). Only the raw
    uint8 images are kept between calls, and normalising works in place: the kernel's memory peak
    stays near one float copy of the images asked for."""
    import torchvision

    if root not in _cache:
        _cache[root] = {train: torchvision.datasets.MNIST(root, train=train, download=False) for train in (True, False)}
    train, test = _cache[root][True], _cache[root][False]
    return {"x_train": mnist_normalised(train.data[:train_size]), "y_train": train.targets[:train_size].clone(),
            "x_test": mnist_normalised(test.data), "y_test": test.targets.clone()}


def data_fingerprint(data):
    """What the kernel's data was, in four numbers the judge computes from its own MNIST too: the
    number of training images and the float64 sum of their pixels, and the same for the test set."""
    import torch

    return [len(data["x_train"]), float(data["x_train"].sum(dtype=torch.float64)),
            len(data["x_test"]), float(data["x_test"].sum(dtype=torch.float64))]


def grader_mlp():
    """The lesson's MLP, built by the grader from the global generator: no check depends on the student's
    make_model but its own."""
    import torch.nn as nn

    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def initial_mlp(seed):
    """The grader's initial weights: the lesson's MLP built under torch.manual_seed(seed). The judge builds
    the same weights itself (measure.initial_mlp)."""
    import torch

    torch.manual_seed(seed)
    return grader_mlp()


def weights_of(model):
    """The model's parameters, in order, as plain tensors: what the judge measures."""
    return [p.detach().clone() for p in model.parameters()]


def grader_optimizer(parameters, config):
    """(optimizer, scheduler or None) for a plain-data config from budget.CONFIGS."""
    import torch

    options = {k: config[k] for k in ("lr", "momentum", "weight_decay") if k in config}
    optimizer = getattr(torch.optim, config["optimizer"])(parameters, **options)
    scheduler = None
    if config.get("scheduler"):
        scheduler = getattr(torch.optim.lr_scheduler, config["scheduler"])(optimizer, gamma=config["gamma"])
    return optimizer, scheduler


def grader_accuracy(model, data):
    """Test accuracy measured by the grader: eval mode, no grad, the full test set."""
    import torch

    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x).argmax(dim=1) for x in data["x_test"].split(2000)])  # (10000,)
    return (predicted == data["y_test"]).double().mean().item()


def loss_kinds(losses):
    """What train() returned per step, counted: Python floats, tensors that still hold an autograd graph,
    other tensors, anything else."""
    import torch

    kinds = {"float": 0, "tensor_with_graph": 0, "tensor": 0, "other": 0}
    for loss in losses if isinstance(losses, (list, tuple)) else []:
        if isinstance(loss, float):
            kinds["float"] += 1
        elif isinstance(loss, torch.Tensor):
            kinds["tensor_with_graph" if loss.requires_grad else "tensor"] += 1
        else:
            kinds["other"] += 1
    return kinds


def history(losses, name="train"):
    """The student's loss history as a list of floats, or a StudentError saying what it was."""
    try:
        return [float(loss) for loss in losses]
    except Exception:
        raise StudentError(f"`{name}` should return its per-step losses as a list of floats, "
                           f"got {type(losses).__name__}.") from None


def train_on_budget(student, config, budget, seed):
    """The grader's initial weights, trained by the student's train (with the grader's compute_loss) on
    one grader config under the grading budget. What counts comes back as data for the judge: the
    trained weights and the loss history. The kernel's own accuracy, its count of optimizer steps and
    its data's fingerprint come back for `course calibrate` and the instructor's notes only."""
    data = grader_data(student["DATA_DIR"], budget["train_size"])
    fingerprint = data_fingerprint(data)
    model = initial_mlp(seed)
    optimizer, scheduler = grader_optimizer(model.parameters(), config)
    steps = [0]
    optimizer.register_step_pre_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
    with StandIns(student, compute_loss=grader_compute_loss):
        losses = student_call(student, "train", model, optimizer, data, budget["epochs"], budget["batch_size"],
                              scheduler=scheduler, seed=seed)
    return {"weights": weights_of(model), "losses": history(losses),
            "accuracy": grader_accuracy(model, data), "optimizer_steps": steps[0], "data": fingerprint}


def train_instrumented(student, seed, tiny, max_grad_norm, loss=None):
    """A short run of the student's train (with the grader's compute_loss) on the grader's MLP, watched from
    outside: the mode of the model at every forward, the gradients and their norm at every optimizer step,
    and how often a counting scheduler is stepped. The model starts in eval mode, as evaluate() leaves it.
    `loss`, when given, is passed on as train's loss=."""
    import math

    import torch

    data = grader_data(student["DATA_DIR"], tiny["train_size"])
    model = initial_mlp(seed)
    params = list(model.parameters())
    fresh, piled = {}, {}  # per parameter: this backward's gradient, and every backward's gradients summed

    def on_grad(i):
        def hook(grad):
            fresh[i] = grad.detach().clone()
            piled[i] = piled[i] + fresh[i] if i in piled else fresh[i].clone()
        return hook

    for i, p in enumerate(params):
        p.register_hook(on_grad(i))  # runs before the gradient is added into p.grad
    seen = {"forwards": 0, "forwards_in_eval": 0, "steps": 0, "stale": 0, "piled": 0, "clipped": 0, "norms": []}

    def norm(tensors):
        return math.sqrt(sum(float((t.double() ** 2).sum()) for t in tensors))

    def on_step(optimizer, args, kwargs):
        seen["steps"] += 1
        grads = [p.grad for p in params]
        seen["norms"].append(norm(g for g in grads if g is not None))
        if max_grad_norm is not None or len(fresh) != len(params) or any(g is None for g in grads):
            return
        # With zero_grad each step and no clipping asked for, .grad holds exactly this step's gradient.
        if all(torch.allclose(g, fresh[i], rtol=1e-5, atol=1e-7) for i, g in enumerate(grads)):
            return
        # This step's gradient scaled down by one factor for all parameters: clipped, not stale.
        scale = norm(grads) / max(norm(fresh.values()), 1e-30)
        if scale < 1 - 1e-6 and all(torch.allclose(g, scale * fresh[i], rtol=1e-4, atol=1e-7) for i, g in enumerate(grads)):
            seen["clipped"] += 1
            return
        seen["stale"] += 1
        seen["piled"] += seen["steps"] > 1 and all(
            torch.allclose(g, piled[i], rtol=1e-4, atol=1e-6) for i, g in enumerate(grads))

    class CountingLR(torch.optim.lr_scheduler.LambdaLR):
        """A scheduler that keeps the lr and counts its step() calls."""

        calls = 0

        def step(self, *args, **kwargs):
            self.calls += 1
            return super().step(*args, **kwargs)

    model.register_forward_pre_hook(lambda module, inputs: seen.update(
        forwards=seen["forwards"] + 1, forwards_in_eval=seen["forwards_in_eval"] + (not module.training)))
    model.eval()
    optimizer = torch.optim.SGD(params, lr=0.05)
    optimizer.register_step_pre_hook(on_step)
    scheduler = CountingLR(optimizer, lambda epoch: 1.0)
    scheduler.calls = 0  # the constructor's own first step does not count
    options = {"scheduler": scheduler, "max_grad_norm": max_grad_norm, "seed": seed}
    if loss is not None:
        options["loss"] = loss
    with StandIns(student, compute_loss=grader_compute_loss):
        losses = student_call(student, "train", model, optimizer, data, tiny["epochs"], tiny["batch_size"], **options)
    final = [p.grad for p in params if p.grad is not None]  # what a clip after the last step leaves behind
    seen["final_norm"] = norm(final) if final else None
    return {**seen, "losses": history(losses), "kinds": loss_kinds(losses), "scheduler_steps": scheduler.calls,
            "expected_steps": tiny["epochs"] * math.ceil(tiny["train_size"] / tiny["batch_size"]),
            "steps_at_128": tiny["epochs"] * math.ceil(tiny["train_size"] / 128)}


def evaluate_instrumented(student, seed, setup):
    """The student's evaluate, twice, on an MLP the grader trained a little and left in train mode (as
    train() leaves it), watched from outside: the model's mode and autograd at every forward. The
    weights it was given come back, so the judge can measure their accuracy itself."""
    import torch

    data = grader_data(student["DATA_DIR"], setup["train_size"])
    model = initial_mlp(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for idx in torch.randperm(len(data["x_train"]), generator=order).split(setup["batch_size"]):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(data["x_train"][idx]), data["y_train"][idx]).backward()
        optimizer.step()
    weights, expected = weights_of(model), grader_accuracy(model, data)
    model.train()
    seen = {"forwards": 0, "forwards_in_train": 0, "forwards_with_grad": 0}

    def on_forward(module, inputs, output):
        seen["forwards"] += 1
        seen["forwards_in_train"] += module.training
        seen["forwards_with_grad"] += torch.is_grad_enabled()

    model.register_forward_hook(on_forward)
    answers = []
    for _ in range(2):
        answer = student_call(student, "evaluate", model, data)
        answers.append(answer.item() if isinstance(answer, torch.Tensor) and answer.numel() == 1 else answer)
    # The judge measures `weights` on its own test set; `expected` is the kernel's figure, for the notes.
    return {**seen, "accuracies": answers, "weights": weights, "expected": expected}


def run_experiment_recorded(student, seed, setup, configs):
    """The student's run_experiment on the grader's configs, with DATA and BATCH_SIZE set for the call, the
    grader's make_model, and stand-ins for train and evaluate that train nothing and record what they are
    given: which model (and whether its initial weights are the first config's), which optimizer (built by
    which config's function, on which model's parameters), scheduler, data, epochs, batch size, seed, loss
    and max_grad_norm. A config is a function or a dict, as the notebook describes. What run_experiment
    reported comes back beside what the stand-ins returned."""
    import torch

    data = grader_data(student["DATA_DIR"], setup["train_size"])
    built = {"optimizers": {}, "schedulers": {}}  # id -> the config whose function built it
    models, first_weights, calls, evaluated = [], [], [], []

    def model_number(model):
        """Models by identity, in the order first seen; each kept alive, so no new one reuses an old id."""
        if not any(m is model for m in models):
            models.append(model)
        return next(i for i, m in enumerate(models) if m is model)

    def optimizer_of(name, config):
        def make(params):
            optimizer = grader_optimizer(params, config)[0]
            built["optimizers"][id(optimizer)] = name
            return optimizer
        return make

    def scheduler_of(name, config):
        def make(optimizer):
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])
            built["schedulers"][id(scheduler)] = (name, built["optimizers"].get(id(optimizer)))
            return scheduler
        return make

    def make_model():
        return grader_mlp()  # new random weights from the global generator, as a make_model gives

    def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
        weights = [p.detach().clone() for p in model.parameters()]
        if not first_weights:
            first_weights.extend(weights)
        optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
        made = built["schedulers"].get(id(scheduler)) if scheduler is not None else None

        def plain(value):
            return value if isinstance(value, (int, float, str, type(None))) else repr(value)[:40]

        calls.append({
            "model": model_number(model), "config": built["optimizers"].get(id(optimizer)),
            "same_weights": len(weights) == len(first_weights) and all(torch.equal(a, b) for a, b in zip(weights, first_weights)),
            "optimizer_on_model": optimized == {id(p) for p in model.parameters()},
            "scheduler": None if scheduler is None else made[0] if made else "a scheduler no config built",
            "scheduler_on_optimizer": made is not None and made[1] == built["optimizers"].get(id(optimizer)),
            "data_is_DATA": data is student.get("DATA"), "epochs": plain(epochs), "batch_size": plain(batch_size),
            "seed": plain(seed), "loss": plain(loss), "max_grad_norm": plain(max_grad_norm)})
        return made_up_losses(len(calls), calls[-1], len(data_used["x_train"]))

    def evaluate(model, data):
        accuracy = round(0.5 + 0.01 * (len(evaluated) + 1), 6)  # made up, different for every call
        evaluated.append((model_number(model), accuracy))
        return accuracy

    def functions(name, config):
        if isinstance(config.get("optimizer"), str):
            return optimizer_of(name, config)  # a plain config: a function params -> optimizer
        spec = {"optimizer": optimizer_of(name, config["optimizer"])}
        if "scheduler" in config:
            spec["scheduler"] = scheduler_of(name, config["scheduler"])
        spec.update({k: config[k] for k in ("loss", "max_grad_norm") if k in config})
        return spec

    data_used = data
    missing = object()
    saved = {name: student.get(name, missing) for name in ("DATA", "BATCH_SIZE")}
    student["DATA"], student["BATCH_SIZE"] = data, setup["batch_size"]
    try:
        with StandIns(student, make_model=make_model, train=train, evaluate=evaluate):
            results = student_call(student, "run_experiment", {name: functions(name, c) for name, c in configs.items()},
                                   setup["epochs"], seed)
    finally:
        for name, value in saved.items():
            if value is missing:
                student.pop(name, None)
            else:
                student[name] = value
    shape = "{name: {'losses': [...], 'accuracy': ...}} for every config"
    if not isinstance(results, dict) or set(results) != set(configs):
        raise StudentError(f"`run_experiment` should return {shape}; it returned "
                           f"{sorted(map(str, results)) if isinstance(results, dict) else type(results).__name__}.")
    reported = {}
    for name in configs:
        result = results[name]
        if not isinstance(result, dict) or "losses" not in result or "accuracy" not in result:
            raise StudentError(f"`run_experiment` should return {shape}; for {name!r} it returned {result!r:.80}.")
        reported[name] = {"losses": history(result["losses"], "run_experiment"),
                          "accuracy": as_number(result["accuracy"])}
    returned, accuracy = {}, dict(evaluated)  # per config: what the stand-ins returned for its (last) run
    for number, call in enumerate(calls, start=1):
        if call["config"] is not None:
            returned[call["config"]] = {"losses": made_up_losses(number, call, len(data["x_train"])),
                                        "accuracy": accuracy.get(call["model"])}
    return {"calls": calls, "reported": reported, "returned": returned}


def as_number(value):
    """A number the student returned, as a float (a one-element tensor too), or None."""
    import torch

    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def made_up_losses(number, call, n):
    """What the stand-in train returns for its `number`-th call: one made-up loss per step the call asked
    for (epochs x ceil(n / batch_size)), different for every call."""
    import math

    epochs, batch_size = call["epochs"], call["batch_size"]
    steps = (epochs if isinstance(epochs, int) and epochs > 0 else 1) * (
        math.ceil(n / batch_size) if isinstance(batch_size, int) and batch_size > 0 else 1)
    return [round(2.3 - 0.01 * number - 0.001 * i, 6) for i in range(steps)]


def describe_model(student):
    """The student's make_model(): its leaf layers in order, and the shape of its output for 3 images."""
    import torch

    model = student_call(student, "make_model")
    layers = []
    for module in model.modules():
        if next(module.children(), None) is not None:
            continue  # a container: its leaves are listed
        kind = type(module).__name__
        if kind == "Linear":
            layers.append([kind, module.in_features, module.out_features])
        elif kind == "Dropout":
            layers.append([kind, module.p])
        else:
            layers.append([kind])
    with torch.no_grad():
        model.eval()
        shape = list(model(torch.zeros(3, 1, 28, 28)).shape)
    return {"layers": layers, "output_shape": shape}


def describe_configs(student, groups):
    """What each config of the notebook's experiments builds, on a dummy parameter: the optimizer's
    class and hyperparameters, the scheduler's class, and the loss."""
    import torch

    described = {}
    for group in groups:
        if not isinstance(student.get(group), dict):
            raise StudentError(f"`{group}` should be a dict of config name -> config; it is "
                               f"{'not defined' if group not in student else type(student[group]).__name__}.")
        described[group] = {}
        for name, config in student[group].items():
            spec = config if isinstance(config, dict) else {"optimizer": config}
            try:
                optimizer = spec["optimizer"]([torch.nn.Parameter(torch.zeros(1))])
                hyper = optimizer.param_groups[0]
                described[group][str(name)] = {
                    "optimizer": type(optimizer).__name__, "lr": float(hyper["lr"]),
                    "momentum": float(hyper.get("momentum", 0.0)), "weight_decay": float(hyper.get("weight_decay", 0.0)),
                    "scheduler": type(spec["scheduler"](optimizer)).__name__ if spec.get("scheduler") else None,
                    "loss": spec.get("loss", "ce")}
            except Exception as error:
                raise StudentError(f"the config {name!r} in `{group}` could not be built: {type(error).__name__}: {error}"[:300]) from None
    return described


def describe_plot(student, results, panels):
    """The figure the student's plot_losses draws for made-up results, read from the figure object: per
    axes its title, labels, legend texts and labelled lines (label and y values). The figure is closed."""
    import matplotlib.pyplot as plt

    figure = student_call(student, "plot_losses", results, panels)
    if figure is None or not hasattr(figure, "get_axes"):
        raise StudentError(f"`plot_losses` should return a matplotlib Figure (for example from `plt.subplots`); "
                           f"it returned {type(figure).__name__}.")
    try:
        shared = [t.get_text() for legend in getattr(figure, "legends", []) for t in legend.get_texts()]
        axes = []
        for ax in figure.get_axes():
            legend = ax.get_legend()
            axes.append({
                "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else [],
                "lines": [[line.get_label(), [float(v) for v in line.get_ydata()]] for line in ax.get_lines()
                          if not line.get_label().startswith("_")],
            })
    finally:
        plt.close(figure)
    return {"axes": axes, "figure_legend": shared}


def decay_model():
    """The model decay_param_groups is checked on: Linear layers with and without bias, a LayerNorm held
    as an attribute, BatchNorm1d inside a Sequential, and a Conv2d with its BatchNorm2d."""
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.conv_norm = nn.BatchNorm2d(4)
            self.embed = nn.Linear(12, 16)
            self.ln = nn.LayerNorm(16)
            self.body = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8, bias=False))
            self.head = nn.Linear(8, 3)

    return Net()


def describe_decay_groups(student, weight_decay, default):
    """The weight decay each parameter of decay_model() gets from an AdamW built on the student's
    decay_param_groups(model, weight_decay) (with `default` as AdamW's own weight_decay), by the kind of
    parameter: "weight" (Linear and Conv weights), "bias" or "norm" (a LayerNorm or BatchNorm parameter)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    model = decay_model()
    kinds = {}
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            norm = isinstance(module, (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d))
            kinds[id(p)] = "norm" if norm else "bias" if name == "bias" else "weight"
    groups = student_call(student, "decay_param_groups", model, weight_decay)
    try:
        optimizer = torch.optim.AdamW(groups, lr=1e-3, weight_decay=default)
    except Exception as error:
        raise StudentError(f"AdamW refused the groups `decay_param_groups` returned: {type(error).__name__}: {error}"[:300]) from None
    found = [[kinds.get(id(p), "not the model's"), float(group["weight_decay"])]
             for group in optimizer.param_groups for p in group["params"]]
    return {"found": found, "parameters": len(kinds)}


def current_lrs_checked(student, lrs, factors, steps):
    """The student's current_lrs on an SGD with one param group per lr, after a LambdaLR that multiplies
    each group's lr by its own factor per step has stepped `steps` times: numbers come back as floats."""
    import torch

    params = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    optimizer = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [lambda step, f=f: f ** step for f in factors])
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    answer = student_call(student, "current_lrs", optimizer)
    if isinstance(answer, torch.Tensor):
        answer = answer.tolist()
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return {"kind": "number", "lrs": [float(answer)]}
    if isinstance(answer, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in answer):
        return {"kind": "list", "lrs": [float(v) for v in answer]}
    return {"kind": type(answer).__name__, "lrs": []}


HARNESS = [StudentError, student_call, StandIns, grader_compute_loss, mnist_normalised, grader_data,
           data_fingerprint, grader_mlp, initial_mlp, weights_of, grader_optimizer, grader_accuracy, loss_kinds,
           history, train_on_budget, train_instrumented, evaluate_instrumented, run_experiment_recorded, as_number, made_up_losses,
           describe_model, describe_configs, describe_plot, decay_model, describe_decay_groups, current_lrs_checked]


# --- the calls ------------------------------------------------------------------------------------

def loss_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """compute_loss's logits (LOSS_BATCH, 10) float32 and class indices (LOSS_BATCH,), from `seed`."""
    g = torch.Generator().manual_seed(seed)
    logits = LOSS_SCALE * torch.randn(LOSS_BATCH, 10, generator=g)
    return logits, torch.randint(0, 10, (LOSS_BATCH,), generator=g)


def grader_inputs(seed: int) -> dict[str, Call]:
    """The kernel's calls. Labels are shown to students: they describe the optimizer, never the budget,
    the size of a run or a config's name."""
    calls: dict[str, Call] = {}
    for name, config in budget.CONFIGS.items():
        calls[f"budget/{name}"] = Call("train_on_budget", (config, budget.BUDGET, seed), harness=True,
                                       label=budget.describe(config))
    tiny, experiment = budget.TINY, budget.EXPERIMENT
    calls["train/plain"] = Call("train_instrumented", (seed, tiny, None), harness=True,
                                label="a short run of SGD with a scheduler")
    calls["train/clipped"] = Call("train_instrumented", (seed, tiny, MAX_GRAD_NORM), harness=True,
                                  label=f"a short run of SGD with max_grad_norm={MAX_GRAD_NORM}")
    calls["train/mse"] = Call("train_instrumented", (seed, tiny, None, "mse"), harness=True,
                              label='a short run of SGD with loss="mse"')
    logits, y = loss_inputs(seed)
    calls["loss/ce"] = Call("compute_loss", (logits, y), label="logits (6, 10) float32, loss=\"ce\" (the default)")
    calls["loss/mse"] = Call("compute_loss", (logits, y), {"loss": "mse"}, label="logits (6, 10) float32, loss=\"mse\"")
    calls["evaluate/0"] = Call("evaluate_instrumented", (seed, budget.EVALUATED), harness=True,
                               label="a partly trained MLP on the full test set")
    calls["experiment/plain"] = Call("run_experiment_recorded", (seed, experiment, PLAIN_CONFIGS), harness=True,
                                     label="three configs given as functions")
    calls["experiment/dict"] = Call("run_experiment_recorded", (seed, experiment, DICT_CONFIGS), harness=True,
                                    label="three configs given as dicts")
    calls["model/0"] = Call("describe_model", harness=True, label="make_model()")
    calls["configs/0"] = Call("describe_configs", (EXPERIMENT_GROUPS,), harness=True,
                              label=", ".join(EXPERIMENT_GROUPS))
    calls["plot/0"] = Call("describe_plot", (MADE_UP_RESULTS, MADE_UP_PANELS), harness=True,
                           label="made-up results of five configs in three panels")
    calls["best/0"] = Call("best_config", (MADE_UP_RESULTS,), label="made-up results of five configs")
    calls["decay/0"] = Call("describe_decay_groups", (DECAY, OPTIMIZER_DEFAULT_DECAY), harness=True,
                            label="a model with Linear, Conv2d, LayerNorm and BatchNorm layers")
    calls["lrs/0"] = Call("current_lrs_checked", (GROUP_LRS, GROUP_FACTORS, SCHEDULER_STEPS), harness=True,
                          label="an optimizer with three param groups after a scheduler changed their lrs")
    return calls
