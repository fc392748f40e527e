"""The figures a model is judged by, one definition each, so that every report means the same thing.

A message can be scored two ways, and a figure must say which when both could be meant:

- the model's **top intent** (`top_intents`): the label the network ranks first. How good the
  model is, whatever the bot then does with it.
- what the bot **answers** (`answered_intents`): `training.policy.decide` after the out-of-scope
  weight, where a fallback counts as out of scope (`training.policy.answered_intent`). What the
  customer gets; the gold metrics (`training.evaluate`) are of answers.

They differ on every message whose top intent falls below [policy] suggest (the bot falls back:
right only if the message was out of scope) and wherever the out-of-scope weight changes the top.
Where both kinds are reported, or a reader could take one for the other, the figures sit under a
key that says what was scored: `top_intent` or `answered` (`training.crossval`, the bench's policy
sweep and starter cross-validation). The figures' own names are those of `scores`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

from training.classifier import rank
from training.config import PolicySettings
from training.domain import OUT_OF_SCOPE
from training.policy import answered_intent, decide


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of messages whose predicted intent is the true one."""
    return float(accuracy_score(truth, predicted))


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over the intents (true or predicted), each counting alike however rare it is; an
    intent never predicted, or predicted but never true, scores 0."""
    return float(f1_score(truth, predicted, average="macro", zero_division=0))


def out_of_scope_recall(truth: Sequence[str], predicted: Sequence[str], oos_label: str = OUT_OF_SCOPE) -> float | None:
    """Share of the out-of-scope messages recognised as such; None when there are none."""
    if oos_label not in truth:
        return None
    return float(recall_score(truth, predicted, labels=[oos_label], average="micro"))


def in_scope_accuracy(truth: Sequence[str], predicted: Sequence[str], oos_label: str = OUT_OF_SCOPE) -> float | None:
    """Accuracy on the messages that are not out of scope, so that out-of-scope recall cannot be
    bought by falling back on real questions unnoticed; None when every message is out of scope."""
    kept = [(t, p) for t, p in zip(truth, predicted, strict=True) if t != oos_label]
    if not kept:
        return None
    return accuracy([t for t, _ in kept], [p for _, p in kept])


def scores(truth: Sequence[str], predicted: Sequence[str], oos_label: str | None = OUT_OF_SCOPE) -> dict[str, float | None]:
    """accuracy and macro_f1, and with an out-of-scope label oos_recall and inscope_accuracy:
    the keys stored in every model's metrics."""
    figures: dict[str, float | None] = {"accuracy": accuracy(truth, predicted), "macro_f1": macro_f1(truth, predicted)}
    if oos_label is not None:
        figures["oos_recall"] = out_of_scope_recall(truth, predicted, oos_label)
        figures["inscope_accuracy"] = in_scope_accuracy(truth, predicted, oos_label)
    return figures


def top_intents(probs: np.ndarray, labels: Sequence[str]) -> list[str]:
    """Each probability row's most likely label."""
    return [labels[i] for i in np.asarray(probs).argmax(axis=1)]


def answered_intents(probs: np.ndarray, labels: list[str], policy: PolicySettings) -> list[str]:
    """For each probability row, the intent whose answer the bot gives under `policy` (the rule
    `training.evaluate.as_answered` applies to a served model, here on stored probabilities)."""
    return [answered_intent(decide(rank(row, labels, policy.top_k, policy.out_of_scope_weight), policy)) for row in probs]
