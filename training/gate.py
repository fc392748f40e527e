"""Decide whether a candidate model may replace the live one."""

from __future__ import annotations

from training.config import PromotionSettings


def verdict(candidate: dict, live: dict | None, p: PromotionSettings) -> tuple[bool, list[str]]:
    """(promote?, reasons). Measured on the same gold set; no live model means promote."""
    if live is None:
        return True, ["no live model"]
    reasons = []
    floor = live["macro_f1"] - p.tolerance
    if candidate["macro_f1"] < floor:
        reasons.append(
            f"macro-F1 {candidate['macro_f1']:.4f} is below the live model's {live['macro_f1']:.4f} "
            f"minus tolerance {p.tolerance}"
        )
    for intent, scores in sorted(candidate.get("per_intent", {}).items()):
        if scores["recall"] < p.recall_floor:
            reasons.append(f"recall of {intent} collapsed to {scores['recall']:.2f} (floor {p.recall_floor})")
    if reasons:
        return False, reasons
    return True, [f"macro-F1 {candidate['macro_f1']:.4f} vs live {live['macro_f1']:.4f}"]
