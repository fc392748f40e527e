"""k-fold cross-validation on the starter domain: how stable the model is, not just how good."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from training.config import ModelSettings, PolicySettings
from training.domain import Example
from training.metrics import accuracy, answered_intents, macro_f1, top_intents
from training.train import encode_all, train


@dataclass(frozen=True)
class OutOfFold:
    """Every example's probabilities from the one model of k that did not train on it."""

    labels: list[str]
    probs: np.ndarray  # (examples, labels)
    fold: np.ndarray  # which fold each example was held out in


def out_of_fold(examples: list[Example], k: int, s: ModelSettings) -> OutOfFold:
    """Train k models, each predicting the fold it did not see: choices (like the policy's) can
    then be made on every training example without touching the gold set."""
    truth = [e.intent for e in examples]
    labels = sorted(set(truth))
    probs = np.zeros((len(examples), len(labels)), dtype="float32")
    fold = np.zeros(len(examples), dtype=int)
    splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=s.seed).split(np.zeros(len(truth)), truth)
    for n, (train_idx, test_idx) in enumerate(splits):
        trained = train([examples[i] for i in train_idx], s, verbose=0)
        inputs = encode_all(trained.encoder, [examples[i].text for i in test_idx])
        columns = [labels.index(label) for label in trained.labels]
        probs[np.ix_(test_idx, columns)] = trained.model.predict(inputs, verbose=0)
        fold[test_idx] = n
    return OutOfFold(labels, probs, fold)


def cross_validate(examples: list[Example], k: int, s: ModelSettings, policy: PolicySettings) -> dict:
    """k models on k folds of `examples`, scored by `fold_scores`."""
    return fold_scores(out_of_fold(examples, k, s), [e.intent for e in examples], policy)


def fold_scores(oof: OutOfFold, truth: list[str], policy: PolicySettings) -> dict:
    """Mean and spread over the folds of held-out accuracy and macro-F1, twice: of the model's top
    intent (how stable the model is) and of what the bot answers under `policy` (the kind of figure
    `supportbot evaluate` reports on gold; see `training.metrics`).

    {"k": k, "top_intent": {"accuracy": {"mean", "std", "folds"}, "macro_f1": {...}}, "answered": {...}}
    """
    truth_a = np.array(truth)
    held = [oof.fold == n for n in np.unique(oof.fold)]
    result: dict = {"k": len(held)}
    for scored, predicted in (("top_intent", top_intents(oof.probs, oof.labels)),
                              ("answered", answered_intents(oof.probs, oof.labels, policy))):
        predicted_a = np.array(predicted)
        result[scored] = {name: _spread([figure(truth_a[fold], predicted_a[fold]) for fold in held])
                          for name, figure in (("accuracy", accuracy), ("macro_f1", macro_f1))}
    return result


def _spread(per_fold: list[float]) -> dict:
    values = np.array(per_fold)
    return {"mean": float(values.mean()), "std": float(values.std()), "folds": values.round(4).tolist()}


def format_cross_validation(result: dict) -> str:
    """`fold_scores`'s result for the terminal, one line per figure."""
    lines = []
    for scored, title in (("top_intent", "top-intent"), ("answered", "answered")):
        for name, figure in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            r = result[scored][name]
            lines.append(f"{title} {figure}: {r['mean']:.4f} ± {r['std']:.4f} over {result['k']} folds {r['folds']}")
    return "\n".join(lines)
