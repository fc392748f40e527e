"""A conversation with a person: opening it in the staff group, relaying both ways, and its end.

The channel does the talking (creating the topic, copying messages); these use cases keep the
record: which topic is whose, who claimed it, what was relayed and delivered, what staff labelled.
Every staff action is audited under the member of staff who did it. Staff work in English; what
the customer reads is in their language (data/messages.toml).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.replies import Reply
from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.handoffs import HELD, Handoff, HandoffReason, HandoffStatus, TranscriptLine
from storage.labels import LabelSource
from storage.messages import Direction
from training.policy import Action
from training.storable import storable

MAX_TITLE = 128  # Telegram's limit for a topic's name
CLAIMED = " · 🙋 "  # before the name of who is on it, in a topic's title
REASONS = {
    HandoffReason.ASKED: "asked for a person",
    HandoffReason.BUTTON: 'pressed "talk to a person"',
    HandoffReason.FALLBACKS: "{n} messages in a row the bot could not answer",
    HandoffReason.THUMBS_DOWN: "👎 on {n} answers in a row",
    HandoffReason.COMMAND: "typed /human",
    HandoffReason.ACTION: "the shop's system said a person should take it",
}


@dataclass(frozen=True)
class Opening:
    """What the channel posts to open a handoff: into the customer's topic, or a new one."""

    handoff_id: int
    staff_chat_id: int
    thread_id: int | None  # the customer's topic from an earlier handoff, to reopen; None: create one
    title: str
    header: str  # who, how they got here, the recent transcript
    proposed_intent: str | None


@dataclass(frozen=True)
class Change:
    """A handoff changed state: what to tell the customer, and the topic's new title if it changes."""

    handoff_id: int
    customer_chat_id: str  # the channel's chat id, as stored
    staff_chat_id: int
    thread_id: int
    customer_text: str | None
    title: str | None = None


@dataclass(frozen=True)
class Relay:
    """A message to copy to the other side, and where it is stored."""

    handoff_id: int
    message_id: int  # the stored message (the customer's, or staff's reply)
    to_chat_id: str  # the channel's chat id: the staff group, or the customer's chat
    thread_id: int | None  # the topic, when the copy goes to the staff group


@dataclass(frozen=True)
class Copy:
    """Where a relayed message's copy is: the chat (as stored) and the copy's message id there."""

    chat_id: str
    message_id: int


@dataclass(frozen=True)
class Due:
    """What the clock owes: pings for handoffs nobody answered, and handoffs gone idle, back to the bot."""

    pings: tuple[Change, ...]
    releases: tuple[Change, ...]


def connect_staff(runtime: Runtime, channel: str) -> None:
    """The channel's staff group passed its start-up check: from now on its customers are handed over for real."""
    runtime.engine.handover.staff_channel = channel


# --- opening ---------------------------------------------------------------------------------------


def opening(runtime: Runtime, handoff_id: int, display_name: str) -> Opening | None:
    """The topic to open for a handoff still OPENING; None once it is open (a redelivery) or over."""
    handoffs = runtime.engine.handoffs
    handoff = handoffs.get(handoff_id)
    if handoff is None or handoff.status != HandoffStatus.OPENING:
        return None
    topic = handoffs.topic(handoff.user_id)
    reuse = topic is not None and int(topic.staff_chat_id) == runtime.config.handoff.staff_chat_id
    return _opening(runtime, handoff, display_name, topic.thread_id if reuse else None, handoff.message_id)


def topic_gone(runtime: Runtime, relay: Relay, display_name: str) -> Opening | None:
    """Staff deleted a held handoff's topic by hand: a new one to open, its header with the conversation
    before the message being relayed (which follows it). None when nobody holds the conversation now."""
    handoff = runtime.engine.handoffs.get(relay.handoff_id)
    if handoff is None or handoff.status not in HELD:
        return None
    opening = _opening(runtime, handoff, display_name, None, relay.message_id - 1)
    if handoff.claimed_name is None:
        return opening
    return dataclasses.replace(opening, title=_claimed(opening.title, handoff.claimed_name))


def _opening(runtime: Runtime, handoff: Handoff, display_name: str, thread_id: int | None,
             until: int | None) -> Opening:
    """`until`: the last message the header's transcript shows (None: the latest)."""
    language = _language(runtime, handoff)
    title = _title(handoff, display_name, language)
    header = _header(runtime, handoff, display_name, language, until)
    return Opening(handoff.id, runtime.config.handoff.staff_chat_id, thread_id, title, header, handoff.proposed_intent)


def opened(runtime: Runtime, handoff_id: int, thread_id: int, title: str) -> None:
    """The topic has the header: the conversation is with staff now, the model steps back."""
    runtime.engine.handoffs.opened(handoff_id, str(runtime.config.handoff.staff_chat_id), thread_id, title)


def moved(runtime: Runtime, relay: Relay, thread_id: int, title: str) -> Relay:
    """The held handoff lives in a new topic now (the old one was deleted): where the relay goes instead."""
    runtime.engine.handoffs.moved(relay.handoff_id, thread_id, title)
    return dataclasses.replace(relay, thread_id=thread_id)


def topic_lost(runtime: Runtime, relay: Relay, reason: str) -> Reply:
    """The customer's topic was deleted and no new one could be made: the handoff fails (the model answers
    again) and the customer is given the shop's contact, stored as the answer to the message that could
    not be relayed, instead of a promise that staff read it."""
    engine = runtime.engine
    handoff = engine.handoffs.get(relay.handoff_id)
    text = engine.say("handoff", _language(runtime, handoff))
    with runtime.db.atomic():
        engine.handoffs.lost(handoff.id, reason)
        engine.messages.add_reply(engine.messages.get(relay.message_id), text, None)
    return Reply(text, relay.message_id, action=Action.HANDOFF)


def not_opened(runtime: Runtime, handoff_id: int, reason: str) -> Reply:
    """The staff group could not be reached: recorded as failed, and the customer gets the shop's
    contact instead of a promise (the stored reply is revised to what they are actually sent)."""
    engine = runtime.engine
    handoff = engine.handoffs.get(handoff_id)
    engine.handoffs.failed(handoff_id, reason)
    language = _language(runtime, handoff)
    text = engine.say("handoff", language)
    if handoff.message_id is not None:
        engine.messages.revise_reply(handoff.message_id, text)
    return Reply(text, handoff.message_id, action=Action.HANDOFF, handoff_id=handoff_id)


def _language(runtime: Runtime, handoff: Handoff) -> str:
    message = runtime.engine.messages.get(handoff.message_id) if handoff.message_id else None
    return runtime.engine.reply_language(message.language if message else None)


def _title(handoff: Handoff, name: str, language: str) -> str:
    """Who and what at a glance: `#4721 · Anna · en · refund_request`."""
    what = handoff.proposed_intent or handoff.reason
    return f"#{handoff.user_id} · {name} · {language} · {what}"[:MAX_TITLE]


def _claimed(title: str, name: str) -> str:
    """A topic's title once a member of staff is on it: who, at a glance (in place of whoever was before)."""
    return f"{title.split(CLAIMED)[0]}{CLAIMED}{name}"[:MAX_TITLE]


def _header(runtime: Runtime, handoff: Handoff, name: str, language: str, until: int | None) -> str:
    settings = runtime.config.handoff
    n = settings.fallbacks_in_a_row if handoff.reason == HandoffReason.FALLBACKS else settings.thumbs_down_in_a_row
    customer = runtime.engine.messages.external_user(handoff.user_id)
    lines = [
        f"🙋 Handoff {handoff.id}: {name} (Telegram user {customer}), language {language}",
        f"How they got here: {REASONS[handoff.reason].format(n=n)}",
    ]
    if handoff.proposed_intent:
        lines.append(f"The bot's best guess for their question: {handoff.proposed_intent}")
    transcript = [line for line in runtime.engine.handoffs.transcript(handoff.user_id, settings.transcript_messages + 1)
                  if until is None or line.message_id <= until][-settings.transcript_messages:]
    if transcript:
        lines += ["", "Recent conversation (as stored, personal data redacted):", *map(_transcript_line, transcript)]
    lines += ["", "Write here to answer the customer (text, photos, files). Lines starting with // are notes "
              "for staff and are not sent. /resolve, /bot (back to the bot), /label INTENT."]
    return "\n".join(lines)


def _transcript_line(line: TranscriptLine) -> str:
    when = line.created_at[11:16]
    if line.direction == Direction.IN:
        return f"[{when}] customer: {line.text}"
    if line.author is not None:
        return f"[{when}] staff: {line.text}"
    guess = f" ({line.action} {line.intent} {line.confidence:.2f})" if line.intent and line.confidence is not None else ""
    return f"[{when}] bot{guess}: {line.text}"


# --- relaying --------------------------------------------------------------------------------------


def customer_relay(runtime: Runtime, reply: Reply) -> Relay | None:
    """Where a held customer's message goes: their topic. None when the handoff ended meanwhile."""
    handoff = runtime.engine.handoffs.get(reply.handoff_id)
    if handoff is None or handoff.thread_id is None or reply.message_id is None:
        return None
    return Relay(handoff.id, reply.message_id, handoff.staff_chat_id, handoff.thread_id)


def relayed(runtime: Runtime, relay: Relay, copy_id: int, from_staff: bool) -> None:
    """The copy reached the other side: the message counts as answered (delivered), and a first staff
    reply stops the waiting clock."""
    handoffs = runtime.engine.handoffs
    with runtime.db.atomic():
        handoffs.add_relay(relay.message_id, relay.handoff_id, str(relay.to_chat_id), copy_id)
        runtime.engine.messages.mark_answered(relay.message_id)
        if from_staff:
            handoffs.replied(relay.handoff_id)
        else:
            handoffs.touch(relay.handoff_id)


def staff_message(runtime: Runtime, staff_chat_id: int, thread_id: int, author: Actor, text: str,
                  external_key: str) -> Relay | None:
    """A member of staff wrote in a topic: stored (redacted) as an outgoing message of the customer's
    conversation, to be copied to them. None when the topic is not a held handoff's (resolved, handed
    back, forgotten, or never one) or this update was relayed before."""
    engine = runtime.engine
    handoff = engine.handoffs.by_thread(str(staff_chat_id), thread_id)
    if handoff is None:
        return None
    stored = engine.messages.add_staff(
        customer_user_id=handoff.user_id, chat_id=handoff.chat_id, channel=handoff.channel,
        text=storable(text, runtime.config.limits.max_text_chars), author=author.name, external_key=external_key,
    )
    if stored is None:
        found = engine.messages.undelivered_staff(external_key)
        if found is None:
            return None
        stored = found[0]
    return Relay(handoff.id, stored, handoff.chat_id, None)


def staff_edit(runtime: Runtime, staff_chat_id: int, thread_id: int, external_key: str, text: str) -> Copy | None:
    """A member of staff edited a message of theirs that reached the customer: the stored text follows the
    edit (redacted), and the customer's copy is to be edited. None when the topic holds no handoff or the
    message never reached the customer (a note, or not delivered)."""
    engine = runtime.engine
    handoff = engine.handoffs.by_thread(str(staff_chat_id), thread_id)
    copy = engine.handoffs.staff_copy(external_key) if handoff is not None else None
    if copy is None:
        return None
    message_id, copy_chat_id, copy_id = copy
    engine.messages.revise(message_id, storable(text, runtime.config.limits.max_text_chars))
    return Copy(copy_chat_id, copy_id)


def staff_topic(runtime: Runtime, channel: str, user: str) -> tuple[int, int] | None:
    """(staff chat, topic) of a customer, looked up before /forget erases the mapping."""
    user_id = runtime.engine.messages.user_id_of(channel, user)
    topic = runtime.engine.handoffs.topic(user_id) if user_id is not None else None
    return (int(topic.staff_chat_id), topic.thread_id) if topic else None


# --- staff actions ---------------------------------------------------------------------------------


def _held(runtime: Runtime, staff_chat_id: int, thread_id: int, handoff_id: int | None) -> Handoff | None:
    """The held handoff of a topic; None when there is none, or a button names an earlier one."""
    handoff = runtime.engine.handoffs.by_thread(str(staff_chat_id), thread_id)
    if handoff is None or handoff_id not in (None, handoff.id):
        return None
    return handoff


def _change(runtime: Runtime, handoff: Handoff, key: str | None, title: str | None = None, **fields: object) -> Change:
    text = runtime.engine.say(key, _language(runtime, handoff), **fields) if key else None
    return Change(handoff.id, handoff.chat_id, int(handoff.staff_chat_id), handoff.thread_id, text, title)


def _detail(change: Change | None, *_: object) -> str:
    return "" if change is None else f"handoff {change.handoff_id}"


@audited(AuditAction.HANDOFF_CLAIM, admin=False, detail=_detail)
def claim(runtime: Runtime, actor: Actor, staff_chat_id: int, thread_id: int, handoff_id: int | None,
          name: str) -> Change | None:
    """ "I'm on it": the topic's title and the customer's next message name who helps them."""
    handoff = _held(runtime, staff_chat_id, thread_id, handoff_id)
    if handoff is None or not runtime.engine.handoffs.claim(handoff.id, actor.name, name):
        return None
    topic = runtime.engine.handoffs.topic(handoff.user_id)
    title = _claimed(topic.title, name) if topic else None
    return _change(runtime, handoff, "handoff_claimed", title, name=name)


@audited(AuditAction.HANDOFF_RESOLVE, admin=False, detail=_detail)
def resolve(runtime: Runtime, actor: Actor, staff_chat_id: int, thread_id: int, handoff_id: int | None,
            confirmed_intent: str | None = None) -> Change | None:
    """Resolved by staff; confirming the proposed intent labels the customer's question with it."""
    handoff = _held(runtime, staff_chat_id, thread_id, handoff_id)
    if handoff is None:
        return None
    with runtime.db.atomic():
        if confirmed_intent is not None and handoff.question_id is not None:
            _label(runtime, handoff.question_id, confirmed_intent, actor)
        runtime.engine.handoffs.close(handoff.id, HandoffStatus.RESOLVED, actor.name)
    return _change(runtime, handoff, "handoff_resolved")


@audited(AuditAction.HANDOFF_RELEASE, admin=False, detail=_detail)
def hand_back(runtime: Runtime, actor: Actor, staff_chat_id: int, thread_id: int, handoff_id: int | None) -> Change | None:
    """Back to the bot: the customer's next message is answered by the model again."""
    handoff = _held(runtime, staff_chat_id, thread_id, handoff_id)
    if handoff is None or not runtime.engine.handoffs.close(handoff.id, HandoffStatus.RELEASED, actor.name):
        return None
    return _change(runtime, handoff, "handoff_released")


@audited(AuditAction.STAFF_LABEL, admin=False, detail=lambda message_id, *_: f"message {message_id}")
def label(runtime: Runtime, actor: Actor, staff_chat_id: int, thread_id: int, intent: str,
          copy_id: int | None = None) -> int | None:
    """Label the customer's question (or the message whose copy staff replied to) with `intent`.

    Returns the message labelled; None when the topic holds no handoff. ValueError for an intent the
    domain does not have. A second staff label for a message replaces the first (a correction).
    """
    handoff = _held(runtime, staff_chat_id, thread_id, None)
    if handoff is None:
        return None
    message_id = handoff.question_id
    if copy_id is not None:
        message_id = runtime.engine.handoffs.relayed_message(str(staff_chat_id), copy_id) or message_id
    if message_id is None or runtime.engine.messages.get(message_id) is None:
        return None
    _label(runtime, message_id, intent, actor)
    return message_id


def _label(runtime: Runtime, message_id: int, intent: str, actor: Actor) -> None:
    if intent not in runtime.domain.intents:
        raise ValueError(f"unknown intent {intent!r}")
    runtime.engine.labels.replace(message_id, intent, LabelSource.STAFF, actor.name)


def intents(runtime: Runtime) -> list[str]:
    """What staff may label with: every intent of the domain."""
    return sorted(runtime.domain.intents)


# --- the clock -------------------------------------------------------------------------------------


def due(runtime: Runtime, now: datetime | None = None) -> Due:
    """Pings for handoffs with no staff reply within [handoff] reply_within_minutes (counted from when
    staff are in), and releases of held conversations idle for release_after_hours. Each is recorded
    before the channel says it, so a ping is sent at most once."""
    now = now or datetime.now(UTC)
    settings, handoffs = runtime.config.handoff, runtime.engine.handoffs
    pings = []
    if settings.reply_within_minutes > 0:
        wait = timedelta(minutes=settings.reply_within_minutes)
        for handoff in handoffs.due_pings(_iso(now - wait)):
            staffed_from = runtime.engine.handover.hours.next_open(datetime.fromisoformat(handoff.opened_at))
            if staffed_from.astimezone(UTC) + wait <= now:  # in UTC: the wait is real minutes across a DST change
                handoffs.pinged(handoff.id)
                pings.append(_change(runtime, handoff, "handoff_slow"))
    releases = []
    for handoff in handoffs.idle(_iso(now - timedelta(hours=settings.release_after_hours))):
        if handoffs.close(handoff.id, HandoffStatus.RELEASED, "timeout"):
            releases.append(_change(runtime, handoff, "handoff_released"))
    return Due(tuple(pings), tuple(releases))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


# --- what admins see -------------------------------------------------------------------------------


def queue(runtime: Runtime, open_only: bool) -> list[dict]:
    """`supportbot handoffs`: each handoff, who holds it, how long the customer waited."""
    return runtime.engine.handoffs.listing(open_only)


def figures(runtime: Runtime) -> dict:
    """Handoffs today and in 7 days, the median wait for a first staff reply, and containment."""
    return runtime.engine.handoffs.figures(datetime.now(UTC))

