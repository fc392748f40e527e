"""What became of each answer (bot/outcomes.py), pinned by a ranker of fixed probabilities.

Each message's probabilities are chosen here (tests/test_engine_flows.py), so each test says which
outcome a flow must leave. Real SQLite, the real starter domain (order_status asks for its order
number: its endpoints are configured), the real policy, handoffs and slot filling.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.actions import ActionResult
from bot.actions import Outcome as CallOutcome
from bot.replies import Control, Incoming, Reply
from bot.runtime import open_runtime
from bot.usecases import handoff
from storage.outcomes import Outcome
from storage.privacy import forget, purge
from tests.conftest import write_config
from tests.test_engine_flows import FixedRanker
from tests.test_slot_flows import ENDPOINTS, Answers
from training.config import ConfigError, load_config
from training.policy import Action

ANSWERS = Answers({
    "how do I reset my password": {"reset_password": 0.9},
    "the reset link does not work": {"reset_password": 0.85},
    "how much is shipping": {"shipping_cost": 0.9},
    "thanks!": {"thanks": 0.9},
    "unsure": {"refund_request": 0.45, "return_item": 0.3, "refund_status": 0.15, "out_of_scope": 0.08},
    "a person": {"contact_human": 0.92},
    "where is my order": {"order_status": 0.9},
    "where is my order 10023, I ordered with <EMAIL>": {"order_status": 0.9},  # as stored: redacted
})  # anything else falls back


def runtime_with(tmp_path, extra: str = ""):
    runtime = open_runtime(load_config(write_config(tmp_path, ENDPOINTS + extra)))
    runtime.model.current = FixedRanker(runtime.domain.names, ANSWERS)
    return runtime


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_ACTIONS_SECRET", "test-secret")
    runtime = runtime_with(tmp_path)
    yield runtime
    runtime.close()


def ask(runtime, text, user="ann", key=None):
    return runtime.engine.handle(Incoming("console", user, f"chat-{user}", text, None, key))


def press(runtime, reply, choice, user="ann"):
    return runtime.engine.choose(reply.message_id, "console", user, choice)


def outcomes(runtime) -> dict[int, str | None]:
    """Every row's outcome (None while open), by the message it answered."""
    return dict(runtime.db.execute("SELECT message_id, outcome FROM outcomes ORDER BY message_id").fetchall())


def row(runtime, message_id) -> dict:
    return runtime.db["outcomes"].get(message_id)


def pass_window(runtime, user="ann") -> str:
    """The customer's open row's window has passed (a second ago); returns when it ended."""
    ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="milliseconds")
    runtime.db.execute("UPDATE outcomes SET due_at = ? WHERE outcome IS NULL AND user_id = "
                       "(SELECT id FROM users WHERE external_id = ?)", [ended, user])
    return ended


@pytest.mark.parametrize("key, value", [("window_minutes", "0"), ("window_minutes", "-5"), ("check_seconds", "0")])
def test_a_window_or_a_clock_of_no_time_is_refused_at_load(tmp_path, key, value):
    with pytest.raises(ConfigError, match=rf"\[outcomes\] {key} must be above 0, got"):
        load_config(write_config(tmp_path, f"\n[outcomes]\n{key} = {value}\n"))


# --- what comes next decides ------------------------------------------------------------------------


def test_a_fallback_is_decided_at_once_and_makes_the_answer_before_it_a_rephrase(runtime):
    answer = ask(runtime, "how do I reset my password")
    lost = ask(runtime, "blah blah")
    assert lost.action == Action.FALLBACK
    assert outcomes(runtime) == {answer.message_id: Outcome.REPHRASED, lost.message_id: Outcome.FALLBACK}
    assert row(runtime, lost.message_id)["intent"] == "out_of_scope"
    assert row(runtime, lost.message_id)["decided_at"] == row(runtime, lost.message_id)["answered_at"]


@pytest.mark.parametrize("first, again", [
    ("how do I reset my password", "the reset link does not work"),
    ("where is my order 10023, I ordered with ann@example.com", "where is my order"),  # not a reply: nothing was asked
])
def test_the_same_intent_again_within_the_window_is_a_rephrase(runtime, first, again):
    first, again = ask(runtime, first), ask(runtime, again)
    assert outcomes(runtime) == {first.message_id: Outcome.REPHRASED, again.message_id: None}


def test_suggestions_of_another_intent_are_a_rephrase_the_bot_was_not_sure_the_customer_moved_on(runtime):
    first = ask(runtime, "how do I reset my password")
    unsure = ask(runtime, "unsure")
    assert unsure.action == Action.SUGGEST
    assert outcomes(runtime) == {first.message_id: Outcome.REPHRASED, unsure.message_id: None}


def test_another_intent_answered_confidently_resolves_the_answer_before_it(runtime):
    first = ask(runtime, "how do I reset my password")
    thanks = ask(runtime, "thanks!")
    shipping = ask(runtime, "how much is shipping")
    assert outcomes(runtime) == {first.message_id: Outcome.RESOLVED, thanks.message_id: Outcome.RESOLVED,
                                 shipping.message_id: None}


def test_thumbs_down_decides_the_answer_and_thumbs_up_resolves_one(runtime):
    down = ask(runtime, "how do I reset my password")
    press(runtime, down, Control.DOWN)
    up = ask(runtime, "how much is shipping")
    press(runtime, up, Control.UP)
    assert outcomes(runtime) == {down.message_id: Outcome.THUMBS_DOWN, up.message_id: Outcome.RESOLVED}
    assert (row(runtime, down.message_id)["rating"], row(runtime, up.message_id)["rating"]) == (0, 1)


def test_a_rating_after_the_row_was_decided_is_kept_but_changes_no_outcome(runtime):
    first = ask(runtime, "how do I reset my password")
    ask(runtime, "thanks!")  # moved on: the first answer is resolved
    press(runtime, first, Control.DOWN)
    assert row(runtime, first.message_id)["outcome"] == Outcome.RESOLVED
    assert row(runtime, first.message_id)["rating"] == 0


def test_asking_for_a_person_after_an_answer_makes_that_answer_and_the_request_handoffs(runtime):
    first = ask(runtime, "how do I reset my password")
    person = ask(runtime, "a person")
    assert person.action == Action.HANDOFF
    assert outcomes(runtime) == {first.message_id: Outcome.HANDOFF, person.message_id: Outcome.HANDOFF}


def test_human_command_and_the_person_button_decide_the_open_answer_as_handoff(runtime):
    first = ask(runtime, "how do I reset my password")
    runtime.engine.ask_for_person(Incoming("console", "ann", "chat-ann", "/human"))
    unsure = ask(runtime, "unsure", user="bo")
    press(runtime, unsure, Control.HUMAN, user="bo")
    assert outcomes(runtime) == {first.message_id: Outcome.HANDOFF, unsure.message_id: Outcome.HANDOFF}


def test_with_handoff_switched_off_asking_for_a_person_still_counts_as_one(tmp_path):
    runtime = runtime_with(tmp_path, "\n[handoff]\non_request = false\non_command = false\n")
    try:
        first = ask(runtime, "how do I reset my password")
        runtime.engine.ask_for_person(Incoming("console", "ann", "chat-ann", "/human"))  # the shop's contact only
        assert runtime.db["handoffs"].count == 0
        assert outcomes(runtime) == {first.message_id: Outcome.HANDOFF}
    finally:
        runtime.close()


def test_fallbacks_that_hand_over_stay_fallbacks_the_bot_could_not_answer_them(runtime):
    first, second = ask(runtime, "blah"), ask(runtime, "blah blah")  # [handoff] fallbacks_in_a_row = 2
    assert second.action == Action.HANDOFF and runtime.db["handoffs"].count == 1
    assert outcomes(runtime) == {first.message_id: Outcome.FALLBACK, second.message_id: Outcome.FALLBACK}


def test_the_shops_system_handing_over_makes_the_answer_a_handoff(runtime):
    reply = ask(runtime, "where is my order 10023, I ordered with ann@example.com")
    assert reply.call is not None and outcomes(runtime) == {reply.message_id: None}
    runtime.engine.fulfilment.complete(reply, ActionResult(CallOutcome.HANDOFF, text="That parcel looks lost."), 5.0)
    assert outcomes(runtime) == {reply.message_id: Outcome.HANDOFF}


# --- the window -----------------------------------------------------------------------------------


def test_the_clock_resolves_only_rows_whose_window_passed_as_of_when_it_passed(runtime):
    ann, bo = ask(runtime, "how do I reset my password"), ask(runtime, "how much is shipping", user="bo")
    ended = pass_window(runtime, "ann")
    assert runtime.engine.outcomes.expire() == 1
    assert outcomes(runtime) == {ann.message_id: Outcome.RESOLVED, bo.message_id: None}
    assert row(runtime, ann.message_id)["decided_at"] == ended
    assert runtime.engine.outcomes.expire() == 0  # decided once


def test_a_message_after_the_window_finds_the_answer_resolved_not_rephrased(runtime):
    first = ask(runtime, "how do I reset my password")
    ended = pass_window(runtime)
    again = ask(runtime, "the reset link does not work")
    assert outcomes(runtime) == {first.message_id: Outcome.RESOLVED, again.message_id: None}
    assert row(runtime, first.message_id)["decided_at"] == ended


def test_a_rating_after_the_window_finds_the_answer_resolved(runtime):
    first = ask(runtime, "how do I reset my password")
    pass_window(runtime)
    press(runtime, first, Control.DOWN)
    assert (row(runtime, first.message_id)["outcome"], row(runtime, first.message_id)["rating"]) == (Outcome.RESOLVED, 0)


# --- exchanges of more than one message -------------------------------------------------------------


def test_a_suggestion_chosen_is_the_answer_and_the_window_starts_again(runtime):
    unsure = ask(runtime, "unsure")
    before = row(runtime, unsure.message_id)
    time.sleep(0.01)  # timestamps are to the millisecond: both in one millisecond would be equal
    press(runtime, unsure, "return_item")
    after = row(runtime, unsure.message_id)
    assert (after["outcome"], after["intent"], before["intent"]) == (None, "return_item", "refund_request")
    assert after["due_at"] > before["due_at"] and after["answered_at"] == before["answered_at"]
    thanks = ask(runtime, "thanks!")
    assert outcomes(runtime) == {unsure.message_id: Outcome.RESOLVED, thanks.message_id: None}


def test_a_question_for_an_action_and_the_customers_reply_are_one_exchange(runtime):
    asked = ask(runtime, "where is my order")
    assert asked.action == Action.ASK and row(runtime, asked.message_id)["asked"] == 1
    number = ask(runtime, "it's 10023")  # the model falls back on a bare number: the bot asks for the verifier
    assert number.action == Action.ASK
    called = ask(runtime, "ann@example.com")
    assert called.call is not None
    assert outcomes(runtime) == {asked.message_id: None}  # no rows of their own, not rephrases
    assert (row(runtime, asked.message_id)["intent"], row(runtime, asked.message_id)["asked"]) == ("order_status", 0)
    press(runtime, called, Control.UP)
    assert outcomes(runtime) == {asked.message_id: Outcome.RESOLVED}


def test_calling_off_the_bots_question_resolves_it(runtime):
    asked = ask(runtime, "where is my order")
    assert ask(runtime, "never mind").action == Action.CANCELLED
    assert outcomes(runtime) == {asked.message_id: Outcome.RESOLVED}


# --- what gets no row ---------------------------------------------------------------------------


def test_messages_the_model_never_saw_get_no_row_and_decide_nothing(runtime):
    first = ask(runtime, "how do I reset my password")
    assert ask(runtime, "где мой заказ").action == Action.UNSUPPORTED
    assert ask(runtime, "!!!").action == Action.EMPTY
    runtime.model.current = None
    assert ask(runtime, "how much is shipping").action == Action.UNAVAILABLE
    assert outcomes(runtime) == {first.message_id: None}


def test_messages_relayed_to_a_person_are_not_answered_by_the_bot(tmp_path):
    runtime = runtime_with(tmp_path, "\n[handoff]\nstaff_chat_id = -1002000000001\n")
    try:
        handoff.connect_staff(runtime, "console")
        asked = ask(runtime, "a person")
        handoff.opened(runtime, asked.handoff_id, 77, "#1 · Ann · en · contact_human")
        assert ask(runtime, "how do I reset my password").action == Action.RELAY
        assert outcomes(runtime) == {asked.message_id: Outcome.HANDOFF}
    finally:
        runtime.close()


# --- restarts, redeliveries, the arm ----------------------------------------------------------------


def test_a_restart_keeps_the_open_row_and_the_next_message_decides_it(runtime):
    first = ask(runtime, "how do I reset my password")
    restarted = open_runtime(runtime.config)  # a new process over the same database
    restarted.model.current = runtime.model.current
    try:
        again = ask(restarted, "the reset link does not work")
        assert outcomes(restarted) == {first.message_id: Outcome.REPHRASED, again.message_id: None}
        pass_window(restarted)
        assert restarted.engine.outcomes.expire() == 1
    finally:
        restarted.close()


def test_a_redelivered_update_and_a_second_press_count_once(runtime):
    first = ask(runtime, "how do I reset my password", key="telegram:1")
    assert ask(runtime, "how do I reset my password", key="telegram:1") is None
    press(runtime, first, Control.UP)
    assert press(runtime, first, Control.DOWN).action == Action.REFUSED
    assert outcomes(runtime) == {first.message_id: Outcome.RESOLVED}
    assert row(runtime, first.message_id)["rating"] == 1


def test_each_row_keeps_the_model_version_and_the_arm_that_answered(runtime):
    stored = runtime.engine.record(Incoming("console", "ann", "chat-ann", "how much is shipping"))
    reply = Reply("…", stored.id, action=Action.ANSWER, intent="shipping_cost")
    runtime.engine.outcomes.replied(stored, reply, {"model_version": "v2", "action": Action.ANSWER, "arm": "candidate"})
    plain = ask(runtime, "how do I reset my password", user="bo")
    assert (row(runtime, stored.id)["model_version"], row(runtime, stored.id)["arm"]) == ("v2", "candidate")
    assert (row(runtime, plain.message_id)["model_version"], row(runtime, plain.message_id)["arm"]) == ("fixed-1", None)
    assert row(runtime, plain.message_id)["language"] == "en"


# --- erasure ------------------------------------------------------------------------------------


def test_forget_and_the_retention_purge_delete_outcome_rows(runtime):
    ask(runtime, "how do I reset my password")
    bo = ask(runtime, "how much is shipping", user="bo")
    assert forget(runtime.db, "console", "ann")["outcomes"] == 1
    assert outcomes(runtime) == {bo.message_id: None}
    runtime.db.execute("UPDATE messages SET created_at = '2000-01-01T00:00:00.000+00:00'")
    assert purge(runtime.db, 30, keep_labels=True)["outcomes"] == 1
    assert outcomes(runtime) == {}
