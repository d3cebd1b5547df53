"""Example submissions for 03_mnist_optimizers: a perfect one, the untouched release, one per named
mistake, and a train() that ignores the optimizer it is given (no named mistake: the checks that watch
the optimizer, the learning-rate gap and run_experiment's fairness catch it)."""
from build import Example

ALL = frozenset({
    "test_make_model_is_lesson_mlp", "test_train_returns_loss_per_step", "test_train_puts_model_in_train_mode",
    "test_train_zeroes_gradients_every_step", "test_train_clips_before_step", "test_train_steps_scheduler_once_per_epoch",
    "test_sgd_momentum_reaches_threshold", "test_scheduled_adam_reaches_threshold",
    "test_adam_lr_0_1_clearly_worse_than_1e_3", "test_evaluate_matches_accuracy",
    "test_evaluate_uses_eval_mode_and_no_grad", "test_run_experiment_is_fair",
    "test_experiment_configs_match_the_lesson", "test_figure_shows_every_config", "test_best_config_names_a_run_config",
})
THRESHOLDS = frozenset({"test_sgd_momentum_reaches_threshold", "test_scheduled_adam_reaches_threshold"})

# train() as the reference writes it, with one line changed per example (marked).
TRAIN = '''
def compute_loss(logits, y, loss="ce"):
    if loss == "ce":
        return {ce}
    target = F.one_hot(y, num_classes=logits.shape[1]).float()
    return F.mse_loss(logits.softmax(dim=1), target)


def train(model, optimizer, data, epochs, batch_size, scheduler=None, max_grad_norm=None, seed=0, loss="ce"):
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    x, y = data["x_train"], data["y_train"]
    {train_mode}
    history = []
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=order).split(batch_size):
            {zero_grad}
            step_loss = compute_loss(model(x[idx]), y[idx], loss)
            step_loss.backward()
            {clip_before}
            optimizer.step()
            {clip_after}
            {batch_scheduler}
            history.append(step_loss.item())
        {epoch_scheduler}
    return history
'''
RIGHT = {
    "ce": "F.cross_entropy(logits, y)",
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
    return correct / len(x)
'''

EXAMPLES = {
    "perfect": Example(note="every answer right"),
    "untouched": Example(fails=ALL, note="the release notebook as downloaded"),
    "softmax-before-cross-entropy": Example(
        cells={"train": train_with(ce="F.cross_entropy(logits.softmax(dim=1), y)  # \"probabilities are clearer\"")},
        fails=THRESHOLDS, mistake="softmax before CrossEntropyLoss",
        note="learns, but slowly: the softmaxed logits squash the gradients"),
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
    "train-ignores-optimizer": Example(
        cells={"train": train_with(train_mode="model.train()\n    optimizer = optim.Adam(model.parameters(), lr=1e-3)  # \"Adam is best anyway\"")},
        fails=frozenset({"test_adam_lr_0_1_clearly_worse_than_1e_3", "test_train_zeroes_gradients_every_step",
                         "test_train_clips_before_step", "test_run_experiment_is_fair"}),
        note="every config trains as Adam 1e-3: no named mistake, but the optimizer passed in has no effect"),
    "evaluate-in-train-mode": Example(
        cells={"evaluate": EVALUATE.format(mode="pass  # forgot model.eval()", context="with torch.no_grad():")},
        fails=frozenset({"test_evaluate_matches_accuracy", "test_evaluate_uses_eval_mode_and_no_grad"}),
        mistake="evaluation left in train mode"),
    "evaluate-with-grad": Example(
        cells={"evaluate": EVALUATE.format(mode="model.eval()", context="if True:  # no torch.no_grad()")},
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
}
