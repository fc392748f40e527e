"""When the engine hands a conversation to a person, and what the customer is told, pinned by a ranker
of fixed probabilities (tests/test_engine_flows.py): each trigger, each switch, honest texts."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.replies import Control, Incoming
from bot.runtime import open_runtime
from bot.usecases import conversation
from bot.usecases import handoff as usecase
from storage.handoffs import HandoffReason, HandoffStatus
from tests.conftest import write_config
from tests.test_engine_flows import ANSWERS, FixedRanker
from training.config import load_config
from training.policy import Action


def runtime_with(tmp_path, handoff: str = ""):
    config = load_config(write_config(tmp_path, f"\n[handoff]\n{handoff}\n"))
    runtime = open_runtime(config)
    runtime.model.current = FixedRanker(runtime.domain.names, ANSWERS)
    return runtime


@pytest.fixture
def runtime(tmp_path):
    runtime = runtime_with(tmp_path)
    yield runtime
    runtime.close()


@pytest.fixture
def staffed(tmp_path):
    """A runtime whose console channel counts as connected to a staff group."""
    runtime = runtime_with(tmp_path, "staff_chat_id = -1002000000001")
    usecase.connect_staff(runtime, "console")
    yield runtime
    runtime.close()


def ask(runtime, text, user="ann"):
    return runtime.engine.handle(Incoming("console", user, f"chat-{user}", text))


def only_handoff(runtime):
    [row] = runtime.db["handoffs"].rows
    return row


def test_one_fallback_is_not_a_handoff_and_an_answer_in_between_resets_the_count(runtime):
    assert ask(runtime, "lost").action == Action.FALLBACK
    assert ask(runtime, "sure").action == Action.ANSWER
    assert ask(runtime, "lost").action == Action.FALLBACK
    assert runtime.db["handoffs"].count == 0


def test_two_fallbacks_in_a_row_hand_over_and_without_staff_the_customer_gets_the_contact(runtime):
    ask(runtime, "lost")
    reply = ask(runtime, "off topic")
    assert reply.action == Action.HANDOFF and reply.handoff_id is not None
    assert reply.text == runtime.engine.say("handoff", "en")  # honest: nobody is connected
    row = only_handoff(runtime)
    assert (row["reason"], row["status"]) == (HandoffReason.FALLBACKS, HandoffStatus.REQUESTED)
    assert row["question_id"] == reply.message_id


def test_the_fallback_count_starts_again_after_a_handoff(runtime):
    ask(runtime, "lost")
    first = ask(runtime, "lost")
    assert first.action == Action.HANDOFF
    assert ask(runtime, "lost").action == Action.FALLBACK  # the requested handoff closed the streak
    assert runtime.db["handoffs"].count == 1


def test_fallbacks_of_another_customer_do_not_count(runtime):
    ask(runtime, "lost", user="ann")
    assert ask(runtime, "lost", user="bob").action == Action.FALLBACK


def test_two_thumbs_down_in_a_row_hand_over(runtime):
    first, second = ask(runtime, "sure"), ask(runtime, "sure, with runners-up")
    assert runtime.engine.choose(first.message_id, "console", "ann", Control.DOWN).action == Action.SUGGEST
    reply = runtime.engine.choose(second.message_id, "console", "ann", Control.DOWN)
    assert reply.action == Action.HANDOFF
    assert only_handoff(runtime)["reason"] == HandoffReason.THUMBS_DOWN


def test_the_person_button_hands_over_with_the_question_and_the_bots_guess(staffed):
    unsure = ask(staffed, "unsure")
    reply = staffed.engine.choose(unsure.message_id, "console", "ann", Control.HUMAN)
    assert reply.action == Action.HANDOFF
    assert reply.text == staffed.engine.handover.notice("en")
    row = only_handoff(staffed)
    assert (row["reason"], row["status"]) == (HandoffReason.BUTTON, HandoffStatus.OPENING)
    assert (row["question_id"], row["proposed_intent"]) == (unsure.message_id, "refund_request")


def test_asking_for_a_person_proposes_the_question_asked_before(staffed):
    unsure = ask(staffed, "unsure")
    asked = ask(staffed, "a person")
    assert asked.action == Action.HANDOFF
    row = only_handoff(staffed)
    assert (row["reason"], row["question_id"], row["proposed_intent"]) == (HandoffReason.ASKED, unsure.message_id,
                                                                           "refund_request")


def test_until_the_topic_is_open_the_model_answers_and_once_open_it_steps_back(staffed):
    reply = ask(staffed, "a person")
    assert ask(staffed, "sure").action == Action.ANSWER  # OPENING: nobody holds it yet
    usecase.opened(staffed, reply.handoff_id, 77, "#1 · Ann · en · contact_human")
    held = ask(staffed, "sure")
    assert held.action == Action.RELAY and held.handoff_id == reply.handoff_id and held.text == ""
    assert staffed.engine.messages.prediction(held.message_id) is None  # the model was not asked
    assert usecase.customer_relay(staffed, held).thread_id == 77


def test_a_press_on_an_old_person_button_while_held_says_so(staffed):
    unsure = ask(staffed, "unsure")
    asked = ask(staffed, "a person")
    usecase.opened(staffed, asked.handoff_id, 77, "t")
    reply = staffed.engine.choose(unsure.message_id, "console", "ann", Control.HUMAN)
    assert reply.text == staffed.engine.say("handoff_already", "en")
    assert staffed.db["handoffs"].count == 1


def test_each_trigger_can_be_switched_off(tmp_path):
    runtime = runtime_with(tmp_path, "on_request = false\non_button = false\nfallbacks_in_a_row = 0\n"
                                     "thumbs_down_in_a_row = 0\non_command = false")
    try:
        assert ask(runtime, "a person").text == runtime.engine.say("handoff", "en")
        assert Control.HUMAN not in [b.choice for b in ask(runtime, "unsure").buttons]
        assert [ask(runtime, "lost").action for _ in range(3)] == [Action.FALLBACK] * 3
        human = runtime.engine.ask_for_person(Incoming("console", "ann", "chat-ann", "/human"))
        assert human.action == Action.HANDOFF and human.handoff_id is None
        assert runtime.db["handoffs"].count == 0
    finally:
        runtime.close()


def test_out_of_hours_the_customer_is_told_when_staff_are_back(tmp_path):
    runtime = runtime_with(tmp_path, 'staff_chat_id = -1002000000001\nhours = ["mon 09:00-10:00"]')
    try:
        tuesday = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        notice = runtime.engine.handover.notice("en", tuesday)
        assert notice == runtime.engine.say("handoff_after_hours", "en", back="Monday 09:00")
        monday = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
        assert runtime.engine.handover.notice("en", monday) == runtime.engine.say("handoff_passed", "en", eta="")
    finally:
        runtime.close()


def test_a_redelivered_handoff_message_is_announced_again_not_handed_over_twice(staffed):
    message = Incoming("console", "ann", "chat-ann", "a person", external_key="console:1")
    first = staffed.engine.handle(message)
    assert staffed.engine.handle(message) is None
    again = staffed.engine.unanswered("console:1")
    assert (again.action, again.handoff_id, again.text) == (Action.HANDOFF, first.handoff_id, first.text)
    assert staffed.db["handoffs"].count == 1


def test_forget_during_a_handoff_leaves_no_row_of_the_customer(staffed):
    """Their handoff, topic, relay records and the staff's replies to them go; other customers' stay."""
    asked = ask(staffed, "a person")
    ask(staffed, "a person", user="bob")
    usecase.opened(staffed, asked.handoff_id, 77, "#1 · Ann · en · contact_human")
    held = ask(staffed, "sure")
    usecase.relayed(staffed, usecase.customer_relay(staffed, held), 501, from_staff=False)
    staff = usecase.Actor("telegram:9")
    relay = usecase.staff_message(staffed, -1002000000001, 77, staff, "hello Ann", "telegram:900")
    usecase.relayed(staffed, relay, 12, from_staff=True)
    assert usecase.staff_topic(staffed, "console", "ann") == (-1002000000001, 77)
    conversation.forget(staffed, usecase.Actor("console"), "console", "ann")
    assert usecase.staff_topic(staffed, "console", "ann") is None
    assert [r["user_id"] for r in staffed.db["handoffs"].rows] == [staffed.engine.messages.user_id_of("console", "bob")]
    assert staffed.db["relays"].count == 0 and staffed.db["staff_topics"].count == 0
    assert not [r for r in staffed.db["messages"].rows if "Ann" in r["text"] or r["author"]]
    assert usecase.staff_message(staffed, -1002000000001, 77, staff, "still there?", "telegram:901") is None


def test_a_staff_reply_is_stored_once_and_a_redelivery_of_an_undelivered_one_is_sent_again(staffed):
    asked = ask(staffed, "a person")
    usecase.opened(staffed, asked.handoff_id, 77, "t")
    staff = usecase.Actor("telegram:9")
    first = usecase.staff_message(staffed, -1002000000001, 77, staff, "call me at +44 20 7946 0000", "telegram:900")
    again = usecase.staff_message(staffed, -1002000000001, 77, staff, "call me at +44 20 7946 0000", "telegram:900")
    assert first == again  # not delivered yet: the redelivery sends it
    usecase.relayed(staffed, first, 12, from_staff=True)
    assert usecase.staff_message(staffed, -1002000000001, 77, staff, "x", "telegram:900") is None
    row = staffed.db["messages"].get(first.message_id)
    assert row["author"] == "telegram:9" and "7946" not in row["text"]  # stored redacted
    assert staffed.engine.handoffs.get(asked.handoff_id).first_reply_at is not None


def test_staff_resolve_with_the_proposed_intent_labels_the_question_and_the_bot_answers_again(staffed):
    unsure = ask(staffed, "unsure")
    asked = ask(staffed, "a person")
    usecase.opened(staffed, asked.handoff_id, 77, "t")
    staff = usecase.Actor("telegram:9")
    assert usecase.claim(staffed, staff, -1002000000001, 77, asked.handoff_id, "Sam").customer_text == \
        staffed.engine.say("handoff_claimed", "en", name="Sam")
    change = usecase.resolve(staffed, staff, -1002000000001, 77, asked.handoff_id, "refund_request")
    assert change.customer_text == staffed.engine.say("handoff_resolved", "en")
    [label] = staffed.db["labels"].rows_where("source = 'staff'")
    assert (label["message_id"], label["intent"], label["labelled_by"]) == (unsure.message_id, "refund_request", "telegram:9")
    assert usecase.resolve(staffed, staff, -1002000000001, 77, asked.handoff_id) is None  # over: refused
    assert ask(staffed, "sure").action == Action.ANSWER
    actions = [r["action"] for r in staffed.db["audit"].rows]
    assert actions == ["handoff-claim", "handoff-resolve", "handoff-resolve"]


def test_a_label_for_an_unknown_intent_is_refused_and_a_second_label_replaces_the_first(staffed):
    asked = ask(staffed, "a person")
    usecase.opened(staffed, asked.handoff_id, 77, "t")
    staff = usecase.Actor("telegram:9")
    with pytest.raises(ValueError):
        usecase.label(staffed, staff, -1002000000001, 77, "no_such_intent")
    usecase.label(staffed, staff, -1002000000001, 77, "order_status")
    usecase.label(staffed, staff, -1002000000001, 77, "refund_status")
    assert [r["intent"] for r in staffed.db["labels"].rows_where("source = 'staff'")] == ["refund_status"]


def test_timeouts_ping_once_and_release_an_idle_conversation(staffed):
    asked = ask(staffed, "a person")
    usecase.opened(staffed, asked.handoff_id, 77, "t")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)
    [ping] = usecase.due(staffed, later).pings
    assert ping.customer_text == staffed.engine.say("handoff_slow", "en")
    assert usecase.due(staffed, later).pings == ()
    [release] = usecase.due(staffed, later + timedelta(hours=25)).releases
    assert release.customer_text == staffed.engine.say("handoff_released", "en")
    assert ask(staffed, "sure").action == Action.ANSWER
