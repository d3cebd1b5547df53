"""The hidden calls for 03_mnist_optimizers, and the harness functions that run the student's code on
real MNIST inside the student's kernel.

The harness is the only place training happens at grading time: it loads the training data from the
notebook's DATA_DIR (which the engine sets, and the student could change), builds the student's
make_model, loads the grader's own initial weights into it, and trains it with the student's train
on the grader's configs under budget.BUDGET. Nothing it measures there is trusted for a score: each
budget run sends back the trained weights and the loss history, and the judge measures the accuracy
on its own MNIST and checks the history against the budget (measure.py). What the kernel measured
itself (its accuracy, its optimizer-step count, a fingerprint of its data) comes back too, for
`course calibrate` (which runs the trusted reference) and for the instructor's notes (integrity.py).
Smaller instrumented runs check the loop's structure (train mode, zero_grad, clipping, scheduler
steps), evaluate and run_experiment. Every seed is the grading seed. Harness functions run as
fn(student_namespace, *args): each imports what it needs in its body, and returns only numbers,
strings, tensors and containers of them.
"""
from course.grading import Call, sibling

budget = sibling(__file__, "budget")

MAX_GRAD_NORM = 0.05  # far below this MLP's gradient norms, so every step must be clipped
# Adam first: a model not reset after it starts the next config visibly lower than 2.3. Named by what they
# are, since feedback quotes the names: never the grader's own config names.
FAIR_CONFIGS = {budget.describe(budget.CONFIGS[name]): budget.CONFIGS[name] for name in ("adam", "sgd_momentum", "adam_lr_0.1")}
EXPERIMENT_GROUPS = ("OPTIMIZERS", "LEARNING_RATES", "SCHEDULES", "LOSSES")


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
    """The lesson's MLP, built by the grader: structure checks do not depend on the student's make_model."""
    import torch.nn as nn

    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def load_initial_weights(model, seed):
    """Overwrite the parameters of the student's model with the grader's initial weights: the lesson's
    MLP built under torch.manual_seed(seed), copied in parameter order. Whatever make_model built
    (weights trained at import time included) is replaced; the judge builds the same weights itself."""
    import torch

    torch.manual_seed(seed)
    initial = list(grader_mlp().parameters())
    params = list(model.parameters())
    if [tuple(p.shape) for p in params] != [tuple(q.shape) for q in initial]:
        raise StudentError("make_model() does not build the lesson's MLP (its parameters differ in number or "
                           "shape): the grader trains your train() from its own initial weights for that MLP.")
    with torch.no_grad():
        for p, q in zip(params, initial):
            p.copy_(q)


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


def history(losses, name="train"):
    """The student's loss history as a list of floats, or a StudentError saying what it was."""
    try:
        return [float(loss) for loss in losses]
    except Exception:
        raise StudentError(f"`{name}` should return its per-step losses as a list of floats, "
                           f"got {type(losses).__name__}.") from None


def train_on_budget(student, config, budget, seed):
    """The student's make_model, loaded with the grader's initial weights, trained by the student's train
    on one grader config under the grading budget. What counts comes back as data for the judge: the
    trained weights and the loss history. The kernel's own accuracy, its count of optimizer steps and
    its data's fingerprint come back for `course calibrate` and the instructor's notes only."""
    import torch

    data = grader_data(student["DATA_DIR"], budget["train_size"])
    fingerprint = data_fingerprint(data)
    torch.manual_seed(seed)
    model = student_call(student, "make_model")
    if not isinstance(model, torch.nn.Module):
        raise StudentError(f"`make_model` should return an nn.Module; it returned {type(model).__name__}.")
    load_initial_weights(model, seed)
    optimizer, scheduler = grader_optimizer(model.parameters(), config)
    steps = [0]
    optimizer.register_step_pre_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
    losses = student_call(student, "train", model, optimizer, data, budget["epochs"], budget["batch_size"],
                          scheduler=scheduler, seed=seed)
    return {"weights": weights_of(model), "losses": history(losses),
            "accuracy": grader_accuracy(model, data), "optimizer_steps": steps[0], "data": fingerprint}


def train_instrumented(student, seed, tiny, max_grad_norm):
    """A short run of the student's train on the grader's MLP, watched from outside: the mode of the
    model at every forward, the gradients and their norm at every optimizer step, and how often a
    counting scheduler is stepped. The model starts in eval mode, as evaluate() leaves it."""
    import math

    import torch

    data = grader_data(student["DATA_DIR"], tiny["train_size"])
    torch.manual_seed(seed)
    model = grader_mlp()
    params = list(model.parameters())
    fresh, piled = {}, {}  # per parameter: this backward's gradient, and every backward's gradients summed

    def on_grad(i):
        def hook(grad):
            fresh[i] = grad.detach().clone()
            piled[i] = piled[i] + fresh[i] if i in piled else fresh[i].clone()
        return hook

    for i, p in enumerate(params):
        p.register_hook(on_grad(i))  # runs before the gradient is added into p.grad
    seen = {"forwards": 0, "forwards_in_eval": 0, "steps": 0, "stale": 0, "piled": 0, "norms": []}

    def on_forward(module, inputs):
        seen["forwards"] += 1
        seen["forwards_in_eval"] += not module.training

    def on_step(optimizer, args, kwargs):
        seen["steps"] += 1
        grads = [p.grad for p in params]
        seen["norms"].append(math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None)))
        if max_grad_norm is None and len(fresh) == len(params):
            # With zero_grad each step, .grad holds exactly this step's gradient.
            if any(g is None or not torch.allclose(g, fresh[i], rtol=1e-5, atol=1e-7) for i, g in enumerate(grads)):
                seen["stale"] += 1
                seen["piled"] += seen["steps"] > 1 and all(
                    g is not None and torch.allclose(g, piled[i], rtol=1e-4, atol=1e-6) for i, g in enumerate(grads))

    class CountingLR(torch.optim.lr_scheduler.LambdaLR):
        """A scheduler that keeps the lr and counts its step() calls."""

        calls = 0

        def step(self, *args, **kwargs):
            self.calls += 1
            return super().step(*args, **kwargs)

    model.register_forward_pre_hook(on_forward)
    model.eval()
    optimizer = torch.optim.SGD(params, lr=0.05)
    optimizer.register_step_pre_hook(on_step)
    scheduler = CountingLR(optimizer, lambda epoch: 1.0)
    scheduler.calls = 0  # the constructor's own first step does not count
    losses = student_call(student, "train", model, optimizer, data, tiny["epochs"], tiny["batch_size"],
                          scheduler=scheduler, max_grad_norm=max_grad_norm, seed=seed)
    final = [p.grad for p in params if p.grad is not None]  # what a clip after the last step leaves behind
    seen["final_norm"] = math.sqrt(sum(float((g.double() ** 2).sum()) for g in final)) if final else None
    return {**seen, "losses": history(losses), "scheduler_steps": scheduler.calls,
            "expected_steps": tiny["epochs"] * math.ceil(tiny["train_size"] / tiny["batch_size"])}


def evaluate_instrumented(student, seed, setup):
    """The student's evaluate, twice, on an MLP the grader trained a little and left in train mode (as
    train() leaves it), watched from outside: the model's mode and autograd at every forward. The
    weights it was given come back, so the judge can measure their accuracy itself."""
    import torch

    data = grader_data(student["DATA_DIR"], setup["train_size"])
    torch.manual_seed(seed)
    model = grader_mlp()
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


def run_experiment_instrumented(student, seed, setup, configs):
    """The student's run_experiment on the grader's configs, with DATA and BATCH_SIZE set to a small
    run for the call (and put back after), and each call of the student's train recorded: which
    model object it got and the sum of its initial weights."""
    data = grader_data(student["DATA_DIR"], setup["train_size"])
    missing = object()
    saved = {name: student.get(name, missing) for name in ("DATA", "BATCH_SIZE", "train")}
    models, sums = [], []

    def spy(model, *args, **kwargs):
        models.append(model)  # kept alive, so a new model cannot reuse an old one's id
        sums.append(sum(float(p.detach().double().sum()) for p in model.parameters()))
        return saved["train"](model, *args, **kwargs)

    def make(config):
        return lambda params: grader_optimizer(params, config)[0]

    student["DATA"], student["BATCH_SIZE"] = data, setup["batch_size"]
    if saved["train"] is not missing:
        student["train"] = spy
    try:
        results = student_call(student, "run_experiment", {name: make(c) for name, c in configs.items()},
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
                           f"{sorted(results) if isinstance(results, dict) else type(results).__name__}.")
    summary = {}
    for name in configs:
        result = results[name]
        if not isinstance(result, dict) or "losses" not in result or "accuracy" not in result:
            raise StudentError(f"`run_experiment` should return {shape}; for {name!r} it returned {result!r:.80}.")
        losses = history(result["losses"], "run_experiment")
        summary[name] = {"first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
                         "steps": len(losses),
                         "accuracy": float(result["accuracy"])}
    return {"results": summary, "train_calls": len(models), "distinct_models": len({id(m) for m in models}),
            "initial_weight_sums": sums}


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


def describe_figure(student):
    """The content of the notebook's `fig`, read from the figure object: per axes its labels, its
    legend's texts and its labelled lines."""
    figure = student.get("fig")
    if figure is None or not hasattr(figure, "get_axes"):
        raise StudentError("`fig` should be a matplotlib Figure (for example `fig, ax = plt.subplots()`); "
                           + ("it is not defined." if figure is None else f"it is a {type(figure).__name__}."))
    shared = [t.get_text() for legend in getattr(figure, "legends", []) for t in legend.get_texts()]
    axes = []
    for ax in figure.get_axes():
        legend = ax.get_legend()
        axes.append({
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else [],
            "lines": [[line.get_label(), len(line.get_xdata())] for line in ax.get_lines()
                      if not line.get_label().startswith("_")],
        })
    return {"axes": axes, "figure_legend": shared}


def describe_results(student):
    """The config names of the notebook's RESULTS, in order."""
    results = student.get("RESULTS")
    if not isinstance(results, dict):
        raise StudentError("`RESULTS` should be the dict run_experiment returned; it is "
                           + ("not defined." if results is None else f"a {type(results).__name__}."))
    return [str(name) for name in results]


HARNESS = [StudentError, student_call, mnist_normalised, grader_data, data_fingerprint, grader_mlp,
           load_initial_weights, weights_of, grader_optimizer, grader_accuracy, history, train_on_budget,
           train_instrumented, evaluate_instrumented, run_experiment_instrumented,
           describe_model, describe_configs, describe_figure, describe_results]


# --- the calls ------------------------------------------------------------------------------------

def grader_inputs(seed: int) -> dict[str, Call]:
    """The kernel's calls. Labels are shown to students: they describe the optimizer, never the budget,
    the size of a run or a config's name."""
    calls: dict[str, Call] = {}
    for name, config in budget.CONFIGS.items():
        calls[f"budget/{name}"] = Call("train_on_budget", (config, budget.BUDGET, seed), harness=True,
                                       label=budget.describe(config))
    tiny, fair = budget.TINY, budget.FAIR
    calls["train/plain"] = Call("train_instrumented", (seed, tiny, None), harness=True,
                                label="a short run of SGD with a scheduler")
    calls["train/clipped"] = Call("train_instrumented", (seed, tiny, MAX_GRAD_NORM), harness=True,
                                  label=f"a short run of SGD with max_grad_norm={MAX_GRAD_NORM}")
    calls["evaluate/0"] = Call("evaluate_instrumented", (seed, budget.EVALUATED), harness=True,
                               label="a partly trained MLP on the full test set")
    calls["experiment/fair"] = Call("run_experiment_instrumented", (seed, fair, FAIR_CONFIGS), harness=True,
                                    label="a short run of three optimizer configs")
    calls["model/0"] = Call("describe_model", harness=True, label="make_model()")
    calls["configs/0"] = Call("describe_configs", (EXPERIMENT_GROUPS,), harness=True,
                              label=", ".join(EXPERIMENT_GROUPS))
    calls["figure/0"] = Call("describe_figure", harness=True, label="fig")
    calls["results/0"] = Call("describe_results", harness=True, label="RESULTS")
    calls["best/0"] = Call("BEST_CONFIG", get=True, label="BEST_CONFIG")
    return calls
