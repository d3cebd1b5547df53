"""Example submissions for 01_losses: a perfect one, the untouched release, one per named mistake, and
the cases a fair grader must get right (a float with the right value, placeholders, helpers named
like torch's losses)."""
from build import Example

ALL = frozenset({
    "test_mse_matches_reference", "test_mae_matches_reference", "test_mse_mae_no_builtin",
    "test_bce_matches_reference", "test_bce_finite_at_0_and_1", "test_bce_with_logits_matches_reference",
    "test_bce_with_logits_stable_for_large_logits", "test_bce_no_builtin", "test_cross_entropy_matches_reference",
    "test_cross_entropy_stable_for_large_logits", "test_cross_entropy_no_builtin", "test_spam_model_returns_logits",
    "test_predict_proba_returns_probabilities", "test_quiz_loss_for_task", "test_quiz_loss_input",
})
CE_VALUES = frozenset({"test_cross_entropy_matches_reference", "test_cross_entropy_stable_for_large_logits"})
BCEL_VALUES = frozenset({"test_bce_with_logits_matches_reference", "test_bce_with_logits_stable_for_large_logits"})

EXAMPLES = {
    "perfect": Example(note="every answer right"),
    "untouched": Example(fails=ALL, note="the release notebook as downloaded"),
    "sum-instead-of-mean": Example(
        cells={"mse_mae": '''
            def mse_manual(pred, target):
                return ((pred - target) ** 2).sum()


            def mae_manual(pred, target):
                return (pred - target).abs().sum()
        '''},
        fails=frozenset({"test_mse_matches_reference", "test_mae_matches_reference"}),
        mistake="sum instead of mean"),
    "softmax-before-cross-entropy": Example(
        cells={"cross_entropy": '''
            def cross_entropy_manual(logits, targets):
                probs = torch.softmax(logits, dim=1)  # "the model should output probabilities"
                log_probs = probs - torch.logsumexp(probs, dim=1, keepdim=True)
                return -log_probs[torch.arange(len(targets)), targets].mean()
        '''},
        fails=CE_VALUES, mistake="softmax before cross-entropy"),
    "logits-as-probabilities": Example(
        cells={"bce_with_logits": '''
            def bce_with_logits_manual(logits, targets):
                return bce_manual(logits, targets)  # forgot the sigmoid
        '''},
        fails=BCEL_VALUES, mistake="logits fed where BCE expects probabilities"),
    "sigmoid-twice": Example(
        cells={"bce_with_logits": '''
            def bce_with_logits_manual(logits, targets):
                x = torch.sigmoid(logits)  # the model's Sigmoid() left in place
                return (x.clamp(min=0) - x * targets + torch.log1p(torch.exp(-x.abs()))).mean()
        '''},
        fails=BCEL_VALUES, mistake="sigmoid applied twice"),
    "one-hot-targets": Example(
        cells={"cross_entropy": '''
            def cross_entropy_manual(logits, targets):
                log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
                return -(targets * log_probs).sum(dim=1).mean()  # targets as one-hot rows
        '''},
        fails=CE_VALUES, mistake="one-hot targets given to cross-entropy"),
    "forbidden-builtin": Example(
        cells={"mse_mae": '''
            import torch.nn.functional as F


            def mse_manual(pred, target):
                return F.mse_loss(pred, target)


            def mae_manual(pred, target):
                return (pred - target).abs().mean()
        '''},
        fails=frozenset({"test_mse_mae_no_builtin"}), mistake="a forbidden built-in loss in a manual exercise"),
    "bce-for-multiclass": Example(
        cells={"quiz": '''
            LOSS_FOR_TASK = {"regression": "MSELoss", "binary": "BCEWithLogitsLoss",
                             "multiclass": "BCEWithLogitsLoss", "multilabel": "CrossEntropyLoss"}
            LOSS_INPUT = {"BCELoss": "probabilities", "BCEWithLogitsLoss": "logits", "CrossEntropyLoss": "logits"}
        '''},
        fails=frozenset({"test_quiz_loss_for_task"}), mistake="BCE for multi-class or CE for multi-label"),
    "bce-takes-logits": Example(
        cells={"quiz": '''
            LOSS_FOR_TASK = {"regression": "nn.MSELoss()", "binary": "BCEWithLogitsLoss",
                             "multiclass": "CrossEntropyLoss", "multilabel": "BCEWithLogitsLoss"}
            LOSS_INPUT = {"BCELoss": "logits", "BCEWithLogitsLoss": "logits", "CrossEntropyLoss": "logits"}
        '''},
        fails=frozenset({"test_quiz_loss_input"}), mistake="logits fed where BCE expects probabilities"),
    "mse-squeezes-one-side": Example(
        cells={"mse_mae": '''
            def mse_manual(pred, target):
                return ((pred.squeeze(-1) - target) ** 2).mean()  # "the model's output has an extra dimension"


            def mae_manual(pred, target):
                return (pred - target).abs().mean()
        '''},
        fails=frozenset({"test_mse_matches_reference"}), mistake="an N-vector broadcast against an N×1 column",
        note="right on every shape but (N, 1); one mistake, charged once: the by-hand point stays"),
    "ce-without-max-subtraction": Example(
        cells={"cross_entropy": '''
            def cross_entropy_manual(logits, targets):
                probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)  # softmax as the formula says
                return -probs[torch.arange(len(targets)), targets].log().mean()
        '''},
        fails=frozenset({"test_cross_entropy_stable_for_large_logits"}), mistake="a cross-entropy that overflows at large logits",
        note="was told 'a forbidden built-in loss'; the evidence is nan at large logits"),
    "bce-with-logits-sigmoid-then-log": Example(
        cells={"bce_with_logits": '''
            def bce_with_logits_manual(logits, targets):
                p = torch.sigmoid(logits)
                return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
        '''},
        fails=frozenset({"test_bce_with_logits_stable_for_large_logits"}),
        mistake="a BCE with logits that overflows at large logits"),
    "mse-returns-float": Example(
        cells={"mse_mae": '''
            def mse_manual(pred, target):
                return ((pred - target) ** 2).mean().item()


            def mae_manual(pred, target):
                return (pred - target).abs().mean()
        '''},
        fails=frozenset({"test_mse_matches_reference"}),
        note="the right value as a Python float: charged once, in the value test, not in the by-hand test"),
    "placeholder-losses": Example(
        cells={
            "mse_mae": '''
                def mse_manual(pred, target):
                    return torch.tensor(0.0)


                def mae_manual(pred, target):
                    return (pred - target).sum() * 0
            ''',
            "bce": '''
                def bce_manual(probs, targets):
                    pass
            ''',
            "bce_with_logits": '''
                def bce_with_logits_manual(logits, targets):
                    return torch.zeros(())
            ''',
            "cross_entropy": '''
                def cross_entropy_manual(logits, targets):
                    return logits.mean()
            ''',
        },
        fails=frozenset({"test_mse_matches_reference", "test_mae_matches_reference", "test_mse_mae_no_builtin",
                         "test_bce_matches_reference", "test_bce_finite_at_0_and_1", "test_bce_with_logits_matches_reference",
                         "test_bce_with_logits_stable_for_large_logits", "test_bce_no_builtin",
                         "test_cross_entropy_matches_reference", "test_cross_entropy_stable_for_large_logits",
                         "test_cross_entropy_no_builtin"}),
        note="constants and one-line placeholders earn no by-hand point"),
    "helpers-named-like-builtins": Example(
        cells={
            "mse_mae": '''
                def mse_manual(pred, target):
                    def mse_loss(a, b):  # a nested helper, named like F.mse_loss
                        return ((a - b) ** 2).mean()
                    return mse_loss(pred, target)


                def mae_manual(pred, target):
                    return (pred - target).abs().mean()
            ''',
            "cross_entropy": '''
                def log_softmax(z):
                    shifted = z - z.max(dim=1, keepdim=True).values  # (N, C)
                    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


                def cross_entropy(logits, targets):  # my own, named like F.cross_entropy
                    return -log_softmax(logits)[torch.arange(len(targets)), targets].mean()


                def cross_entropy_manual(logits, targets):
                    loss = cross_entropy(logits, targets)
                    return loss


                # Checking my version against PyTorch while I work:
                loss = nn.CrossEntropyLoss()(torch.randn(4, 3), torch.tensor([0, 1, 2, 1]))
                print(loss, cross_entropy_manual(torch.randn(4, 3), torch.tensor([0, 1, 2, 1])))
            ''',
        },
        note="own helpers and locals named like torch's losses are the student's: full marks"),
    "builtin-through-attribute-chain": Example(
        cells={"cross_entropy": '''
            def cross_entropy_manual(logits, targets):
                return torch.nn.functional.cross_entropy(logits, targets)
        '''},
        fails=frozenset({"test_cross_entropy_no_builtin"}), mistake="a forbidden built-in loss in a manual exercise"),
    "sigmoid-in-spam-model": Example(
        cells={"spam_model": '''
            def make_spam_model(n_features):
                return nn.Sequential(nn.Linear(n_features, 1), nn.Sigmoid())  # "outputs a spam probability"
        '''},
        fails=frozenset({"test_spam_model_returns_logits"}),
        mistake="a sigmoid kept in the model trained with BCEWithLogitsLoss"),
    "predict-proba-returns-logits": Example(
        cells={"predict_proba": '''
            def predict_proba(model, x):
                with torch.no_grad():
                    return model(x)
        '''},
        fails=frozenset({"test_predict_proba_returns_probabilities"}), mistake="logits returned as probabilities"),
    "predict-proba-softmax-over-batch": Example(
        cells={"predict_proba": '''
            def predict_proba(model, x):
                return torch.softmax(model(x), dim=0)
        '''},
        fails=frozenset({"test_predict_proba_returns_probabilities"}),
        mistake="softmax over the batch instead of the classes"),
    "tampers-with-assert-close": Example(
        cells={"mse_mae": '''
            import torch.testing
            torch.testing.assert_close = lambda *args, **kwargs: None  # "make every check pass"
            torch.allclose = lambda *args, **kwargs: True


            def mse_manual(pred, target):
                return ((pred - target) ** 2).sum()


            def mae_manual(pred, target):
                return (pred - target).abs().mean()
        '''},
        fails=frozenset({"test_mse_matches_reference"}), mistake="sum instead of mean"),
}
