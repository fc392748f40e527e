"""training.metrics: each figure on inputs small enough to count by hand, and the two ways of
scoring a message (the model's top intent, what the bot answers under the policy) side by side."""

from __future__ import annotations

import numpy as np
import pytest

from training.classifier import rank
from training.config import PolicySettings
from training.domain import OUT_OF_SCOPE, Example
from training.evaluate import as_answered, evaluate
from training.metrics import (
    accuracy,
    answered_intents,
    in_scope_accuracy,
    macro_f1,
    out_of_scope_recall,
    scores,
    top_intents,
)

OOS = OUT_OF_SCOPE

# Five messages: greet right, greet taken for refund, refund right, one out-of-scope message
# recognised, one answered as a greeting.
TRUTH = ["greet", "greet", "refund", OOS, OOS]
PREDICTED = ["greet", "refund", "refund", OOS, "greet"]


def test_accuracy_counts_exact_matches():
    assert accuracy(TRUTH, PREDICTED) == 3 / 5
    assert accuracy(["a"], ["a"]) == 1.0


def test_macro_f1_averages_every_intent_alike():
    # greet: precision 1/2 (one of the two "greet" answers was out of scope), recall 1/2 -> F1 1/2
    # refund: precision 1/2, recall 1 -> F1 2/3;  out of scope: precision 1, recall 1/2 -> F1 2/3
    assert macro_f1(TRUTH, PREDICTED) == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    # an intent predicted but never true counts as 0, it is not left out of the mean
    assert macro_f1(["a", "a"], ["a", "b"]) == pytest.approx((2 / 3 + 0) / 2)


def test_out_of_scope_recall_and_in_scope_accuracy_split_the_messages():
    assert out_of_scope_recall(TRUTH, PREDICTED) == 1 / 2
    assert in_scope_accuracy(TRUTH, PREDICTED) == 2 / 3
    # falling back on everything buys full recall and is caught by in-scope accuracy
    assert out_of_scope_recall(TRUTH, [OOS] * 5) == 1.0
    assert in_scope_accuracy(TRUTH, [OOS] * 5) == 0.0
    # another label can play the out-of-scope class (BANKING77-style CSVs name their own)
    assert out_of_scope_recall(["x", "none"], ["none", "none"], oos_label="none") == 1.0


def test_figures_without_the_messages_they_need_are_none():
    assert out_of_scope_recall(["greet", "refund"], ["greet", OOS]) is None
    assert in_scope_accuracy([OOS, OOS], [OOS, "greet"]) is None


def test_scores_are_the_stored_metric_keys():
    assert scores(TRUTH, PREDICTED) == {
        "accuracy": 3 / 5,
        "macro_f1": pytest.approx(11 / 18),
        "oos_recall": 1 / 2,
        "inscope_accuracy": 2 / 3,
    }
    assert scores(["a", "b"], ["a", "a"], oos_label=None) == {"accuracy": 0.5, "macro_f1": pytest.approx(1 / 3)}


# --- top intent vs what the bot answers ---------------------------------------------------

LABELS = ["greet", OOS, "refund", "track"]
PROBS = np.array([
    [0.85, 0.05, 0.05, 0.05],  # greet, sure of it: both answer greet
    [0.25, 0.23, 0.28, 0.24],  # refund on top, but below suggest (0.3): the bot falls back
    [0.27, 0.25, 0.24, 0.24],  # out of scope, greet on top below suggest: the fallback is right
    [0.50, 0.40, 0.05, 0.05],  # out of scope, greet on top above suggest: "did you mean greet?"
])
GOLD_INTENTS = ["greet", "refund", OOS, OOS]
POLICY = PolicySettings(confident=0.6, suggest=0.3, top_k=4, out_of_scope_weight=1.0)
# Weight 2: out of scope goes on top of rows 2-4 (0.46/1.23, 0.5/1.25, 0.8/1.4), each below
# `confident`; a suggestion counts as its top intent, so the bot answers out of scope there.
WEIGHTED = PolicySettings(confident=0.6, suggest=0.3, top_k=4, out_of_scope_weight=2.0)


def test_top_intents_are_the_argmax():
    assert top_intents(PROBS, LABELS) == ["greet", "refund", "greet", "greet"]


def test_answered_intents_follow_the_policy():
    assert answered_intents(PROBS, LABELS, POLICY) == ["greet", OOS, OOS, "greet"]
    assert answered_intents(PROBS, LABELS, WEIGHTED) == ["greet", OOS, OOS, OOS]


def test_top_intent_and_answered_figures_differ_on_the_same_probabilities():
    top = scores(GOLD_INTENTS, top_intents(PROBS, LABELS))
    answered = scores(GOLD_INTENTS, answered_intents(PROBS, LABELS, POLICY))
    weighted = scores(GOLD_INTENTS, answered_intents(PROBS, LABELS, WEIGHTED))
    assert (top["accuracy"], top["oos_recall"], top["inscope_accuracy"]) == (2 / 4, 0.0, 1.0)
    assert (answered["accuracy"], answered["oos_recall"], answered["inscope_accuracy"]) == (2 / 4, 1 / 2, 1 / 2)
    assert (weighted["accuracy"], weighted["oos_recall"], weighted["inscope_accuracy"]) == (3 / 4, 1.0, 1 / 2)


class FixedRanker:
    """The `Ranker` a served model is, with one fixed probability row per text."""

    def __init__(self, rows: dict[str, np.ndarray]) -> None:
        self.rows = rows

    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
        return rank(self.rows[text], LABELS, k, out_of_scope_weight)


@pytest.mark.parametrize("policy", [POLICY, WEIGHTED], ids=["weight-1", "weight-2"])
def test_gold_evaluation_scores_answers_as_the_metrics_module_does(policy):
    """`evaluate(as_answered(...))` on a served model and `answered_intents` on stored
    probabilities are one definition: the same figures for the same rows."""
    gold = [Example(f"message {i}", intent, "en") for i, intent in enumerate(GOLD_INTENTS)]
    ranker = FixedRanker({e.text: row for e, row in zip(gold, PROBS, strict=True)})
    metrics = evaluate(as_answered(ranker, policy), gold)
    expected = scores(GOLD_INTENTS, answered_intents(PROBS, LABELS, policy))
    assert {k: metrics[k] for k in expected} == expected


def test_cross_validation_reports_both_kinds_per_fold():
    from training.crossval import OutOfFold, fold_scores, format_cross_validation

    oof = OutOfFold(LABELS, PROBS, np.array([0, 0, 1, 1]))
    result = fold_scores(oof, GOLD_INTENTS, POLICY)
    assert result["k"] == 2 and set(result) == {"k", "top_intent", "answered"}
    # top intent: fold 0 [greet, refund] both right, fold 1 [greet, greet] for two out-of-scope
    assert result["top_intent"]["accuracy"] == {"mean": 0.5, "std": 0.5, "folds": [1.0, 0.0]}
    assert result["top_intent"]["macro_f1"]["folds"] == [1.0, 0.0]
    # answered: fold 0 [greet, out of scope] one right, fold 1 [out of scope, greet] one right
    assert result["answered"]["accuracy"] == {"mean": 0.5, "std": 0.0, "folds": [0.5, 0.5]}
    # fold 0: greet 1, refund 0, out of scope 0 (answered, never true); fold 1: out of scope 2/3, greet 0
    assert result["answered"]["macro_f1"]["folds"] == [0.3333, 0.3333]
    assert result["answered"]["macro_f1"]["mean"] == pytest.approx(1 / 3)
    assert format_cross_validation(result).splitlines() == [
        "top-intent accuracy: 0.5000 ± 0.5000 over 2 folds [1.0, 0.0]",
        "top-intent macro-F1: 0.5000 ± 0.5000 over 2 folds [1.0, 0.0]",
        "answered accuracy: 0.5000 ± 0.0000 over 2 folds [0.5, 0.5]",
        "answered macro-F1: 0.3333 ± 0.0000 over 2 folds [0.3333, 0.3333]",
    ]
