"""Example submissions for 01_losses: a perfect one, the untouched release, and one per named mistake."""
from build import Example

ALL = frozenset({
    "test_mse_matches_reference", "test_mae_matches_reference", "test_mse_mae_no_builtin",
    "test_bce_matches_reference", "test_bce_finite_at_0_and_1", "test_bce_with_logits_matches_reference",
    "test_bce_with_logits_stable_for_large_logits", "test_bce_no_builtin", "test_cross_entropy_matches_reference",
    "test_cross_entropy_stable_for_large_logits", "test_cross_entropy_no_builtin", "test_quiz_loss_for_task",
    "test_quiz_loss_input",
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
