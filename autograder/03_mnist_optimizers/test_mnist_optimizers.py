"""Hidden graders for 03_mnist_optimizers. Each test is worth the points course.toml gives it.

Training happened in the student's kernel (inputs.py's harness, on the grading seed), but the scores
rest only on what the judge measures itself (measure.py): the accuracy of the weights each budget run
sent back, loaded into the lesson's MLP and run on the grader's own MNIST from `course.data_dir`; the
number of losses in the run's history against the budget's steps; and its first loss against the
grader's initial weights on the first batch. Accuracy checks compare with thresholds.toml, which
`course calibrate` wrote from the reference over 10 seeds at exactly this budget (budget.py), measured
the same way. What the kernel measured itself (loop structure, modes, gradients) is read from the
harness; where the kernel's own figures disagree with the judge's, integrity.py tells the instructor.
Gradient norms are float32 sums, so the clipping bound allows 1e-4 relative.
"""
import math

from course.grading import Mismatch, graded, sibling

budget = sibling(__file__, "budget")
inputs = sibling(__file__, "inputs")
measure = sibling(__file__, "measure")

THRESHOLDS = budget.thresholds()["checks"]
NORM_RTOL = 1e-4  # clip_grad_norm_ leaves norms a few float32 ulps above max_norm
ACCURACY_ATOL = 1e-6  # two calls of evaluate in one kernel: the same arithmetic, so far below one image (1e-4)
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
        raise Mismatch(f"With your make_model and train, the grader's runs reached a test accuracy of "
                       f"{accuracy[check.better]:.4f} with {better} and {accuracy[check.worse]:.4f} with {worse}: "
                       f"the gap between them is {words} what a correct training loop shows on the grading "
                       "budget. Does train() use the optimizer it is given?")
    raise Mismatch(f"With your make_model and train, the grader's run of {budget.describe(budget.CONFIGS[check.better])} "
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


@graded("train() returns one finite float loss per optimizer step: epochs x ceil(N / batch_size) of them.",
        about="train")
def test_train_returns_loss_per_step(student):
    seen = run(student, "train/plain")
    if len(seen["losses"]) != seen["expected_steps"]:
        raise Mismatch(f"train() returned {len(seen['losses'])} losses for {seen['expected_steps']} steps "
                       "(one loss.item() per batch, every epoch).")
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
        raise Mismatch("train() never called optimizer.step().")
    if seen["stale"]:
        raise Mismatch(f"At {seen['stale']} of {seen['steps']} optimizer steps, .grad was not that step's gradient "
                       "(backward() adds into .grad, so older gradients were still in it).")


@graded("train() clips the gradient norm to max_grad_norm between backward() and optimizer.step().", about="train")
def test_train_clips_before_step(student):
    seen = run(student, "train/clipped")
    if seen["steps"] == 0:
        raise Mismatch("train() never called optimizer.step().")
    limit = inputs.MAX_GRAD_NORM * (1 + NORM_RTOL)
    over = sum(norm > limit for norm in seen["norms"])
    if over:
        raise Mismatch(f"With max_grad_norm={inputs.MAX_GRAD_NORM}, the gradient norm at optimizer.step() was above it "
                       f"at {over} of {seen['steps']} steps (largest {max(seen['norms']):.3g}).")


@graded("train() steps the scheduler once per epoch (the schedules here count epochs).", about="train")
def test_train_steps_scheduler_once_per_epoch(student):
    seen = run(student, "train/plain")
    epochs = budget.TINY["epochs"]
    if seen["scheduler_steps"] != epochs:
        raise Mismatch(f"Over {epochs} epochs ({seen['steps']} optimizer steps) train() called scheduler.step() "
                       f"{seen['scheduler_steps']} times; expected {epochs}, once at the end of each epoch.")


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
    if math.isclose(first, 100 * expected, abs_tol=100 * measure.ONE_IMAGE):
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

@graded("run_experiment() is fair: every config starts from the same initial weights and batches (the same "
        "first loss), trains its own fresh model with the same number of steps, and is reported.",
        about="run_experiment")
def test_run_experiment_is_fair(student):
    seen = run(student, "experiment/fair")
    results = seen["results"]
    first = {name: r["first_loss"] for name, r in results.items()}
    if None in first.values():
        raise Mismatch("run_experiment() returned an empty loss history for a config.")
    steps = {r["steps"] for r in results.values()}
    if len(steps) > 1:
        raise Mismatch(f"The configs trained for different numbers of steps: {sorted(steps)}.")
    if seen["train_calls"] and seen["distinct_models"] < seen["train_calls"]:
        raise Mismatch(f"run_experiment() passed the same model object to train() for several configs "
                       f"({seen['train_calls']} configs, {seen['distinct_models']} model(s)): each config needs a "
                       "fresh model loaded with the shared initial weights.")
    baseline = next(iter(first.values()))
    if any(not math.isclose(loss, baseline, rel_tol=1e-6, abs_tol=1e-6) for loss in first.values()):
        shown = ", ".join(f"{name}: {loss:.4f}" for name, loss in first.items())
        raise Mismatch(f"The configs' first losses differ ({shown}): they did not start from the same weights, "
                       "the same first batch and the same dropout masks.")
    if len({round(r["last_loss"], 6) for r in results.values()}) == 1:
        raise Mismatch("Every config ended with exactly the same loss: does each config build its own optimizer?")
    if not all(0.0 <= r["accuracy"] <= 1.0 for r in results.values()):
        raise Mismatch("run_experiment() reported an accuracy outside [0, 1].")


def _lesson_match(found, optimizer, lr, momentum=0.0, weight_decay=0.0) -> bool:
    return (found["optimizer"] == optimizer and math.isclose(found["lr"], lr, rel_tol=1e-9)
            and math.isclose(found["momentum"], momentum, abs_tol=1e-12)
            and math.isclose(found["weight_decay"], weight_decay, abs_tol=1e-12))


@graded("The experiment's configs are the lesson's: SGD 0.01, SGD 0.01 + momentum 0.9, Adam 1e-3, AdamW 1e-3 "
        "wd 0.01; Adam at 1e-4, 1e-3, 1e-2, 1e-1; Adam with a cosine schedule; Adam with MSE.", about="OPTIMIZERS")
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
    if missing:
        raise Mismatch("; ".join(missing) + ".")


@graded("fig has one labelled line per config of RESULTS, axis labels on every panel with lines, and a legend.",
        about="fig")
def test_figure_shows_every_config(student):
    configs = run(student, "results/0")
    figure = run(student, "figure/0")
    panels = [ax for ax in figure["axes"] if ax["lines"]]
    if not panels:
        raise Mismatch("fig has no labelled lines: plot each config's losses with label=name.")
    labels = {label for ax in panels for label, _ in ax["lines"]}
    unplotted = [name for name in configs if name not in labels]
    if unplotted:
        raise Mismatch(f"fig has no line labelled {', '.join(map(repr, unplotted))} (label each line with its config's name).")
    for number, ax in enumerate(panels, start=1):
        if not ax["xlabel"] or not ax["ylabel"]:
            raise Mismatch(f"Panel {number} of fig has no {'x' if not ax['xlabel'] else 'y'} axis label.")
        if not ax["legend"] and not figure["figure_legend"]:
            raise Mismatch(f"Panel {number} of fig has no legend.")


@graded("BEST_CONFIG names one of the configs in RESULTS.", about="BEST_CONFIG")
def test_best_config_names_a_run_config(student):
    best = student.case("best/0").output()
    configs = run(student, "results/0")
    if best not in configs:
        raise Mismatch(f"BEST_CONFIG is {best!r:.60}; it should be one of the names in RESULTS.")
