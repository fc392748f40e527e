"""k-fold cross-validation on the starter domain: how stable the model is, not just how good."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from training.config import ModelSettings
from training.domain import Example
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


def cross_validate(examples: list[Example], k: int, s: ModelSettings) -> dict:
    """Mean and spread over the k folds of the held-out accuracy and macro-F1 (the model's top intent)."""
    oof = out_of_fold(examples, k, s)
    truth = np.array([e.intent for e in examples])
    predicted = np.array(oof.labels)[oof.probs.argmax(axis=1)]
    scores = [
        (accuracy_score(truth[held], predicted[held]), f1_score(truth[held], predicted[held], average="macro", zero_division=0))
        for held in (oof.fold == n for n in range(k))
    ]
    acc, f1 = np.array(scores).T
    return {
        "k": k,
        "accuracy": {"mean": float(acc.mean()), "std": float(acc.std()), "folds": acc.round(4).tolist()},
        "macro_f1": {"mean": float(f1.mean()), "std": float(f1.std()), "folds": f1.round(4).tolist()},
    }
