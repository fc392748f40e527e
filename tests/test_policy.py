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


def test_unsure_out_of_scope_on_top_falls_back_instead_of_offering_unrelated_intents():
    """Out of scope first at 0.4 (below confident) with three in-scope intents worth a button: the
    old policy offered them; the message is most likely about none of them."""
    topk = [("out_of_scope", 0.4), ("order_status", 0.25), ("refund_request", 0.2), ("greet", 0.1)]
    decision = decide(topk, P)
    assert decision == Decision("fallback", "out_of_scope", 0.4)
    assert answered_intent(decision) == "out_of_scope"  # the gold metrics count it as before


def test_out_of_scope_just_below_confident_falls_back():
    assert decide([("out_of_scope", 0.59), ("greet", 0.4)], P).action == "fallback"


def test_suggestions_never_include_the_handoff_intent():
    """The engine adds "talk to a person" to every suggestion list: contact_human as a suggestion
    showed it twice."""
    topk = [("complaint", 0.35), ("contact_human", 0.3), ("refund_request", 0.2)]
    decision = decide(topk, P)
    assert decision.action == "suggest" and decision.intent == "complaint"
    assert decision.suggestions == ("complaint", "refund_request")
    assert "contact_human" not in suggestions_from(topk, P, exclude="complaint")


def test_unsure_handoff_on_top_still_suggests_with_only_the_person_button():
    """contact_human first at 0.5 and nothing else worth a button: the person button (always
    added) is the offer, as before; it is not a fallback."""
    decision = decide([("contact_human", 0.5), ("greet", 0.01)], P)
    assert decision == Decision("suggest", "contact_human", 0.5, ())
    assert answered_intent(decision) == "contact_human"


def test_unsure_handoff_on_top_offers_the_other_intents_without_itself():
    decision = decide([("contact_human", 0.45), ("complaint", 0.3), ("out_of_scope", 0.2)], P)
    assert decision == Decision("suggest", "contact_human", 0.45, ("complaint",))
