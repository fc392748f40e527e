"""What the bot would answer under other [policy] settings, from stored probabilities.

Shared by the starter phase (the validation split training held out), the cross-validation
phase (every training example, out of fold) and `experiments/starter_cv.py`: the out-of-scope
weight and the fallback threshold are chosen there, never on the gold set.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from training.config import PolicySettings
from training.metrics import accuracy, answered_intents, scores

WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0)
THRESHOLDS = (0.2, 0.3)


def policy_sweep(probs: np.ndarray, labels: list[str], truth: list[str], languages: list[str],
                 base: PolicySettings) -> list[dict]:
    """One row per (out_of_scope_weight, suggest) pair: `answered_scores` under that policy."""
    rows = []
    for weight in WEIGHTS:
        for threshold in THRESHOLDS:
            policy = dataclasses.replace(base, out_of_scope_weight=weight, suggest=threshold)
            rows.append({"out_of_scope_weight": weight, "suggest": threshold, "n": len(truth),
                         "answered": answered_scores(probs, labels, truth, languages, policy)})
    return rows


def answered_scores(probs: np.ndarray, labels: list[str], truth: list[str], languages: list[str],
                    policy: PolicySettings) -> dict:
    """`training.metrics.scores` of what the bot would answer under `policy`, plus the accuracy per
    language (`en_accuracy`, `zh_accuracy`)."""
    answered = answered_intents(probs, labels, policy)
    figures = scores(truth, answered)
    for language in sorted(set(languages)):
        kept = [i for i, lang in enumerate(languages) if lang == language]
        figures[f"{language}_accuracy"] = accuracy([truth[i] for i in kept], [answered[i] for i in kept])
    return figures
