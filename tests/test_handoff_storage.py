"""Handoffs on real SQLite files: one under way per customer, state changes only from the state they
follow, the streaks that trigger a handoff, what staff are shown, the figures, and erasure.

Refusals come first. Times a test depends on are written into the rows (as storage.db.now writes them),
never waited for.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.db import open_db
from storage.feedback import Feedback
from storage.handoffs import ACTIVE, HELD, Handoff, HandoffReason, Handoffs, HandoffStatus
from storage.labels import Labels, LabelSource
from storage.messages import Direction, Messages, StoredMessage
from storage.privacy import forget, purge

STAFF_CHAT = "-1001234567890"
CUSTOMER = "5550123"  # Anna's Telegram id: looked for in every row after /forget
STAFF = "telegram:9001"


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "var" / "t.db")
    yield db
    db.close()


@pytest.fixture
def handoffs(db) -> Handoffs:
    return Handoffs(db)


def says(db, text: str, action: str = "answer", user: str = CUSTOMER, intent: str = "order_status") -> StoredMessage:
    """A customer's message and the bot's answer with its prediction, as the engine stores them."""
    messages = Messages(db)
    stored = messages.add_incoming(channel="telegram", user=user, chat_id=user, text=text, language="en")
    messages.add_reply(stored, f"answer to {text}", {"model_version": "v1", "intent": intent, "confidence": 0.42,
                                                    "topk": [(intent, 0.42)], "action": action})
    return stored


def request(handoffs: Handoffs, message: StoredMessage, reason=HandoffReason.ASKED, routed: bool = True) -> Handoff:
    return handoffs.request(user_id=message.user_id, channel=message.channel, chat_id=message.chat_id, reason=reason,
                            message_id=message.id, question_id=message.id, proposed_intent="refund_request",
                            routed=routed)


def held(handoffs: Handoffs, message: StoredMessage, thread_id: int = 7, name: str = "Anna") -> Handoff:
    """A handoff in the staff topic `thread_id`, nobody on it yet."""
    handoff = request(handoffs, message)
    handoffs.opened(handoff.id, STAFF_CHAT, thread_id, f"#{message.user_id} · {name} · en · refund_request")
    return handoffs.get(handoff.id)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def set_times(db, handoff_id: int, **times: datetime) -> None:
    for column, at in times.items():
        db.execute(f"UPDATE handoffs SET {column} = ? WHERE id = ?", [iso(at), handoff_id])


# --- one handoff under way per customer, state changes from the right state only ---------------


def test_a_second_request_while_one_is_under_way_returns_that_one_unchanged(db, handoffs):
    first = held(handoffs, says(db, "I want a refund", "handoff"))
    again = request(handoffs, says(db, "hello??", "fallback"), HandoffReason.FALLBACKS)
    assert again == first
    assert db["handoffs"].count == 1


def test_a_request_while_one_is_opening_returns_it_and_one_after_the_end_is_new(db, handoffs):
    opening = request(handoffs, says(db, "a person please", "handoff"))
    assert request(handoffs, says(db, "hello?")).id == opening.id
    assert handoffs.close(opening.id, HandoffStatus.RELEASED, STAFF)
    later = request(handoffs, says(db, "a person again", "handoff"), HandoffReason.COMMAND)
    assert later.id != opening.id and later.status is HandoffStatus.OPENING and later.reason is HandoffReason.COMMAND


def test_the_database_refuses_a_second_active_handoff_whatever_the_caller(db, handoffs):
    first = request(handoffs, says(db, "a person please", "handoff"))
    row = {k: v for k, v in db["handoffs"].get(first.id).items() if k != "id"}
    with pytest.raises(sqlite3.IntegrityError):
        db["handoffs"].insert(row)


def test_without_a_staff_group_a_request_is_recorded_closed_and_does_not_hold_the_conversation(db, handoffs):
    message = says(db, "a person please", "handoff")
    handoff = request(handoffs, message, routed=False)
    assert handoff.status is HandoffStatus.REQUESTED and handoff.closed_at is not None
    assert handoffs.active(message.user_id) is None and handoffs.held(message.user_id) is None
    assert handoffs.for_message(message.id) == handoff
    handoffs.opened(handoff.id, STAFF_CHAT, 7, "title")  # no staff group took it: nothing to open
    assert handoffs.get(handoff.id).status is HandoffStatus.REQUESTED and handoffs.topic(message.user_id) is None
    assert not handoffs.claim(handoff.id, STAFF, "Sam")
    assert not handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)


def test_state_changes_from_the_wrong_state_are_refused(db, handoffs):
    message = says(db, "a person please", "handoff")
    handoff = request(handoffs, message)
    assert not handoffs.claim(handoff.id, STAFF, "Sam")  # not in a topic yet: nobody can be on it
    handoffs.opened(handoff.id, STAFF_CHAT, 7, "title")
    handoffs.opened(handoff.id, STAFF_CHAT, 99, "another")  # a redelivered opening changes nothing
    handoffs.failed(handoff.id, "too late to fail")
    assert (handoffs.get(handoff.id).status, handoffs.get(handoff.id).thread_id) == (HandoffStatus.OPEN, 7)
    assert handoffs.topic(message.user_id).title == "title"
    with pytest.raises(ValueError, match="resolved or released"):
        handoffs.close(handoff.id, HandoffStatus.OPEN, STAFF)
    assert handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)
    assert not handoffs.close(handoff.id, HandoffStatus.RELEASED, "timeout")  # a late button or the clock
    assert not handoffs.claim(handoff.id, "telegram:9002", "Kim")
    closed = handoffs.get(handoff.id)
    assert (closed.status, closed.closed_by, closed.claimed_by) == (HandoffStatus.RESOLVED, STAFF, None)


def test_an_opening_that_failed_is_closed_with_its_note_and_cannot_be_opened(db, handoffs):
    handoff = request(handoffs, says(db, "a person please", "handoff"))
    handoffs.failed(handoff.id, "Bad Request: the chat is not a forum")
    handoffs.opened(handoff.id, STAFF_CHAT, 7, "title")
    failed = handoffs.get(handoff.id)
    assert (failed.status, failed.note, failed.thread_id) == (HandoffStatus.FAILED, "Bad Request: the chat is not a forum", None)
    assert failed.closed_at is not None and handoffs.active(failed.user_id) is None


def test_unknown_ids_find_nothing(db, handoffs):
    assert handoffs.get(None) is None and handoffs.get(404) is None
    assert handoffs.for_message(404) is None and handoffs.topic(404) is None
    assert handoffs.relayed_message(STAFF_CHAT, 404) is None
    assert not handoffs.claim(404, STAFF, "Sam") and not handoffs.close(404, HandoffStatus.RESOLVED, STAFF)


def test_by_thread_finds_only_the_held_handoff_of_that_topic(db, handoffs):
    message = says(db, "a person please", "handoff")
    opening = request(handoffs, message)
    assert handoffs.by_thread(STAFF_CHAT, 7) is None  # no topic yet
    handoffs.opened(opening.id, STAFF_CHAT, 7, "title")
    assert handoffs.by_thread(STAFF_CHAT, 7).id == opening.id
    assert handoffs.by_thread(STAFF_CHAT, 8) is None and handoffs.by_thread("-100999", 7) is None
    handoffs.claim(opening.id, STAFF, "Sam")
    assert handoffs.by_thread(STAFF_CHAT, 7).status is HandoffStatus.CLAIMED
    handoffs.close(opening.id, HandoffStatus.RESOLVED, STAFF)
    assert handoffs.by_thread(STAFF_CHAT, 7) is None  # staff can no longer write to the customer


def test_a_claim_can_be_taken_over_and_names_who_helps(db, handoffs):
    handoff = held(handoffs, says(db, "a person please", "handoff"))
    assert handoffs.claim(handoff.id, STAFF, "Sam")
    assert handoffs.claim(handoff.id, "telegram:9002", "Kim")
    claimed = handoffs.get(handoff.id)
    assert (claimed.status, claimed.claimed_by, claimed.claimed_name) == (HandoffStatus.CLAIMED, "telegram:9002", "Kim")
    assert claimed.status in HELD and claimed.status in ACTIVE


def test_the_topic_is_closed_with_the_handoff_and_reused_next_time(db, handoffs):
    message = says(db, "a person please", "handoff")
    first = held(handoffs, message, thread_id=7)
    created = db["staff_topics"].get(message.user_id)["created_at"]
    handoffs.close(first.id, HandoffStatus.RELEASED, STAFF)
    assert handoffs.topic(message.user_id).closed
    second = request(handoffs, says(db, "a person again", "handoff"))
    handoffs.opened(second.id, STAFF_CHAT, 7, "#1 · Anna · en · cancel_order")
    topic = handoffs.topic(message.user_id)
    assert (topic.thread_id, topic.title, topic.closed) == (7, "#1 · Anna · en · cancel_order", False)
    assert db["staff_topics"].count == 1 and db["staff_topics"].get(message.user_id)["created_at"] == created


# --- the clock -----------------------------------------------------------------------------------


def test_pings_are_due_once_for_held_handoffs_nobody_answered(db, handoffs):
    start = datetime.now(UTC) - timedelta(hours=1)
    waiting = held(handoffs, says(db, "a person please", "handoff"))
    answered = held(handoffs, says(db, "me too", "handoff", user="bob"), thread_id=8)
    opening = request(handoffs, says(db, "and me", "handoff", user="cat"))
    for handoff in (waiting, answered, opening):
        set_times(db, handoff.id, opened_at=start)
    handoffs.replied(answered.id)
    assert handoffs.due_pings(iso(start)) == []  # opened at that moment, not before it
    assert [h.id for h in handoffs.due_pings(iso(start + timedelta(minutes=15)))] == [waiting.id]
    handoffs.pinged(waiting.id)
    assert handoffs.due_pings(iso(start + timedelta(minutes=15))) == []


def test_idle_finds_held_handoffs_with_nothing_said_since(db, handoffs):
    quiet = held(handoffs, says(db, "a person please", "handoff"))
    busy = held(handoffs, says(db, "me too", "handoff", user="bob"), thread_id=8)
    day_ago = datetime.now(UTC) - timedelta(hours=25)
    set_times(db, quiet.id, last_activity_at=day_ago)
    set_times(db, busy.id, last_activity_at=day_ago)
    handoffs.touch(busy.id)
    assert [h.id for h in handoffs.idle(iso(datetime.now(UTC) - timedelta(hours=24)))] == [quiet.id]
    handoffs.close(quiet.id, HandoffStatus.RELEASED, "timeout")
    assert handoffs.idle(iso(datetime.now(UTC) - timedelta(hours=24))) == []


def test_the_first_reply_is_kept_and_later_replies_only_touch(db, handoffs):
    handoff = held(handoffs, says(db, "a person please", "handoff"))
    handoffs.replied(handoff.id)
    first = handoffs.get(handoff.id).first_reply_at
    set_times(db, handoff.id, last_activity_at=datetime.now(UTC) - timedelta(hours=2))
    handoffs.replied(handoff.id)
    again = handoffs.get(handoff.id)
    assert again.first_reply_at == first and again.last_activity_at >= first


# --- the streaks that hand a conversation over ---------------------------------------------------


def test_fallbacks_in_a_row_stop_at_a_message_the_bot_answered(db, handoffs):
    first = says(db, "blorp", "fallback")
    assert handoffs.fallbacks_in_a_row(first.user_id) == 1
    says(db, "where is my order")
    assert handoffs.fallbacks_in_a_row(first.user_id) == 0
    says(db, "zzz", "fallback")
    says(db, "qqq", "fallback")
    says(db, "hello", "fallback", user="bob")  # someone else's do not count
    assert handoffs.fallbacks_in_a_row(first.user_id) == 2
    assert handoffs.fallbacks_in_a_row(404) == 0


def test_fallbacks_in_a_row_start_again_after_a_handoff(db, handoffs):
    says(db, "blorp", "fallback")
    trigger = says(db, "zzz", "fallback")
    handoff = held(handoffs, trigger)  # same millisecond or not, the message that led to it is not counted
    assert handoffs.fallbacks_in_a_row(trigger.user_id) == 0
    handoffs.close(handoff.id, HandoffStatus.RELEASED, STAFF)
    assert handoffs.fallbacks_in_a_row(trigger.user_id) == 0
    says(db, "qqq", "fallback")
    assert handoffs.fallbacks_in_a_row(trigger.user_id) == 1


def test_a_request_without_staff_also_starts_the_streak_again(db, handoffs):
    says(db, "blorp", "fallback")
    request(handoffs, says(db, "zzz", "fallback"), HandoffReason.FALLBACKS, routed=False)
    says(db, "qqq", "fallback")
    assert handoffs.fallbacks_in_a_row(handoffs.get(1).user_id) == 1


def test_thumbs_down_in_a_row_stop_at_a_thumbs_up_and_start_again_after_a_handoff(db, handoffs):
    feedback = Feedback(db)
    a, b, c, d = (says(db, text) for text in ("one", "two", "three", "four"))
    feedback.add(a.id, False)
    feedback.add(b.id, True)
    assert handoffs.thumbs_down_in_a_row(a.user_id) == 0
    feedback.add(c.id, False)
    feedback.add(d.id, False)
    assert handoffs.thumbs_down_in_a_row(a.user_id) == 2
    handoff = request(handoffs, d, HandoffReason.THUMBS_DOWN)
    assert handoffs.thumbs_down_in_a_row(a.user_id) == 0
    handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)
    e = says(db, "five")
    feedback.add(e.id, False)
    assert handoffs.thumbs_down_in_a_row(a.user_id) == 1


# --- what staff are shown ------------------------------------------------------------------------


def test_the_transcript_is_the_latest_messages_both_ways_oldest_first(db, handoffs):
    says(db, "too old to show")
    question = says(db, "my parcel is broken", "fallback", intent="damaged_item")
    asked = says(db, "a person please", "handoff", intent="contact_human")
    handoff = held(handoffs, asked)
    says(db, "someone else", user="bob")
    staff = Messages(db).add_staff(customer_user_id=asked.user_id, chat_id=asked.chat_id, channel="telegram",
                                   text="Hi, I'm Sam. Can you send a photo?", author=STAFF,
                                   external_key="telegram:5001")
    lines = handoffs.transcript(handoff.user_id, 5)
    assert [(line.direction, line.text, line.author) for line in lines] == [
        (Direction.IN, "my parcel is broken", None),
        (Direction.OUT, "answer to my parcel is broken", None),
        (Direction.IN, "a person please", None),
        (Direction.OUT, "answer to a person please", None),
        (Direction.OUT, "Hi, I'm Sam. Can you send a photo?", STAFF),
    ]
    assert lines[0].message_id == question.id and lines[-1].message_id == staff
    assert (lines[0].intent, lines[0].confidence, lines[0].action) == ("damaged_item", 0.42, "fallback")
    assert (lines[1].intent, lines[4].intent) == (None, None)  # the model's reading is of the customer's messages
    assert lines == sorted(lines, key=lambda line: line.created_at)
    assert handoffs.transcript(404, 5) == []


def test_a_relayed_copy_leads_back_to_the_stored_message(db, handoffs):
    message = says(db, "a person please", "handoff")
    handoff = held(handoffs, message)
    handoffs.add_relay(message.id, handoff.id, STAFF_CHAT, 120)
    assert handoffs.relayed_message(STAFF_CHAT, 120) == message.id
    assert handoffs.relayed_message(CUSTOMER, 120) is None  # the same id in another chat is another message
    handoffs.add_relay(message.id, handoff.id, STAFF_CHAT, 121)  # copied again after a crash
    assert handoffs.relayed_message(STAFF_CHAT, 121) == message.id and db["relays"].count == 1


def test_a_topic_made_again_moves_a_held_handoff_only_and_a_lost_one_fails(db, handoffs):
    message = says(db, "a person please", "handoff")
    opening = request(handoffs, message)
    handoffs.moved(opening.id, 8, "new")  # not in a topic yet: nothing to move
    handoffs.lost(opening.id, "gone")  # nor to lose: an opening that fails is `failed`
    assert handoffs.get(opening.id).status is HandoffStatus.OPENING and handoffs.get(opening.id).thread_id is None
    handoffs.opened(opening.id, STAFF_CHAT, 7, "title")
    handoffs.moved(opening.id, 8, "title again")
    assert handoffs.get(opening.id).thread_id == 8 and handoffs.by_thread(STAFF_CHAT, 7) is None
    assert (handoffs.topic(message.user_id).thread_id, handoffs.topic(message.user_id).title) == (8, "title again")
    handoffs.lost(opening.id, "not enough rights")
    lost = handoffs.get(opening.id)
    assert (lost.status, lost.note) == (HandoffStatus.FAILED, "not enough rights") and lost.closed_at is not None
    assert handoffs.held(message.user_id) is None
    handoffs.moved(opening.id, 9, "late")  # over: a late move changes nothing
    assert handoffs.get(opening.id).thread_id == 8


def test_a_staff_reply_leads_to_its_copy_only_once_delivered(db, handoffs):
    messages = Messages(db)
    message = says(db, "a person please", "handoff")
    handoff = held(handoffs, message)
    stored = messages.add_staff(customer_user_id=message.user_id, chat_id=message.chat_id, channel="telegram",
                                text="Refund: 10 EUR", author=STAFF, external_key="telegram:staff:-100:55")
    assert handoffs.staff_copy("telegram:staff:-100:55") is None  # not delivered: nothing to edit
    handoffs.add_relay(message.id, handoff.id, STAFF_CHAT, 120)  # the customer's message copied to staff
    handoffs.add_relay(stored, handoff.id, message.chat_id, 31)
    assert handoffs.staff_copy("telegram:staff:-100:55") == (stored, message.chat_id, 31)
    messages.revise(stored, "Refund: 12 EUR")
    messages.revise(message.id, "not a staff message")  # a customer's message is never revised this way
    assert db["messages"].get(stored)["text"] == "Refund: 12 EUR"
    assert db["messages"].get(message.id)["text"] == "a person please"


def test_a_staff_reply_is_stored_once_and_is_undelivered_until_marked(db, handoffs):
    messages = Messages(db)
    message = says(db, "a person please", "handoff")
    fields = dict(customer_user_id=message.user_id, chat_id=message.chat_id, channel="telegram", text="On it",
                  author=STAFF, external_key="telegram:5001")
    stored = messages.add_staff(**fields)
    assert messages.add_staff(**fields) is None  # the update came again
    assert messages.undelivered_staff("telegram:5001") == (stored, "On it")
    assert messages.get(stored) is None  # not a customer message: nobody labels it, no model answers it
    row = db["messages"].get(stored)
    assert (row["direction"], row["user_id"], row["reply_to"], row["author"]) == ("out", message.user_id, None, STAFF)
    messages.mark_answered(stored)
    assert messages.undelivered_staff("telegram:5001") is None
    assert messages.undelivered_staff("telegram:404") is None


# --- what admins see -----------------------------------------------------------------------------


def test_the_listing_shows_who_holds_what_and_how_long_the_customer_waited(db, handoffs):
    open_at = datetime.now(UTC) - timedelta(minutes=10)
    replied = held(handoffs, says(db, "a person please", "handoff"))
    handoffs.claim(replied.id, STAFF, "Sam")
    set_times(db, replied.id, opened_at=open_at, first_reply_at=open_at + timedelta(minutes=3))
    waiting = held(handoffs, says(db, "me too", "handoff", user="bob"), thread_id=8)
    set_times(db, waiting.id, opened_at=open_at)
    contact = request(handoffs, says(db, "and me", "handoff", user="cat"), routed=False)
    listed = handoffs.listing(open_only=False)
    assert [row["id"] for row in listed] == [contact.id, waiting.id, replied.id]
    assert listed[2] | {"opened_at": None} == {
        "id": replied.id, "user_id": replied.user_id, "status": "claimed", "reason": "asked", "claimed_by": STAFF,
        "opened_at": None, "proposed_intent": "refund_request", "thread_id": 7, "waited_seconds": 180.0}
    assert 600 <= listed[1]["waited_seconds"] < 660  # still waiting: until now
    assert listed[0]["waited_seconds"] < 60  # closed at once: the customer got the shop's contact
    assert [row["id"] for row in handoffs.listing(open_only=True)] == [waiting.id, replied.id]
    assert len(handoffs.listing(open_only=False, limit=1)) == 1


def test_figures_with_nobody_writing_have_nothing_to_divide(db, handoffs):
    assert handoffs.figures(datetime.now(UTC)) == {"handoffs_today": 0, "handoffs_7d": 0, "replied_7d": 0,
                                                   "median_first_reply_seconds": None, "containment_7d": None}


def test_figures_median_first_reply_and_containment(db, handoffs):
    at = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    for user in ("a", "b", "c", "d", "e"):  # five customers wrote; three were handed over
        says(db, f"hello from {user}", user=user)
    db.execute("UPDATE messages SET created_at = ?", [iso(at - timedelta(days=1))])
    waits = {"a": 60, "b": 300, "c": None}
    for n, (user, wait) in enumerate(waits.items()):
        message = Messages(db).get(db.execute("SELECT id FROM messages WHERE text = ?", [f"hello from {user}"]).fetchone()[0])
        handoff = held(handoffs, message, thread_id=10 + n)
        opened = at - timedelta(hours=n * 20)  # today, yesterday, two days ago
        set_times(db, handoff.id, opened_at=opened)
        if wait is not None:
            set_times(db, handoff.id, first_reply_at=opened + timedelta(seconds=wait))
        handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)
    old = held(handoffs, Messages(db).get(1), thread_id=20)  # eight days ago: outside the week
    set_times(db, old.id, opened_at=at - timedelta(days=8), first_reply_at=at - timedelta(days=8) + timedelta(hours=5))
    assert handoffs.figures(at) == {"handoffs_today": 1, "handoffs_7d": 3, "replied_7d": 2,
                                    "median_first_reply_seconds": 180.0, "containment_7d": pytest.approx(0.4)}


def test_today_is_the_calendar_day_of_the_time_given(db, handoffs):
    handoff = request(handoffs, says(db, "a person please", "handoff"), routed=False)
    set_times(db, handoff.id, opened_at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC))
    utc_morning = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    assert handoffs.figures(utc_morning)["handoffs_today"] == 0
    berlin = utc_morning.astimezone(ZoneInfo("Europe/Berlin"))  # 00:30 on the 5th there: 23:30 UTC was the 5th
    assert handoffs.figures(berlin)["handoffs_today"] == 1


# --- erasure ---------------------------------------------------------------------------------------


def _anna_handed_over(db, handoffs) -> Handoff:
    """Anna (and Bob, who stays) in a handoff with relays both ways, a staff reply and a staff label."""
    messages = Messages(db)
    question = says(db, "my parcel arrived broken", "fallback", intent="damaged_item")
    asked = says(db, "a person please", "handoff", intent="contact_human")
    handoff = held(handoffs, asked)
    handoffs.claim(handoff.id, STAFF, "Sam")
    handoffs.add_relay(question.id, handoff.id, STAFF_CHAT, 101)
    reply = messages.add_staff(customer_user_id=asked.user_id, chat_id=asked.chat_id, channel="telegram",
                               text="Sorry, Anna! A new one is on its way", author=STAFF, external_key="telegram:5001")
    handoffs.add_relay(reply, handoff.id, CUSTOMER, 55)
    handoffs.replied(handoff.id)
    Labels(db).replace(question.id, "damaged_item", LabelSource.STAFF, STAFF)
    bob = says(db, "where is my parcel", user="bob")
    held(handoffs, bob, thread_id=8, name="Bob")
    return handoff


def test_forget_during_a_handoff_leaves_no_row_of_the_customer(db, handoffs):
    handoff = _anna_handed_over(db, handoffs)
    anna = handoff.user_id
    counts = forget(db, "telegram", CUSTOMER)
    assert (counts["handoffs"], counts["staff_topics"], counts["relays"], counts["messages"], counts["labels"]) == (1, 1, 2, 5, 1)
    assert handoffs.get(handoff.id) is None and handoffs.topic(anna) is None and handoffs.by_thread(STAFF_CHAT, 7) is None
    assert handoffs.relayed_message(STAFF_CHAT, 101) is None
    for table in db.table_names():
        for row in db[table].rows:
            assert row.get("user_id") != anna, (table, row)
            text = json.dumps(row, ensure_ascii=False)
            assert CUSTOMER not in text and "Anna" not in text and "broken" not in text, (table, row)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert handoffs.by_thread(STAFF_CHAT, 8) is not None  # Bob's handoff goes on


def test_forget_of_a_member_of_staff_keeps_that_staff_helped_without_their_name(db, handoffs):
    handoff = _anna_handed_over(db, handoffs)
    handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)
    counts = forget(db, "telegram", "9001")
    assert counts["users"] == 0 and counts["handoffs"] == 0
    kept = handoffs.get(handoff.id)
    assert (kept.claimed_by, kept.claimed_name, kept.closed_by) == ("telegram", None, "telegram")
    assert [line.author for line in handoffs.transcript(handoff.user_id, 10) if line.author] == ["telegram"]
    everything = json.dumps({t: list(db[t].rows) for t in db.table_names()}, ensure_ascii=False)
    assert STAFF not in everything and "Sam" not in everything


def test_purge_drops_old_closed_handoffs_and_unlinks_the_rest(db, handoffs):
    old = datetime.now(UTC) - timedelta(days=400)
    handoff = _anna_handed_over(db, handoffs)
    bob = handoffs.by_thread(STAFF_CHAT, 8)
    handoffs.close(handoff.id, HandoffStatus.RESOLVED, STAFF)
    db.execute("UPDATE messages SET created_at = ?", [iso(old)])
    db.execute("UPDATE users SET created_at = ?", [iso(old)])
    db.execute("UPDATE handoffs SET opened_at = ?", [iso(old)])  # Bob's is still held

    counts = purge(db, 365, keep_labels=True)

    assert (counts["handoffs"], counts["staff_topics"], counts["relays"], counts["users"]) == (1, 1, 2, 1)
    assert handoffs.get(handoff.id) is None and handoffs.topic(handoff.user_id) is None
    kept = handoffs.get(bob.id)
    assert (kept.status, kept.message_id, kept.question_id) == (HandoffStatus.OPEN, None, None)
    assert handoffs.topic(bob.user_id) is not None  # Bob is still a user, with a handoff under way
    assert db["messages"].count == 0 and db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert [(label["text"], label["source"], label["message_id"]) for label in db["labels"].rows] == [
        ("my parcel arrived broken", "staff", None)]


def test_purge_keeps_recent_handoffs_and_their_topics(db, handoffs):
    handoff = _anna_handed_over(db, handoffs)
    handoffs.close(handoff.id, HandoffStatus.RELEASED, "timeout")
    counts = purge(db, 30, keep_labels=True)
    assert (counts["handoffs"], counts["staff_topics"], counts["relays"]) == (0, 0, 0)
    assert handoffs.get(handoff.id).message_id is not None and handoffs.topic(handoff.user_id) is not None
