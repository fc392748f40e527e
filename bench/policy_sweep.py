"""What the bot would answer under other [policy] settings, from stored probabilities.

Shared by the starter phase (the validation split training held out) and the cross-validation
phase (every training example, out of fold): the out-of-scope weight and the fallback threshold
are chosen there, never on the gold set.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from training.classifier import rank
from training.config import PolicySettings
from training.domain import OUT_OF_SCOPE
from training.policy import answered_intent, decide

WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0)
THRESHOLDS = (0.2, 0.3)


def policy_sweep(probs: np.ndarray, labels: list[str], truth: list[str], languages: list[str],
                 base: PolicySettings) -> list[dict]:
    """One row per (out_of_scope_weight, suggest) pair: accuracy overall and per language, out-of-scope
    recall and in-scope accuracy of the answers the bot would give."""
    rows = []
    for weight in WEIGHTS:
        for threshold in THRESHOLDS:
            policy = dataclasses.replace(base, out_of_scope_weight=weight, suggest=threshold)
            rows.append({"out_of_scope_weight": weight, "suggest": threshold, "n": len(truth),
                         **answer_scores(probs, labels, truth, languages, policy)})
    return rows


def answer_scores(probs: np.ndarray, labels: list[str], truth: list[str], languages: list[str],
                  policy: PolicySettings) -> dict:
    """Accuracy overall and per language, out-of-scope recall and in-scope accuracy of what the bot
    would answer under `policy`."""
    answered = [answered_intent(decide(rank(row, labels, policy.top_k, policy.out_of_scope_weight), policy))
                for row in probs]
    return _scores(truth, answered, languages)


def _scores(truth: list[str], answered: list[str], languages: list[str]) -> dict:
    def accuracy(keep) -> float:
        pairs = [(t, a) for t, a, lang in zip(truth, answered, languages, strict=True) if keep(t, lang)]
        return sum(t == a for t, a in pairs) / len(pairs)

    scores = {"accuracy": accuracy(lambda t, lang: True),
              "oos_recall": accuracy(lambda t, lang: t == OUT_OF_SCOPE),
              "inscope_accuracy": accuracy(lambda t, lang: t != OUT_OF_SCOPE)}
    for language in sorted(set(languages)):
        scores[f"{language}_accuracy"] = accuracy(lambda t, lang, language=language: lang == language)
    return scores
