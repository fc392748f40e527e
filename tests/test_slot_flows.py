"""Asking for what an action needs, and what the shop's answer becomes, pinned by a ranker of fixed probabilities.

Each message's probabilities are chosen here, so each test takes exactly one branch of the flow in
bot/slots.py. Real SQLite, the real starter domain (its order_status and product_availability
declare slots and actions), the real entity extraction. The action results are the client's own
`ActionResult`s: the HTTP side is shown against real servers in test_actions_client.py and end to
end in test_actions_e2e.py.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.account_link import make_token
from bot.actions import ActionResult, Choice, Outcome
from bot.replies import SLOT_CHOICE, Control, Incoming
from bot.runtime import open_runtime
from bot.usecases import conversation
from bot.usecases.access import Actor
from storage.handoffs import HandoffReason, HandoffStatus
from tests.conftest import write_config
from tests.test_engine_flows import FixedRanker
from training.config import load_config
from training.policy import Action
from training.storable import storable

ENDPOINTS = """
[actions.endpoints]
order_status = "http://127.0.0.1:9/actions/order_status"
product_availability = "http://127.0.0.1:9/actions/product_availability"
delivery_delayed = "http://127.0.0.1:9/actions/delivery_delayed"
refund_status = "http://127.0.0.1:9/actions/refund_status"
recent_orders = "http://127.0.0.1:9/actions/recent_orders"
"""
ORDER = {"order_status": 0.9}


class Answers(dict):
    """Texts the test names get their probabilities; anything else (an order number, an e-mail) falls back."""

    def __missing__(self, text: str) -> dict[str, float]:
        return {"greet": 0.1}


ANSWERS = Answers({
    "where is my order": ORDER,
    "where is my order 10023": ORDER,
    "where is my order 10023, I ordered with <EMAIL>": ORDER,
    "do you have the blue kettle in stock": {"product_availability": 0.9},
    "is it in stock": {"product_availability": 0.9},
    "how do I reset my password": {"reset_password": 0.9},
    "I want a person": {"contact_human": 0.92},
})


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_ACTIONS_SECRET", "test-secret")
    runtime = open_runtime(load_config(write_config(tmp_path, ENDPOINTS)))
    runtime.model.current = FixedRanker(runtime.domain.names, ANSWERS)
    yield runtime
    runtime.close()


def ask(runtime, text, user="ann"):
    return runtime.engine.handle(Incoming("console", user, f"chat-{user}", text))


def question(runtime, slot, intent="order_status", lang="en"):
    return runtime.domain.intents[intent].slots[slot].question[lang]


def awaiting(runtime, user="ann"):
    user_id = runtime.engine.messages.user_id_of("console", user)
    return runtime.engine.slots.awaiting(user_id)


# --- asking -----------------------------------------------------------------------------------


def test_slot_an_order_question_without_a_number_asks_for_it_and_remembers_the_question(runtime):
    reply = ask(runtime, "where is my order")
    assert (reply.action, reply.intent, reply.call) == (Action.ASK, "order_status", None)
    assert reply.text == question(runtime, "order_id")
    state = awaiting(runtime)
    assert (state.intent, state.slot, state.filled, state.attempts) == ("order_status", "order_id", {}, 0)
    assert runtime.engine.messages.prediction(reply.message_id)["action"] == Action.ASK


def test_slot_the_number_fills_the_slot_and_the_bot_asks_for_proof_of_the_buyer(runtime):
    ask(runtime, "where is my order")
    reply = ask(runtime, "it's 10023")
    assert (reply.action, reply.text) == (Action.ASK, question(runtime, "verifier"))
    assert awaiting(runtime).filled == {"order_id": "10023"}


def test_slot_everything_in_one_message_goes_straight_to_the_action_with_a_pseudonymous_customer(runtime):
    reply = ask(runtime, "where is my order 10023, I ordered with ann@example.com")
    assert reply.action == Action.ANSWER and reply.call is not None
    assert dict(reply.call.slots) == {"order_id": "10023", "verifier": "ann@example.com"}
    assert (reply.call.endpoint, reply.call.language, reply.call.idempotent) == ("order_status", "en", True)
    user_id = runtime.engine.messages.user_id_of("console", "ann")
    assert reply.call.customer not in ("ann", str(user_id)) and len(reply.call.customer) >= 16
    assert reply.call.customer == runtime.engine.fulfilment.customer(user_id)  # stable per customer
    assert awaiting(runtime) is None
    entities = runtime.engine.messages.prediction(reply.message_id)["entities"]
    assert '["order_id", "10023"]' in entities and '["email", null]' in entities  # types kept, personal values never


def test_slot_a_bare_number_given_when_asked_for_the_postcode_is_the_postcode_and_is_not_stored(runtime):
    assert ask(runtime, "where is my order 10023").text == question(runtime, "verifier")
    reply = ask(runtime, "10115")
    assert reply.call is not None and dict(reply.call.slots) == {"order_id": "10023", "verifier": "10115"}
    stored = runtime.db.execute("SELECT text FROM messages WHERE id = ?", [reply.message_id]).fetchone()[0]
    assert stored == "<POSTCODE>"


def test_slot_a_free_text_slot_takes_the_product_name_from_the_next_message(runtime):
    assert ask(runtime, "is it in stock").text == question(runtime, "product", "product_availability")
    reply = ask(runtime, "the blue kettle")
    assert reply.call is not None and dict(reply.call.slots) == {"product": "the blue kettle"}


# --- ending the question ------------------------------------------------------------------------


@pytest.mark.parametrize("words", ["never mind", "Never mind!", "算了", "cancel"])
def test_slot_never_mind_ends_the_question_and_says_so(runtime, words):
    ask(runtime, "where is my order")
    reply = ask(runtime, words)
    assert reply.action == Action.CANCELLED and reply.text == runtime.engine.say("slot_cancelled", "zh" if words == "算了" else "en")
    assert awaiting(runtime) is None


def test_slot_cancel_command_ends_the_question_or_says_there_was_none(runtime):
    ask(runtime, "where is my order")
    reply = runtime.engine.cancel(Incoming("console", "ann", "chat-ann", "/cancel"))
    assert reply.text == runtime.engine.say("slot_cancelled", "en") and awaiting(runtime) is None
    again = runtime.engine.cancel(Incoming("console", "ann", "chat-ann", "/cancel"))
    assert again.text == runtime.engine.say("slot_nothing_to_cancel", "en")


def test_slot_a_confident_other_intent_ends_the_question_and_is_answered_as_new(runtime):
    ask(runtime, "where is my order")
    reply = ask(runtime, "how do I reset my password")
    assert (reply.action, reply.intent) == (Action.ANSWER, "reset_password")
    assert reply.text == runtime.engine.response("reset_password", "en")
    assert awaiting(runtime) is None


def test_slot_asking_for_a_person_mid_question_hands_over(runtime):
    ask(runtime, "where is my order")
    reply = ask(runtime, "I want a person")
    assert reply.action == Action.HANDOFF and reply.handoff_id is not None
    assert awaiting(runtime) is None


def test_slot_an_answer_that_is_no_answer_is_asked_again_then_the_general_answer_and_a_person(runtime):
    ask(runtime, "where is my order")
    again = ask(runtime, "hmm")
    assert again.action == Action.ASK
    assert again.text == f"{runtime.engine.say('slot_retry', 'en')} {question(runtime, 'order_id')}"
    assert awaiting(runtime).attempts == 1
    gave_up = ask(runtime, "dunno")  # [slots] max_attempts = 2
    assert gave_up.action == Action.ANSWER and gave_up.call is None
    assert gave_up.text.endswith(runtime.engine.response("order_status", "en"))
    assert [b.choice for b in gave_up.buttons] == [Control.HUMAN]
    assert awaiting(runtime) is None


def test_slot_a_lapsed_question_is_forgotten_and_the_next_message_is_new(runtime):
    ask(runtime, "where is my order")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="milliseconds")
    runtime.db.execute("UPDATE dialogue_state SET expires_at = ?", [past])
    reply = ask(runtime, "10023")
    assert reply.action == Action.FALLBACK  # not taken as the order number of a question long gone
    assert awaiting(runtime) is None


def test_slot_a_restart_mid_question_continues_it_and_asks_again_for_what_was_personal(runtime):
    ask(runtime, "where is my order")
    ask(runtime, "ann@example.com")  # the verifier, though the order number was asked: held in memory only
    assert awaiting(runtime).slot == "order_id" and awaiting(runtime).filled == {}
    restarted = open_runtime(runtime.config)  # a new process over the same database
    restarted.model.current = runtime.model.current
    try:
        reply = restarted.engine.handle(Incoming("console", "ann", "chat-ann", "10023"))
        assert (reply.action, reply.text) == (Action.ASK, question(restarted, "verifier"))  # the e-mail was never written
        user_id = restarted.engine.messages.user_id_of("console", "ann")
        assert restarted.engine.slots.awaiting(user_id).filled == {"order_id": "10023"}
    finally:
        restarted.close()
    assert "ann@example.com" not in "\n".join(runtime.db.conn.iterdump())


def test_slot_forget_drops_the_question_and_what_memory_held(runtime):
    from bot.usecases import conversation
    from bot.usecases.access import Actor

    ask(runtime, "where is my order")
    ask(runtime, "ann@example.com")
    user_id = runtime.engine.messages.user_id_of("console", "ann")
    counts = conversation.forget(runtime, Actor("console"), "console", "ann")
    assert counts["dialogue_state"] == 1
    assert runtime.engine.slots.dialogue.awaiting(user_id) is None and not runtime.engine.slots._memory


# --- what the shop's answer becomes -------------------------------------------------------------------


def called(runtime):
    reply = ask(runtime, "where is my order 10023, I ordered with ann@example.com")
    assert reply.call is not None
    return reply


def stored_reply(runtime, message_id):
    return runtime.db.execute("SELECT text FROM messages WHERE reply_to = ? ORDER BY id DESC", [message_id]).fetchone()[0]


def test_action_fields_fill_the_intents_template_and_the_stored_reply_is_what_was_sent(runtime):
    reply = called(runtime)
    fields = {"order_id": "10023", "status": "shipped", "shipped_on": "2026-12-01", "carrier": "DHL",
              "tracking_url": "https://track.example/RR123456789CN", "expected_on": "2026-12-09"}
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.OK, fields), 12.5)
    assert final.call is None and final.action == Action.ANSWER
    assert "10023" in final.text and "https://track.example/RR123456789CN" in final.text
    assert [b.choice for b in final.buttons] == [Control.UP, Control.DOWN]
    assert stored_reply(runtime, reply.message_id) == final.text
    row = runtime.db.execute("SELECT endpoint, outcome, latency_ms FROM action_calls").fetchone()
    assert row == ("order_status", "ok", 12.5)


def test_action_a_ready_text_is_sent_as_it_is(runtime):
    reply = called(runtime)
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.OK, text="On its way <b>today</b> & tomorrow"), 3.0)
    assert final.text == "On its way <b>today</b> & tomorrow"  # the channel escapes it for HTML


def test_action_failure_gives_the_static_answer_an_apology_and_a_person_never_the_reason(runtime):
    reply = called(runtime)
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.FAILED, reason="connection refused"), 4000.0)
    assert final.text.startswith(runtime.engine.response("order_status", "en"))
    assert runtime.engine.say("action_failed", "en") in final.text and "refused" not in final.text
    assert Control.HUMAN in [b.choice for b in final.buttons]
    assert runtime.db.execute("SELECT outcome, reason FROM action_calls").fetchone() == ("failed", "connection refused")


def test_action_fields_missing_from_the_answer_count_as_a_failure(runtime):
    reply = called(runtime)
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.OK, {"order_id": "10023"}), 5.0)
    assert runtime.engine.say("action_failed", "en") in final.text


def test_action_not_found_uses_the_shops_wording_or_ours_and_offers_a_person(runtime):
    reply = called(runtime)
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.NOT_FOUND), 5.0)
    assert final.text == runtime.engine.say("action_not_found", "en")
    assert [b.choice for b in final.buttons] == [Control.HUMAN]
    reply = called(runtime)
    assert runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.NOT_FOUND, text="No such order."), 5.0).text == "No such order."


def test_action_handoff_outcome_hands_over_for_real(runtime):
    reply = called(runtime)
    final = runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.HANDOFF, text="That parcel looks lost."), 5.0)
    assert final.action == Action.HANDOFF and final.text.startswith("That parcel looks lost.")
    handoff = runtime.engine.handoffs.get(final.handoff_id)
    assert handoff.reason == HandoffReason.ACTION
    assert handoff.status == HandoffStatus.REQUESTED  # no staff group here: recorded, and the text says so honestly
    assert runtime.engine.say("handoff", "en") in final.text


# --- a crash during the call: its update was released early (bot/channels/delivery.py) ----------------------

SINCE = "2000-01-01T00:00:00"


def on_telegram(runtime, text, update_id):
    return runtime.engine.handle(Incoming("telegram", "ann", "chat-ann", text, None, f"telegram:{update_id}"))


def test_action_a_call_a_crash_cut_short_is_answered_at_the_next_start_as_a_failed_call(runtime):
    reply = on_telegram(runtime, "where is my order 10023, I ordered with ann@example.com", 1)
    assert reply.call is not None  # ...and the process dies while the call is out
    [(chat, sent)] = runtime.engine.interrupted("telegram", SINCE)
    assert chat == "chat-ann" and sent.call is None and sent.message_id == reply.message_id
    assert sent.text.startswith(runtime.engine.response("order_status", "en"))
    assert runtime.engine.say("action_failed", "en") in sent.text and Control.HUMAN in [b.choice for b in sent.buttons]
    assert stored_reply(runtime, reply.message_id) == storable(sent.text, runtime.config.limits.max_text_chars)
    assert runtime.db.execute("SELECT outcome, reason FROM action_calls").fetchone() == (
        "failed", "the bot stopped during the call")
    runtime.engine.messages.mark_answered(sent.message_id)  # the channel sent it
    assert runtime.engine.interrupted("telegram", SINCE) == []
    assert on_telegram(runtime, "where is my order 10023, I ordered with ann@example.com", 1) is None
    assert runtime.engine.unanswered("telegram:1") is None  # a late redelivery is a duplicate


def test_action_an_answer_whose_call_ended_but_was_never_sent_is_sent_as_stored(runtime):
    reply = on_telegram(runtime, "where is my order 10023, I ordered with ann@example.com", 1)
    runtime.engine.fulfilment.complete(reply, ActionResult(Outcome.OK, text="On its way."), 8.0)
    [(chat, sent)] = runtime.engine.interrupted("telegram", SINCE)  # killed before Telegram took it
    assert (chat, sent.text, sent.message_id) == ("chat-ann", "On its way.", reply.message_id)
    assert runtime.db.execute("SELECT outcome FROM action_calls").fetchall() == [("ok",)]  # not called again


def test_action_the_start_leaves_answers_without_a_call_to_telegrams_redelivery(runtime):
    on_telegram(runtime, "how do I reset my password", 1)  # a static answer: its update was never released
    on_telegram(runtime, "where is my order", 2)  # a question for the order number: no call yet
    delivered = on_telegram(runtime, "where is my order 10023, I ordered with ann@example.com", 3)
    runtime.engine.fulfilment.complete(delivered, ActionResult(Outcome.OK, text="On its way."), 8.0)
    runtime.engine.messages.mark_answered(delivered.message_id)
    late = on_telegram(runtime, "where is my order 10023, I ordered with ann@example.com", 4)
    assert late.call is not None
    assert runtime.engine.interrupted("console", SINCE) == []  # another channel's
    assert runtime.engine.interrupted("telegram", "2999-01-01T00:00:00") == []  # older than a day
    assert [r.message_id for _, r in runtime.engine.interrupted("telegram", SINCE)] == [late.message_id]


def test_action_of_an_endpoint_the_shop_did_not_configure_gives_the_static_answer(tmp_path):
    runtime = open_runtime(load_config(write_config(tmp_path)))  # no [actions.endpoints]
    runtime.model.current = FixedRanker(runtime.domain.names, ANSWERS)
    try:
        reply = ask(runtime, "where is my order")
        assert (reply.action, reply.call, reply.text) == (Action.ANSWER, None, runtime.engine.response("order_status", "en"))
    finally:
        runtime.close()


def test_action_a_suggestion_pressed_for_an_intent_with_an_action_asks_for_its_slot(runtime):
    ANSWERS["order or refund"] = {"order_status": 0.4, "refund_status": 0.35}
    reply = ask(runtime, "order or refund")
    assert reply.action == Action.SUGGEST
    pressed = runtime.engine.choose(reply.message_id, "console", "ann", "order_status")
    assert (pressed.action, pressed.text) == (Action.ASK, question(runtime, "order_id"))


def test_action_status_shows_each_endpoints_calls_and_an_open_circuit(runtime):
    from datetime import datetime as dt

    from bot.actions import BreakerState, Circuit
    from bot.summaries import status_text
    from bot.usecases import models
    from bot.usecases.access import Actor

    runtime.engine.fulfilment.complete(called(runtime), ActionResult(Outcome.OK, text="Shipped."), 12.0)
    runtime.engine.fulfilment.complete(called(runtime), ActionResult(Outcome.FAILED, reason="timeout"), 4000.0)
    status = models.status(runtime, Actor("cli:test", admin=True), None, False)
    opened = BreakerState(Circuit.OPEN, 5, dt(2026, 12, 7, 18, 0, tzinfo=UTC))
    text = status_text(status, {"order_status": opened, "refund_status": BreakerState(Circuit.CLOSED, 0, None)})
    assert "Shop system order_status (7 days): 1 failed, 1 ok; median 2006 ms" in text
    assert "SHOP SYSTEM order_status: circuit open after 5 failures in a row until 18:00:00 UTC" in text
    assert "refund_status" not in text  # a closed circuit is nothing to act on


# --- a customer who linked their account through the shop's /start link ------------------------------------


def link(runtime, account="weizhang", user="ann", secret=b"test-secret", expires=None):
    token = make_token(secret, account, expires or int(time.time()) + 600)
    return conversation.link_account(runtime, Actor("console"), "console", user, "en", token)


def test_slot_a_link_not_made_by_the_shop_expired_or_used_twice_links_nothing_and_says_so(runtime, monkeypatch):
    assert link(runtime, secret=b"forged")[1] == "forged"
    assert link(runtime, expires=int(time.time()) - 1)[1] == "expired"
    token = make_token(b"test-secret", "weizhang", int(time.time()) + 600)
    first = conversation.link_account(runtime, Actor("console"), "console", "ann", "en", token)
    again = conversation.link_account(runtime, Actor("console"), "console", "bob", "en", token)  # forwarded to Bob
    assert first == (runtime.engine.say("account_linked", "en"), None)
    assert again == (runtime.engine.say("link_expired", "en"), "used")
    monkeypatch.delenv("SUPPORTBOT_ACTIONS_SECRET")
    assert link(runtime, user="cy")[1] == "forged"  # no secret here: no link can be checked
    bob = runtime.engine.messages.user_id_of("console", "bob")
    assert runtime.engine.fulfilment.accounts.account(bob) is None
    audit = runtime.db.execute("SELECT actor, detail FROM audit WHERE action = 'link-account' ORDER BY id").fetchall()
    assert audit == [("console", "refused: forged"), ("console", "refused: expired"), ("console", ""),
                     ("console", "refused: used"), ("console", "refused: forged")]
    assert not runtime.db.execute("SELECT 1 FROM audit WHERE detail LIKE ?", [f"%{token[:12]}%"]).fetchall()


def test_slot_a_linked_customer_is_not_asked_to_prove_who_they_are_and_the_call_names_the_account(runtime):
    link(runtime)
    reply = ask(runtime, "where is my order 10023")
    assert reply.call is not None and reply.call.account == "weizhang"
    assert dict(reply.call.slots) == {"order_id": "10023"}
    assert ask(runtime, "where is my order 10023", user="bob").text == question(runtime, "verifier")  # not linked


def test_slot_a_linked_customer_asked_for_the_order_picks_one_of_their_recent_orders(runtime):
    link(runtime)
    asked = ask(runtime, "where is my order")
    assert asked.action == Action.ASK and asked.text == question(runtime, "order_id")
    assert (asked.call.endpoint, asked.call.account, dict(asked.call.slots)) == ("recent_orders", "weizhang", {})
    choices = (Choice("10023", "10023 · on its way"), Choice("10017", "10017 · delivered"))
    shown = runtime.engine.fulfilment.complete(asked, ActionResult(Outcome.OK, choices=choices), 3.0)
    assert shown.text == asked.text and shown.call is None
    assert [(b.label, b.choice) for b in shown.buttons] == [("10023 · on its way", f"{SLOT_CHOICE}10023"),
                                                           ("10017 · delivered", f"{SLOT_CHOICE}10017")]
    picked = runtime.engine.choose(asked.message_id, "console", "ann", f"{SLOT_CHOICE}10017")
    assert picked.call is not None and dict(picked.call.slots) == {"order_id": "10017"}
    assert picked.call.endpoint == "order_status" and picked.call.account == "weizhang"
    assert awaiting(runtime) is None


def test_slot_a_recent_order_button_refused_when_forged_or_the_question_is_over(runtime):
    link(runtime)
    asked = ask(runtime, "where is my order")
    runtime.engine.fulfilment.complete(asked, ActionResult(Outcome.OK, choices=(Choice("10023", "10023"),)), 3.0)
    forged = runtime.engine.choose(asked.message_id, "console", "ann", f"{SLOT_CHOICE}10024")  # never offered
    assert forged.action == Action.REFUSED
    ask(runtime, "never mind")
    late = runtime.engine.choose(asked.message_id, "console", "ann", f"{SLOT_CHOICE}10023")
    assert late.action == Action.REFUSED and late.text == runtime.engine.say("choice_expired", "en")


def test_slot_the_recent_orders_failing_leaves_the_question_as_it_is_without_an_apology(runtime):
    link(runtime)
    asked = ask(runtime, "where is my order")
    shown = runtime.engine.fulfilment.complete(asked, ActionResult(Outcome.FAILED, reason="timeout"), 4000.0)
    assert (shown.text, shown.buttons, shown.call) == (asked.text, (), None)
    assert awaiting(runtime).slot == "order_id"  # typing the number still works
    assert ask(runtime, "10023").call.endpoint == "order_status"


def test_slot_forget_removes_the_account_link(runtime):
    link(runtime)
    counts = conversation.forget(runtime, Actor("console"), "console", "ann")
    assert counts["account_links"] == 1
    assert runtime.db.execute("SELECT count(*) FROM account_links").fetchone()[0] == 0
