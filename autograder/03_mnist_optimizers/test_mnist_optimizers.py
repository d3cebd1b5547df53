"""Hidden graders for 03_mnist_optimizers. Each test is worth the points course.toml gives it.

Training happened in the student's kernel (inputs.py's harness, on the grading seed), but the scores
rest only on what the judge measures itself (measure.py): the accuracy of the weights each budget run
sent back, loaded into the lesson's MLP and run on the grader's own MNIST from `course.data_dir`; the
number of losses in the run's history against the budget's steps; and its first loss against the
grader's initial weights on the first batch. Accuracy checks compare with thresholds.toml, which
`course calibrate` wrote from the reference over 10 seeds at exactly this budget (budget.py), measured
the same way. What the kernel measured itself (loop structure, modes, gradients, what run_experiment
gave the stand-ins) is read from the harness; where the kernel's own figures disagree with the judge's,
integrity.py tells the instructor. Each check runs one student function with the grader's code standing
in for the others (inputs.py), so each mistake costs in the tests of the function that makes it.
Gradient norms are float32 sums, so the clipping bound allows 1e-4 relative.
"""
import math

from course.grading import Mismatch, close, graded, sibling
from solutions import mnist_optimizers as ref

budget = sibling(__file__, "budget")
inputs = sibling(__file__, "inputs")
measure = sibling(__file__, "measure")

THRESHOLDS = budget.thresholds()["checks"]
NORM_RTOL = 1e-4  # clip_grad_norm_ leaves norms a few float32 ulps above max_norm
ACCURACY_ATOL = 1e-6  # two calls of evaluate in one kernel: the same arithmetic, so far below one image (1e-4)
# compute_loss in float32 on 6 x 10 logits, against the reference in float64: a few float32 ulps.
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6
# MSE between probabilities and one-hot targets is at most 2 / 10 per image (all mass on a wrong class);
# cross-entropy of an untrained MLP starts near ln(10) = 2.30. A history below this ceiling is an MSE's.
MSE_CEILING = 1.0
LR_RTOL = 1e-9  # lrs are products of a few floats: equal up to rounding
LESSON_OPTIMIZERS = [("SGD", 0.01, 0.0, 0.0), ("SGD", 0.01, 0.9, 0.0), ("Adam", 1e-3, 0.0, 0.0), ("AdamW", 1e-3, 0.0, 0.01)]
SWEEP_LRS = [1e-4, 1e-3, 1e-2, 1e-1]


# --- reading the harness's answers -----------------------------------------------------------------

def run(student, key):
    """What the grader's run `key` measured, or a Mismatch saying, in the student's terms, why not."""
    case = student.case(key)
    error = case.outcome.get("error")
    if error is not None:
        if error.startswith("StudentError: "):
            raise Mismatch(f"{error.removeprefix('StudentError: ')} (grader's run: {case.label}).")
        if error.startswith("TimeoutError"):
            raise Mismatch(f"The grader's run ({case.label}) did not finish in time: the reference takes about "
                           "a second. Is there a per-sample loop or a per-step evaluation in train?")
        raise Mismatch(f"The grader's run ({case.label}) failed: {error}.")
    if "value" not in case.outcome:
        raise Mismatch(f"The grader's run ({case.label}) was not made: "
                       f"{case.outcome.get('not_run', 'the notebook stopped first')}.")
    return case.output()


def budget_run(student, course, config: str) -> float:
    """The test accuracy of the grader's budget run of `config`, as the judge measures it, once its loss
    history has passed the budget's checks: one loss per step, finite, and starting from the loss of the
    grader's initial weights on the first batch (so the model started from those weights, untrained, and
    trained for no more steps than it reported)."""
    key = f"budget/{config}"
    seen, case = run(student, key), student.case(key)
    _config, plan, seed = case.args  # the grader's own call, not anything the kernel said
    losses = seen.get("losses") if isinstance(seen, dict) else None
    if not isinstance(losses, list) or not all(isinstance(loss, float) for loss in losses):
        raise Mismatch(f"train() should return its per-step losses as a list of floats (grader's run: {case.label}).")
    steps = measure.budget_steps(plan)
    if len(losses) != steps:
        more = "more" if len(losses) > steps else "fewer"
        raise Mismatch(f"On the grader's run ({case.label}), train() returned {len(losses)} losses, {more} than the "
                       "optimizer steps it was asked for: one loss.item() per batch, for exactly the epochs it is "
                       "given, each one pass over the data.")
    counted = seen.get("optimizer_steps")
    if isinstance(counted, int) and counted > steps:  # honest code never steps more often than it has batches
        raise Mismatch(f"On the grader's run ({case.label}), train() took more optimizer steps than it returned "
                       "losses: one optimizer.step() and one loss.item() per batch, for exactly the epochs it is "
                       "given, each one pass over the data.")
    if not all(math.isfinite(loss) for loss in losses):
        raise Mismatch(f"On the grader's run ({case.label}), train() returned a loss that is nan or inf.")
    gap = measure.first_loss_gap(losses[0], measure.first_losses(
        str(course.data_dir), plan["train_size"], plan["batch_size"], seed))
    if gap < 0:
        raise Mismatch(f"On the grader's run ({case.label}), train()'s first loss was {losses[0]:.4f}, far below the "
                       "loss of the weights it was given on the first batch: the model must start training from the "
                       "weights it is given (make_model() builds them fresh, untrained), and the history must start "
                       "at the first step.")
    if gap > 0:
        raise Mismatch(f"On the grader's run ({case.label}), train()'s first loss was {losses[0]:.4f}, far above the "
                       "loss of the weights it was given on the first batch: each loss should be the batch's mean "
                       "cross-entropy on the raw logits, recorded from the first step on.")
    return measure.accuracy(course.data_dir, seen.get("weights"))


def _below(shortfall: float) -> str:
    """How far below a threshold, in words (the threshold itself is not shown)."""
    if shortfall <= 0.01:
        return "a little below"
    if shortfall <= 0.05:
        return "below"
    return "well below"


def accuracy_check(student, course, name):
    """Compare one calibrated check (budget.CHECKS[name]) with the judge's measurements of the student's runs."""
    check, threshold = budget.CHECKS[name], THRESHOLDS[name]
    configs = [check.better] + ([check.worse] if check.worse else [])
    accuracy = {config: budget_run(student, course, config) for config in configs}
    value = check.value(accuracy)
    if value >= threshold["threshold"]:
        return
    words = _below(threshold["threshold"] - value)
    if check.worse:
        better, worse = (budget.describe(budget.CONFIGS[c]) for c in configs)
        raise Mismatch(f"With your train, the grader's runs reached a test accuracy of "
                       f"{accuracy[check.better]:.4f} with {better} and {accuracy[check.worse]:.4f} with {worse}: "
                       f"the gap between them is {words} what a correct training loop shows on the grading "
                       "budget. Does train() use the optimizer it is given?")
    raise Mismatch(f"With your train, the grader's run of {budget.describe(budget.CONFIGS[check.better])} "
                   f"reached a test accuracy of {value:.4f}: {words} what a correct training loop reaches on "
                   "the grading budget.")


# --- make_model and train -------------------------------------------------------------------------

def _layers(layers) -> str:
    """[["Linear", 784, 256], ["ReLU"]] -> 'Linear(784, 256), ReLU'"""
    return ", ".join(f"{kind}({', '.join(map(str, args))})" if args else kind for kind, *args in layers)


@graded("make_model() is the lesson's MLP: Flatten, Linear 784-256, ReLU, Dropout(0.2), Linear 256-128, "
        "ReLU, Dropout(0.2), Linear 128-10, returning logits of shape (B, 10).", about="make_model")
def test_make_model_is_lesson_mlp(student):
    found = run(student, "model/0")
    expected = [["Flatten"], ["Linear", 784, 256], ["ReLU"], ["Dropout", 0.2],
                ["Linear", 256, 128], ["ReLU"], ["Dropout", 0.2], ["Linear", 128, 10]]
    if found["layers"] != expected:
        raise Mismatch(f"make_model() has the layers {_layers(found['layers'])}; the lesson's MLP is {_layers(expected)}.")
    if found["output_shape"] != [3, 10]:
        raise Mismatch(f"make_model() maps 3 images to shape {tuple(found['output_shape'])}, expected (3, 10).")


@graded('compute_loss(logits, y) is the mean cross-entropy on the raw logits, and with loss="mse" the MSE '
        "between softmax(logits) and the one-hot targets.", about="compute_loss")
def test_compute_loss_matches_ce_and_mse(student):
    logits, y = student.case("loss/ce").args  # the grader's own inputs
    for key, kind in (("loss/ce", "ce"), ("loss/mse", "mse")):
        expected = ref.compute_loss(logits.double(), y, kind).float()  # float64 reference, compared in float32
        close(student.case(key).output(), expected, rtol=LOSS_RTOL, atol=LOSS_ATOL,
              what=f'compute_loss(logits, y{", loss=" + repr(kind) if kind != "ce" else ""})')


@graded("train() returns one finite float loss per optimizer step: epochs x ceil(N / batch_size) of them.",
        about="train")
def test_train_returns_loss_per_step(student):
    seen = run(student, "train/plain")
    count, expected = len(seen["losses"]), seen["expected_steps"]
    if count != expected:
        hint = (": it made batches of the notebook's BATCH_SIZE (128), not of the batch_size it was given"
                if count == seen["steps_at_128"] else " (one loss.item() per batch, every epoch)")
        raise Mismatch(f"train() returned {count} losses for {expected} steps{hint}.")
    kinds = seen["kinds"]
    if kinds["tensor_with_graph"]:
        raise Mismatch(f"train() returned {kinds['tensor_with_graph']} loss tensors that still hold their autograd "
                       "graphs, not floats: record loss.item() (each tensor keeps its step's graph in memory).")
    if kinds["tensor"] or kinds["other"]:
        raise Mismatch("train() returned its losses as tensors or other objects, not Python floats: record loss.item().")
    if not all(math.isfinite(loss) for loss in seen["losses"]):
        raise Mismatch("train() returned a loss that is nan or inf.")


@graded("train() calls model.train(): every forward pass trains with dropout on, even when the model "
        "arrives in eval mode.", about="train")
def test_train_puts_model_in_train_mode(student):
    seen = run(student, "train/plain")
    if seen["forwards"] == 0:
        raise Mismatch("train() never ran the model it was given.")
    if seen["forwards_in_eval"]:
        raise Mismatch(f"{seen['forwards_in_eval']} of {seen['forwards']} forward passes in train() ran in eval "
                       "mode (dropout off): the model arrived in eval mode and train() did not call model.train().")


@graded("train() clears the gradients every step: at each optimizer.step(), .grad holds that step's "
        "gradient only.", about="train")
def test_train_zeroes_gradients_every_step(student):
    seen = run(student, "train/plain")
    if seen["steps"] == 0:
        raise Mismatch("train() never called step() on the optimizer it was given.")
    if seen["stale"]:
        cause = ("backward() adds into .grad, so older gradients were still in it" if seen["piled"]
                 else "it had been changed between backward() and step()")
        raise Mismatch(f"At {seen['stale']} of {seen['steps']} optimizer steps, .grad was not that step's gradient "
                       f"({cause}).")


@graded("train() clips the gradient norm to max_grad_norm between backward() and optimizer.step(), and only "
        "when max_grad_norm is given.", about="train")
def test_train_clips_before_step(student):
    seen = run(student, "train/clipped")
    if seen["steps"] == 0:
        raise Mismatch("train() never called step() on the optimizer it was given.")
    limit = inputs.MAX_GRAD_NORM * (1 + NORM_RTOL)
    over = sum(norm > limit for norm in seen["norms"])
    if over:
        raise Mismatch(f"With max_grad_norm={inputs.MAX_GRAD_NORM}, the gradient norm at optimizer.step() was above it "
                       f"at {over} of {seen['steps']} steps (largest {max(seen['norms']):.3g}).")
    plain = student.answer("train/plain") or {}
    if plain.get("clipped"):
        raise Mismatch(f"With max_grad_norm=None, train() still scaled the gradients down at {plain['clipped']} of "
                       f"{plain['steps']} steps: clip only when max_grad_norm is given.")


@graded("train() steps the scheduler once per epoch (the schedules here count epochs).", about="train")
def test_train_steps_scheduler_once_per_epoch(student):
    seen = run(student, "train/plain")
    epochs = budget.TINY["epochs"]
    if seen["scheduler_steps"] != epochs:
        raise Mismatch(f"Over {epochs} epochs ({seen['steps']} optimizer steps) train() called scheduler.step() "
                       f"{seen['scheduler_steps']} times; expected {epochs}, once at the end of each epoch.")


@graded('train() trains with the loss it is given: with loss="mse" every recorded loss is the MSE compute_loss '
        "gives, not cross-entropy.", about="train")
def test_train_uses_the_loss_it_is_given(student):
    seen = run(student, "train/mse")
    if not seen["losses"]:
        raise Mismatch('Given loss="mse", train() returned no losses.')
    if max(seen["losses"]) > MSE_CEILING:
        raise Mismatch(f'Given loss="mse", train() recorded losses up to {max(seen["losses"]):.2f}, starting at '
                       f'{seen["losses"][0]:.2f}: an MSE between probabilities and one-hot targets is never above '
                       "0.2, so it trained with another loss (cross-entropy starts near 2.3). Pass `loss` on to "
                       "compute_loss.")


# --- accuracy on the grading budget ---------------------------------------------------------------

@graded("On the grader's budget, SGD lr=0.01 momentum=0.9 trained by your train() reaches the reference's "
        "test accuracy, less a small margin.", about="train")
def test_sgd_momentum_reaches_threshold(student, course):
    accuracy_check(student, course, "sgd_momentum")


@graded("On the grader's budget, Adam lr=0.001 with ExponentialLR(gamma=0.5), trained by your train(), "
        "reaches the reference's test accuracy, less a small margin.", about="train")
def test_scheduled_adam_reaches_threshold(student, course):
    accuracy_check(student, course, "adam_exponential")


@graded("On the grader's budget, your train() shows the learning rate's effect: Adam at lr=0.1 ends clearly "
        "below Adam at lr=0.001.", about="train")
def test_adam_lr_0_1_clearly_worse_than_1e_3(student, course):
    accuracy_check(student, course, "adam_lr_gap")


# --- evaluate -------------------------------------------------------------------------------------

@graded("evaluate() returns the test accuracy as a fraction in [0, 1], the same on every call.", about="evaluate")
def test_evaluate_matches_accuracy(student, course):
    seen = run(student, "evaluate/0")
    expected = measure.accuracy(course.data_dir, seen.get("weights"))  # the judge's figure, on its own test set
    first, second = seen["accuracies"]
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in (first, second)):
        raise Mismatch(f"evaluate() returned {type(first).__name__}; expected a float such as 0.9731.")
    if 1 < first <= 100:  # whatever else is wrong, this is a percentage
        raise Mismatch(f"evaluate() returned {first:.4g}, a percentage: return a fraction in [0, 1].")
    if not math.isclose(first, second, abs_tol=ACCURACY_ATOL):
        raise Mismatch(f"Two calls of evaluate() on the same model gave {first:.4f} and {second:.4f}: "
                       "evaluation should be deterministic.")
    if not math.isclose(first, expected, abs_tol=measure.ONE_IMAGE):
        raise Mismatch(f"evaluate() returned {first:.4f}; the model's accuracy on the test set, with dropout off, "
                       f"is {expected:.4f}.")


@graded("evaluate() runs the model in eval mode (dropout off) and under torch.no_grad().", about="evaluate")
def test_evaluate_uses_eval_mode_and_no_grad(student):
    seen = run(student, "evaluate/0")
    if seen["forwards"] == 0:
        raise Mismatch("evaluate() never ran the model it was given.")
    problems = []
    if seen["forwards_in_train"]:
        problems.append(f"{seen['forwards_in_train']} of {seen['forwards']} forward passes ran in training mode "
                        "(dropout on): call model.eval() first")
    if seen["forwards_with_grad"]:
        problems.append(f"{seen['forwards_with_grad']} of {seen['forwards']} forward passes built an autograd graph: "
                        "wrap them in torch.no_grad()")
    if problems:
        raise Mismatch("; ".join(problems) + ".")


# --- the experiment -------------------------------------------------------------------------------

def _runs(student, key, configs) -> tuple[dict, list]:
    """What run_experiment gave the stand-in train (calls) for the grader's `configs`, once it trained each
    config exactly once, with the optimizer that config's function built."""
    seen = run(student, key)
    calls = seen["calls"]
    if not calls:
        raise Mismatch("run_experiment() never called train(): train each config's model with your train() "
                       "(and measure it with your evaluate()).")
    if any(call["config"] is None for call in calls):
        raise Mismatch("run_experiment() passed train() an optimizer that no config built: build each config's "
                       "optimizer with its function (its \"optimizer\" for a dict), on that config's model.")
    trained = sorted(call["config"] for call in calls)
    if trained != sorted(configs):
        raise Mismatch(f"run_experiment() called train() {len(calls)} times for {len(configs)} configs: once per config.")
    return seen, calls


@graded("run_experiment() is fair: every config gets a fresh model with the same initial weights, its own "
        "optimizer, and the same data, batch size, epochs and seed; it reports what train and evaluate returned.",
        about="run_experiment")
def test_run_experiment_is_fair(student):
    seen, calls = _runs(student, "experiment/plain", inputs.PLAIN_CONFIGS)
    setup, seed = budget.EXPERIMENT, student.case("experiment/plain").args[0]
    if len({call["model"] for call in calls}) < len(calls):
        raise Mismatch(f"run_experiment() passed the same model object to train() for several configs "
                       f"({len(calls)} configs, {len({c['model'] for c in calls})} model(s)): each config needs a "
                       "fresh model loaded with the shared initial weights.")
    if not all(call["same_weights"] for call in calls):
        raise Mismatch("The configs' models did not start from the same initial weights: make one model, keep a copy "
                       "of its state_dict(), and load it into every config's model.")
    if not all(call["optimizer_on_model"] for call in calls):
        raise Mismatch("A config's optimizer was not built on the parameters of the model train() trains with it.")
    problems = []
    if any(call["seed"] != seed for call in calls):
        problems.append("train() was not given run_experiment's own seed for every config (the same seed gives "
                        "every config the same batches and dropout masks)")
    if not all(call["data_is_DATA"] for call in calls):
        problems.append("train() was not given DATA")
    if any(call["batch_size"] != setup["batch_size"] for call in calls):
        problems.append("train() was not given BATCH_SIZE as its batch_size")
    if any(call["epochs"] != setup["epochs"] for call in calls):
        problems.append("train() was not given run_experiment's epochs")
    if problems:
        raise Mismatch("; ".join(problems) + ".")
    for name in inputs.PLAIN_CONFIGS:
        reported, returned = seen["reported"][name], seen["returned"][name]
        if reported["losses"] != returned["losses"]:
            raise Mismatch(f"For {name!r}, run_experiment() reported losses that are not the list train() returned.")
        if reported["accuracy"] is None or returned["accuracy"] is None or not math.isclose(
                reported["accuracy"], returned["accuracy"], rel_tol=1e-9):
            scaled = (reported["accuracy"] is not None and returned["accuracy"] is not None
                      and math.isclose(reported["accuracy"], 100 * returned["accuracy"], rel_tol=1e-9))
            raise Mismatch(f"For {name!r}, run_experiment() reported an accuracy that is not what evaluate() returned "
                           f"for that config's model{' (it is 100 times it: a percentage)' if scaled else ''}.")


@graded('run_experiment() honours dict configs: it passes each config\'s "scheduler" (built on that config\'s '
        'optimizer), "loss" and "max_grad_norm" to train().', about="run_experiment")
def test_run_experiment_passes_dict_configs_to_train(student):
    _seen, calls = _runs(student, "experiment/dict", inputs.DICT_CONFIGS)
    problems = []
    for name, config in inputs.DICT_CONFIGS.items():
        call = [c for c in calls if c["config"] == name][-1]
        if "scheduler" in config and not (call["scheduler"] == name and call["scheduler_on_optimizer"]):
            problems.append(f"{name!r}: the scheduler its \"scheduler\" function builds on its optimizer did not "
                            "reach train()")
        if "scheduler" not in config and call["scheduler"] is not None:
            problems.append(f"{name!r}: train() got a scheduler, but the config has none")
        if call["loss"] != config.get("loss", "ce") and not ("loss" not in config and call["loss"] is None):
            problems.append(f"{name!r}: train() trained with loss={call['loss']!r}, not the config's "
                            f"{config.get('loss', 'ce')!r}")
        expected = config.get("max_grad_norm")
        given = call["max_grad_norm"]
        if not (given == expected or (isinstance(given, (int, float)) and expected is not None
                                      and math.isclose(given, expected, rel_tol=1e-9))):
            problems.append(f"{name!r}: train() got max_grad_norm={given!r}, not the config's {expected!r}")
    if problems:
        raise Mismatch("; ".join(problems) + ".")


def _lesson_match(found, optimizer, lr, momentum=0.0, weight_decay=0.0) -> bool:
    return (found["optimizer"] == optimizer and math.isclose(found["lr"], lr, rel_tol=1e-9)
            and math.isclose(found["momentum"], momentum, abs_tol=1e-12)
            and math.isclose(found["weight_decay"], weight_decay, abs_tol=1e-12))


@graded("The experiment's configs are the lesson's: SGD 0.01, SGD 0.01 + momentum 0.9, Adam 1e-3, AdamW 1e-3 "
        "wd 0.01; Adam at 1e-4, 1e-3, 1e-2, 1e-1; Adam with a cosine schedule; Adam with MSE; no name used twice.",
        about="OPTIMIZERS")
def test_experiment_configs_match_the_lesson(student):
    groups = run(student, "configs/0")
    missing = []
    for optimizer, lr, momentum, weight_decay in LESSON_OPTIMIZERS:
        if not any(_lesson_match(f, optimizer, lr, momentum, weight_decay) for f in groups["OPTIMIZERS"].values()):
            extra = (f" momentum {momentum:g}" if momentum else "") + (f" weight decay {weight_decay:g}" if weight_decay else "")
            missing.append(f"OPTIMIZERS has no {optimizer} at lr {lr:g}{extra}")
    for lr in SWEEP_LRS:
        if not any(_lesson_match(f, "Adam", lr) for f in groups["LEARNING_RATES"].values()):
            missing.append(f"LEARNING_RATES has no Adam at lr {lr:g}")
    if not any(f["scheduler"] == "CosineAnnealingLR" for f in groups["SCHEDULES"].values()):
        missing.append("SCHEDULES has no CosineAnnealingLR")
    if not any(f["loss"] == "mse" for f in groups["LOSSES"].values()):
        missing.append('LOSSES has no config with "loss": "mse"')
    names = [name for group in groups.values() for name in group]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        missing.append(f"the name(s) {', '.join(map(repr, repeated))} stand in more than one dict, so one config "
                       "would hide the other when they run together")
    if missing:
        raise Mismatch("; ".join(missing) + ".")


# --- weight decay groups and the current learning rates --------------------------------------------

@graded("decay_param_groups(model, weight_decay) gives every Linear and Conv weight that weight decay and every "
        "bias and LayerNorm/BatchNorm parameter none, each group with its own weight_decay.",
        about="decay_param_groups")
def test_decay_param_groups_exclude_biases_and_norms(student):
    seen = run(student, "decay/0")
    found = seen["found"]
    if any(kind == "not the model's" for kind, _ in found):
        raise Mismatch("decay_param_groups() returned parameters that are not the model's.")
    if len(found) != seen["parameters"]:
        raise Mismatch(f"{seen['parameters'] - len(found)} of the model's {seen['parameters']} parameters are in no "
                       "group: every parameter belongs in exactly one group.")
    if any(math.isclose(decay, inputs.OPTIMIZER_DEFAULT_DECAY, rel_tol=1e-9) for _, decay in found):
        raise Mismatch('A group returned by decay_param_groups() has no "weight_decay" of its own, so the '
                       "optimizer's default applied to it: give each group its own weight_decay.")
    problems = []
    for kind, what in (("bias", "biases"), ("norm", "LayerNorm/BatchNorm parameters")):
        decayed = sum(k == kind and decay != 0 for k, decay in found)
        if decayed:
            problems.append(f"{decayed} of the {sum(k == kind for k, _ in found)} {what} got weight decay")
    weights = [decay for kind, decay in found if kind == "weight"]
    wrong = sum(not math.isclose(decay, inputs.DECAY, rel_tol=1e-9) for decay in weights)
    if wrong:
        problems.append(f"{wrong} of the {len(weights)} Linear/Conv weights did not get the weight_decay given")
    if problems:
        raise Mismatch("; ".join(problems) + ": only the Linear and Conv weights decay.")


@graded("current_lrs(optimizer) returns the current lr of every param group, in group order.", about="current_lrs")
def test_current_lrs_lists_every_group(student):
    seen = run(student, "lrs/0")
    if seen["kind"] not in ("list", "number"):
        raise Mismatch(f"current_lrs() returned a {seen['kind']}; expected a list of floats, one per param group.")
    lrs = seen["lrs"]
    current = [lr * factor ** inputs.SCHEDULER_STEPS for lr, factor in zip(inputs.GROUP_LRS, inputs.GROUP_FACTORS)]

    def same(a, b):
        return len(a) == len(b) and all(math.isclose(x, y, rel_tol=LR_RTOL) for x, y in zip(a, b))

    if same(lrs, current):
        return
    groups = len(current)
    if same(lrs, current[:1]):
        raise Mismatch(f"current_lrs() returned only the first param group's lr, for an optimizer with {groups} "
                       "groups: return every group's, in order.")
    if same(lrs, list(inputs.GROUP_LRS)) or same(lrs, list(inputs.GROUP_LRS[:1])):
        raise Mismatch("current_lrs() returned the lrs the groups started with, not the ones they have now "
                       "(a scheduler had changed them): read each group's \"lr\".")
    raise Mismatch(f"current_lrs() returned {len(lrs)} value(s) for an optimizer with {groups} param groups, and they "
                   "are not the groups' current lrs.")


# --- the figure and the best config -----------------------------------------------------------------

@graded("plot_losses(results, panels) draws one panel per entry of panels, titled with it, with each named "
        "config's losses as a line labelled with its name, axis labels and a legend.", about="plot_losses")
def test_plot_losses_draws_every_config(student):
    figure = run(student, "plot/0")
    results, panels = inputs.MADE_UP_RESULTS, inputs.MADE_UP_PANELS
    if not any(ax["lines"] for ax in figure["axes"]):
        raise Mismatch("plot_losses() drew no labelled lines: plot each config's losses with label=name.")
    for number, (title, names) in enumerate(panels.items(), start=1):
        ax = next((a for a in figure["axes"] if a["title"] == title), None)
        if ax is None:
            raise Mismatch(f"plot_losses() drew no panel titled with the key of panel {number} of {len(panels)}: one "
                           "panel per entry of `panels`, titled with its key.")
        lines = dict(ax["lines"])
        unplotted = [name for name in names if name not in lines]
        if unplotted:
            raise Mismatch(f"Panel {number} has no line labelled with {len(unplotted)} of the {len(names)} config names "
                           "it was given (label each line with its config's name).")
        for name in names:
            losses, drawn = results[name]["losses"], lines[name]
            if len(drawn) != len(losses) or not all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(drawn, losses)):
                raise Mismatch(f"In panel {number}, a line does not show its config's losses, one point per step.")
        if not ax["xlabel"] or not ax["ylabel"]:
            raise Mismatch(f"Panel {number} has no {'x' if not ax['xlabel'] else 'y'} axis label.")
        if not ax["legend"] and not figure["figure_legend"]:
            raise Mismatch(f"Panel {number} has no legend.")


@graded("best_config(results) returns the name of the config with the highest test accuracy in results.",
        about="best_config")
def test_best_config_has_the_highest_accuracy(student):
    best = student.case("best/0").output()
    results = inputs.MADE_UP_RESULTS
    if best == max(results, key=lambda name: results[name]["accuracy"]):
        return
    if best == min(results, key=lambda name: results[name]["losses"][-1]):
        raise Mismatch("best_config() returned the config with the lowest final loss, not the highest test accuracy: "
                       "losses of different loss functions (MSE, cross-entropy) cannot be compared.")
    if isinstance(best, str) and best in results:
        raise Mismatch("best_config() returned a config that does not have the highest test accuracy in the results "
                       "it was given.")
    raise Mismatch(f"best_config() returned {best!r:.40}, not one of the names in the results it was given.")
