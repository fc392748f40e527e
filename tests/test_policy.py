from training.config import PolicySettings
from training.policy import Decision, answered_intent, decide, suggestions_from

P = PolicySettings(confident=0.6, suggest=0.2, max_suggestions=3, min_suggestion=0.05)


def test_confident_prediction_is_answered():
    assert decide([("order_status", 0.9), ("cancel_order", 0.05)], P) == Decision("answer", "order_status", 0.9)


def test_confident_out_of_scope_falls_back():
    assert decide([("out_of_scope", 0.8), ("greet", 0.1)], P).action == "fallback"


def test_confident_contact_human_hands_over():
    assert decide([("contact_human", 0.7), ("complaint", 0.2)], P).action == "handoff"


def test_unsure_prediction_suggests_in_scope_intents_only():
    topk = [("refund_request", 0.4), ("out_of_scope", 0.3), ("refund_status", 0.2), ("return_item", 0.06),
            ("greet", 0.04)]
    decision = decide(topk, P)
    assert decision.action == "suggest"
    assert decision.suggestions == ("refund_request", "refund_status", "return_item")


def test_suggestions_are_capped():
    topk = [("a", 0.25), ("b", 0.25), ("c", 0.25), ("d", 0.25)]
    assert decide(topk, P).suggestions == ("a", "b", "c")


def test_very_unsure_prediction_falls_back():
    assert decide([("greet", 0.15), ("thanks", 0.1)], P).action == "fallback"


def test_unsure_with_only_out_of_scope_candidates_falls_back():
    assert decide([("out_of_scope", 0.5), ("greet", 0.01)], P).action == "fallback"


def test_suggestions_can_exclude_the_refuted_intent():
    topk = [("refund_request", 0.7), ("refund_status", 0.2), ("return_item", 0.1)]
    assert suggestions_from(topk, P, exclude="refund_request") == ("refund_status", "return_item")


def test_the_answered_intent_is_out_of_scope_exactly_when_the_bot_falls_back():
    assert answered_intent(decide([("order_status", 0.9)], P)) == "order_status"
    assert answered_intent(decide([("refund_request", 0.4), ("refund_status", 0.3)], P)) == "refund_request"
    assert answered_intent(decide([("refund_request", 0.1), ("refund_status", 0.09)], P)) == "out_of_scope"
    assert answered_intent(decide([("contact_human", 0.9)], P)) == "contact_human"
