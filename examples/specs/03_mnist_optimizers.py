"""Example submissions for 03_mnist_optimizers: a perfect one, the untouched release, one per named
mistake, and mistakes no short names, each charged to the function that makes it: a train() that ignores
the optimizer, the batch size or the loss it is given, or returns loss tensors; an evaluate() that returns
a percentage; a run_experiment() that drops a dict config's options; a best_config() that picks the
lowest loss."""
from build import Example

ALL = frozenset({
    "test_make_model_is_lesson_mlp", "test_compute_loss_matches_ce_and_mse", "test_train_returns_loss_per_step",
    "test_train_puts_model_in_train_mode", "test_train_zeroes_gradients_every_step", "test_train_clips_before_step",
    "test_train_steps_scheduler_once_per_epoch", "test_train_uses_the_loss_it_is_given",
    "test_sgd_momentum_reaches_threshold", "test_scheduled_adam_reaches_threshold",
    "test_adam_lr_0_1_clearly_worse_than_1e_3", "test_evaluate_matches_accuracy",
    "test_evaluate_uses_eval_mode_and_no_grad", "test_run_experiment_is_fair",
    "test_run_experiment_passes_dict_configs_to_train", "test_experiment_configs_match_the_lesson",
    "test_decay_param_groups_exclude_biases_and_norms", "test_current_lrs_lists_every_group",
    "test_plot_losses_draws_every_config", "test_best_config_has_the_highest_accuracy",
})
THRESHOLDS = frozenset({"test_sgd_momentum_reaches_threshold", "test_scheduled_adam_reaches_threshold"})

# train() as the reference writes it, with one line changed per example (marked).
TRAIN = '''
def compute_loss(logits, y, loss="ce"):
    if loss == "ce":
        return {ce}
    target = F.one_hot(y, num_classes=logits.shape[1]).float()
    return F.mse_loss({mse_input}, target)


def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    x, y = data["x_train"], data["y_train"]
    {train_mode}
    history = []
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=order).split({batch_size}):
            {zero_grad}
            step_loss = compute_loss({logits}, y[idx], {loss})
            step_loss.backward()
            {clip_before}
            optimizer.step()
            {clip_after}
            {batch_scheduler}
            history.append({recorded})
        {epoch_scheduler}
    return history
'''
RIGHT = {
    "ce": "F.cross_entropy(logits, y)",
    "mse_input": "logits.softmax(dim=1)",
    "batch_size": "batch_size",
    "logits": "model(x[idx])",
    "loss": "loss",
    "recorded": "step_loss.item()",
    "train_mode": "model.train()",
    "zero_grad": "optimizer.zero_grad()",
    "clip_before": "if max_grad_norm is not None:\n                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)",
    "clip_after": "",
    "batch_scheduler": "",
    "epoch_scheduler": "if scheduler is not None:\n            scheduler.step()",
}


def train_with(**changes) -> str:
    return TRAIN.format(**{**RIGHT, **changes})


EVALUATE = '''
def evaluate(model, data):
    {mode}
    x, y = data["x_test"], data["y_test"]
    correct = 0
    {context}
        for start in range(0, len(x), 2000):
            predicted = model(x[start:start + 2000]).argmax(dim=1)
            correct += (predicted == y[start:start + 2000]).sum().item()
    return {result}
'''


def evaluate_with(mode="model.eval()", context="with torch.no_grad():", result="correct / len(x)") -> str:
    return EVALUATE.format(mode=mode, context=context, result=result)


# run_experiment as the reference writes it, with the line that trains each config changeable.
RUN_EXPERIMENT = '''
def run_experiment(configs, epochs, seed):
    torch.manual_seed(seed)
    initial = copy.deepcopy(make_model().state_dict())
    results = {{}}
    for name, config in configs.items():
        if callable(config):
            config = {{"optimizer": config}}
        model = make_model()
        model.load_state_dict(initial)
        optimizer = config["optimizer"](model.parameters())
        scheduler = config["scheduler"](optimizer) if config.get("scheduler") else None
        losses = {train_call}
        results[name] = {{"losses": losses, "accuracy": evaluate(model, DATA)}}
    return results
'''

EXAMPLES = {
    "perfect": Example(note="every answer right"),
    "untouched": Example(fails=ALL, note="the release notebook as downloaded"),
    # compute_loss is graded on its own, and the budget runs train with the grader's compute_loss: the mistake
    # costs compute_loss's point, not train's accuracy tests (before compute_loss was graded it cost those).
    "softmax-before-cross-entropy": Example(
        cells={"train": train_with(ce="F.cross_entropy(logits.softmax(dim=1), y)  # \"probabilities are clearer\"")},
        fails=frozenset({"test_compute_loss_matches_ce_and_mse"}), mistake="softmax before CrossEntropyLoss"),
    "softmax-in-train": Example(
        cells={"train": train_with(logits="model(x[idx]).softmax(dim=1)")},
        fails=THRESHOLDS, mistake="softmax before CrossEntropyLoss",
        note="train() softmaxes before calling compute_loss: learns, but slowly (the softmax squashes the gradients)"),
    "softmax-in-model": Example(
        cells={"make_model": '''
            def make_model():
                return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                                     nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10),
                                     nn.Softmax(dim=1))  # "the model should output probabilities"
        '''},
        fails=frozenset({"test_make_model_is_lesson_mlp"}), mistake="softmax baked into the model",
        note="named with Short 31, as the notebook cites it; train's runs use the grader's MLP, so it costs make_model only"),
    "mse-on-logits": Example(
        cells={"train": train_with(mse_input="logits")},
        fails=frozenset({"test_compute_loss_matches_ce_and_mse"}), mistake="MSE on raw logits"),
    "no-zero-grad": Example(
        cells={"train": train_with(zero_grad="pass  # forgot optimizer.zero_grad()")},
        fails=THRESHOLDS | {"test_train_zeroes_gradients_every_step"}, mistake="no zero_grad"),
    "no-model-train": Example(
        cells={"train": train_with(train_mode="pass  # forgot model.train()")},
        fails=frozenset({"test_train_puts_model_in_train_mode"}), mistake="model left in eval mode while training"),
    "clip-after-step": Example(
        cells={"train": train_with(clip_before="pass", clip_after=RIGHT["clip_before"])},
        fails=frozenset({"test_train_clips_before_step"}), mistake="gradients clipped after the step"),
    "scheduler-per-batch": Example(
        cells={"train": train_with(batch_scheduler=RIGHT["epoch_scheduler"].replace("\n        ", "\n            "),
                                   epoch_scheduler="pass")},
        fails=frozenset({"test_train_steps_scheduler_once_per_epoch", "test_scheduled_adam_reaches_threshold"}),
        mistake="scheduler stepped per batch"),
    # run_experiment is graded with stand-ins for train and evaluate, so this train() no longer costs
    # run_experiment's fairness points (it did before: a mistake charged where it is not made).
    "train-ignores-optimizer": Example(
        cells={"train": train_with(train_mode="model.train()\n    optimizer = optim.Adam(model.parameters(), lr=1e-3)  # \"Adam is best anyway\"")},
        fails=frozenset({"test_adam_lr_0_1_clearly_worse_than_1e_3", "test_train_zeroes_gradients_every_step",
                         "test_train_clips_before_step"}),
        note="every config trains as Adam 1e-3: no named mistake, but the optimizer passed in has no effect"),
    "clips-unasked": Example(
        cells={"train": train_with(clip_before="nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm or 1.0)  # the lesson's template clips at 1.0")},
        fails=frozenset({"test_train_clips_before_step"}), mistake="gradients clipped when no clipping was asked for",
        note="told apart from stale gradients: zero_grad is called, and the zero_grad test passes"),
    "train-ignores-batch-size": Example(
        cells={"train": train_with(batch_size="BATCH_SIZE")},
        fails=frozenset({"test_train_returns_loss_per_step"}),
        note="batches of the notebook's BATCH_SIZE: the graders' runs use other batch sizes"),
    "train-ignores-loss": Example(
        cells={"train": train_with(loss='"ce"')},
        fails=frozenset({"test_train_uses_the_loss_it_is_given"}), note="every run trains on cross-entropy"),
    "loss-tensors-with-graph": Example(
        cells={"train": train_with(recorded="step_loss")},
        fails=frozenset({"test_train_returns_loss_per_step"}),
        note="charged to train, once: plot_losses is graded on made-up results, so the figure code is not charged"),
    "evaluate-in-train-mode": Example(
        cells={"evaluate": evaluate_with(mode="pass  # forgot model.eval()")},
        fails=frozenset({"test_evaluate_matches_accuracy", "test_evaluate_uses_eval_mode_and_no_grad"}),
        mistake="evaluation left in train mode"),
    "evaluate-with-grad": Example(
        cells={"evaluate": evaluate_with(context="if True:  # no torch.no_grad()")},
        fails=frozenset({"test_evaluate_uses_eval_mode_and_no_grad"}), mistake="evaluation with gradients on"),
    "model-not-reset": Example(
        cells={"run_experiment": '''
            def run_experiment(configs, epochs, seed):
                torch.manual_seed(seed)
                model = make_model()  # one model for every config
                results = {}
                for name, config in configs.items():
                    config = config if isinstance(config, dict) else {"optimizer": config}
                    optimizer = config["optimizer"](model.parameters())
                    scheduler = config["scheduler"](optimizer) if config.get("scheduler") else None
                    losses = train(model, optimizer, DATA, epochs, BATCH_SIZE, scheduler=scheduler,
                                   max_grad_norm=config.get("max_grad_norm"), seed=seed, loss=config.get("loss", "ce"))
                    results[name] = {"losses": losses, "accuracy": evaluate(model, DATA)}
                return results
        '''},
        fails=frozenset({"test_run_experiment_is_fair"}), mistake="model not reset between configs"),
    "different-initial-weights": Example(
        cells={"run_experiment": '''
            def run_experiment(configs, epochs, seed):
                results = {}
                for name, config in configs.items():
                    config = config if isinstance(config, dict) else {"optimizer": config}
                    model = make_model()  # fresh, but with new random weights each time
                    optimizer = config["optimizer"](model.parameters())
                    scheduler = config["scheduler"](optimizer) if config.get("scheduler") else None
                    losses = train(model, optimizer, DATA, epochs, BATCH_SIZE, scheduler=scheduler,
                                   max_grad_norm=config.get("max_grad_norm"), seed=seed, loss=config.get("loss", "ce"))
                    results[name] = {"losses": losses, "accuracy": evaluate(model, DATA)}
                return results
        '''},
        fails=frozenset({"test_run_experiment_is_fair"}), mistake="configs compared from different initial weights"),
    "adam-with-sgd-learning-rate": Example(
        cells={"configs": '''
            OPTIMIZERS = {
                "SGD": lambda p: optim.SGD(p, lr=0.01),
                "SGD+momentum": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
                "Adam": lambda p: optim.Adam(p, lr=0.01),  # same lr as SGD, "to be fair"
                "AdamW": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.01),
            }
            LEARNING_RATES = {f"Adam lr={lr:g}": (lambda p, lr=lr: optim.Adam(p, lr=lr)) for lr in (1e-4, 1e-3, 1e-2, 1e-1)}
            SCHEDULES = {"Adam + cosine": {"optimizer": lambda p: optim.Adam(p, lr=1e-3),
                                           "scheduler": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS)}}
            LOSSES = {"Adam + MSE": {"optimizer": lambda p: optim.Adam(p, lr=1e-3), "loss": "mse"}}
        '''},
        fails=frozenset({"test_experiment_configs_match_the_lesson"}), mistake="Adam given an SGD-sized learning rate"),
    "evaluate-percentage": Example(
        cells={"evaluate": evaluate_with(result="100 * correct / len(x)  # \"accuracy in %\"")},
        fails=frozenset({"test_evaluate_matches_accuracy"}),
        note="charged once, to evaluate: run_experiment is graded with a stand-in evaluate"),
    "evaluate-percentage-no-eval": Example(
        cells={"evaluate": evaluate_with(mode="pass  # forgot model.eval()", result="100 * correct / len(x)")},
        fails=frozenset({"test_evaluate_matches_accuracy", "test_evaluate_uses_eval_mode_and_no_grad"}),
        mistake="evaluation left in train mode", note="the value test says \"percentage\", the mode test names Short 28"),
    "run-experiment-drops-dict-options": Example(
        cells={"run_experiment": RUN_EXPERIMENT.format(
            train_call="train(model, optimizer, DATA, epochs, BATCH_SIZE, seed=seed)  # scheduler, loss, clipping dropped")},
        fails=frozenset({"test_run_experiment_passes_dict_configs_to_train"})),
    "decay-on-norm-layers": Example(
        cells={"decay_param_groups": '''
            def decay_param_groups(model, weight_decay):
                decay = [p for name, p in model.named_parameters() if not name.endswith("bias")]
                no_decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
                return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        '''},
        fails=frozenset({"test_decay_param_groups_exclude_biases_and_norms"}),
        mistake="weight decay on biases and norm layers", note="biases excluded by name, LayerNorm/BatchNorm forgotten"),
    "first-group-lr-only": Example(
        cells={"current_lrs": '''
            def current_lrs(optimizer):
                return [optimizer.param_groups[0]["lr"]]  # the lesson's one-liner
        '''},
        fails=frozenset({"test_current_lrs_lists_every_group"}), mistake="only the first param group's lr logged"),
    "best-config-lowest-loss": Example(
        cells={"best_config": '''
            def best_config(results):
                return min(results, key=lambda name: results[name]["losses"][-1])  # "lowest loss wins"
        '''},
        fails=frozenset({"test_best_config_has_the_highest_accuracy"})),
}
