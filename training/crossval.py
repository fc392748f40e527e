"""k-fold cross-validation on the starter domain: how stable the model is, not just how good."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from training.config import ModelSettings
from training.domain import Example
from training.train import encode_all, train


def cross_validate(examples: list[Example], k: int, s: ModelSettings) -> dict:
    """Train k models, each scored on the fold it did not see; mean and spread of the scores."""
    labels = [e.intent for e in examples]
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=s.seed).split(np.zeros(len(labels)), labels)
    scores = []
    for train_idx, test_idx in folds:
        trained = train([examples[i] for i in train_idx], s, verbose=0)
        held_out = [examples[i] for i in test_idx]
        inputs = encode_all(trained.encoder, [e.text for e in held_out])
        predicted = [trained.labels[i] for i in trained.model.predict(inputs, verbose=0).argmax(axis=1)]
        truth = [e.intent for e in held_out]
        scores.append((accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro", zero_division=0)))
    acc, f1 = np.array(scores).T
    return {
        "k": k,
        "accuracy": {"mean": float(acc.mean()), "std": float(acc.std()), "folds": acc.round(4).tolist()},
        "macro_f1": {"mean": float(f1.mean()), "std": float(f1.std()), "folds": f1.round(4).tolist()},
    }
