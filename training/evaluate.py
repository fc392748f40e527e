"""Judge a model on the gold test set, overall, per language and per intent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sklearn.metrics import classification_report, confusion_matrix

from training.config import PolicySettings
from training.domain import LANGUAGES, Example
from training.metrics import accuracy, macro_f1, scores
from training.policy import answered_intent, decide

Predict = Callable[[str], str]


class Ranker(Protocol):
    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]: ...


def as_answered(model: Ranker, policy: PolicySettings) -> Predict:
    """The intent whose answer the bot gives (the policy's decision, out-of-scope weight and
    fallback included), so the gold metrics measure what customers get."""

    def predict(text: str) -> str:
        return answered_intent(decide(model.predict(text, policy.top_k, policy.out_of_scope_weight), policy))

    return predict


def evaluate(predict: Predict, gold: list[Example], n_train: dict[str, int] | None = None) -> dict:
    """Metrics of `predict` (text -> one intent; `as_answered` makes it what the bot answers) on
    the gold examples: `training.metrics.scores` overall, accuracy and macro-F1 per language,
    precision/recall/F1 per intent, the confusion matrix and the misclassified examples."""
    truth = [e.intent for e in gold]
    predicted = [predict(e.text) for e in gold]
    metrics = {
        **scores(truth, predicted),
        "n_intents": len(set(truth)),
        "n_gold": len(gold),
        "per_language": {},
        "per_intent": {
            name: {"precision": r["precision"], "recall": r["recall"], "f1": r["f1-score"], "support": int(r["support"])}
            for name, r in classification_report(truth, predicted, output_dict=True, zero_division=0).items()
            if name in set(truth)
        },
        "errors": [
            {"text": e.text, "intent": e.intent, "predicted": p} for e, p in zip(gold, predicted) if e.intent != p
        ],
    }
    labels = sorted(set(truth) | set(predicted))  # a predicted-only label still gets its column
    metrics["confusion"] = {"labels": labels, "matrix": confusion_matrix(truth, predicted, labels=labels).tolist()}
    for lang in LANGUAGES:
        idx = [i for i, e in enumerate(gold) if e.language == lang]
        if idx:
            lang_truth, lang_predicted = [truth[i] for i in idx], [predicted[i] for i in idx]
            metrics["per_language"][lang] = {
                "accuracy": accuracy(lang_truth, lang_predicted),
                "macro_f1": macro_f1(lang_truth, lang_predicted),
                "n_train": (n_train or {}).get(lang, 0),
                "n_gold": len(idx),
            }
    return metrics


def format_report(metrics: dict) -> str:
    """Human-readable summary for the CLI and reports."""
    lines = [
        f"accuracy {metrics['accuracy']:.4f}   macro-F1 {metrics['macro_f1']:.4f}   "
        f"out-of-scope recall {metrics['oos_recall']:.4f}   in-scope accuracy {metrics['inscope_accuracy']:.4f}",
        f"gold examples {metrics['n_gold']}, intents {metrics['n_intents']}",
    ]
    for lang, m in metrics["per_language"].items():
        lines.append(f"  {lang}: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  (train {m['n_train']}, gold {m['n_gold']})")
    lines.append(f"{'intent':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>5}")
    for name, r in sorted(metrics["per_intent"].items()):
        lines.append(f"{name:<24}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>8.3f}{r['support']:>5}")
    return "\n".join(lines)
