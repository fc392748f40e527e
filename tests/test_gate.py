"""The promotion gate's rules, each on its own, with hand-made metrics (no model needed)."""

import pytest

from training.config import PromotionSettings
from training.gate import verdict

RULES = PromotionSettings(tolerance=0.01, recall_floor=0.5)


def metrics(macro_f1: float, **recalls: float) -> dict:
    return {"macro_f1": macro_f1, "per_intent": {name: {"recall": r} for name, r in recalls.items()}}


def test_a_candidate_below_the_live_macro_f1_minus_tolerance_is_rejected():
    promote, reasons = verdict(metrics(0.889, greet=0.9), metrics(0.90, greet=0.9), RULES)
    assert not promote
    assert reasons == ["macro-F1 0.8890 is below the live model's 0.9000 minus tolerance 0.01"]


def test_a_candidate_within_the_tolerance_is_promoted():
    promote, reasons = verdict(metrics(0.8901, greet=0.9), metrics(0.90, greet=0.9), RULES)
    assert promote and reasons == ["macro-F1 0.8901 vs live 0.9000"]


def test_one_collapsed_intent_rejects_a_candidate_that_is_better_overall():
    promote, reasons = verdict(metrics(0.99, greet=1.0, refund_request=0.49), metrics(0.90, greet=0.9), RULES)
    assert not promote
    assert reasons == ["recall of refund_request collapsed to 0.49 (floor 0.5)"]


def test_recall_exactly_at_the_floor_passes():
    assert verdict(metrics(0.95, refund_request=0.5), metrics(0.90), RULES)[0]


def test_every_broken_rule_is_named():
    _, reasons = verdict(metrics(0.5, a=0.1, b=0.2), metrics(0.9), RULES)
    assert len(reasons) == 3 and reasons[0].startswith("macro-F1") and "recall of a" in reasons[1] and "recall of b" in reasons[2]


@pytest.mark.parametrize("candidate", [metrics(0.0, greet=0.0), metrics(0.99)])
def test_without_a_live_model_the_first_candidate_goes_live(candidate):
    assert verdict(candidate, None, RULES) == (True, ["no live model"])
