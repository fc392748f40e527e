"""Conversations handed to a person: the handoff itself, each customer's staff topic, the relay ledger.

A handoff moves REQUESTED (nobody to pass it to: recorded only) or OPENING → OPEN → CLAIMED →
RESOLVED / RELEASED, or → FAILED when the staff group could not take it (or lost its topic). While OPEN or
CLAIMED (HELD) a person holds the conversation and the model stays quiet. Per-message reads are
indexed lookups by user or by topic; the figures scan one week of handoffs, for /status only.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database

from storage.db import insert, now, stamp
from storage.messages import Direction


class HandoffStatus(StrEnum):
    """`handoffs.status`. REQUESTED and FAILED are closed at once: the customer got the shop's contact."""

    REQUESTED = "requested"  # no staff group here: recorded, the customer got the shop's contact
    OPENING = "opening"  # the staff topic is being opened (or a crash interrupted it: opened on redelivery)
    OPEN = "open"  # in the staff topic, nobody claimed it yet
    CLAIMED = "claimed"  # a member of staff said "I'm on it"
    RESOLVED = "resolved"
    RELEASED = "released"  # handed back to the bot: by staff, or after release_after_hours idle
    FAILED = "failed"  # the staff group could not be reached: the customer got the shop's contact


HELD = (HandoffStatus.OPEN, HandoffStatus.CLAIMED)  # a person holds the conversation: the bot steps back
ACTIVE = (HandoffStatus.OPENING, *HELD)  # under way: a second request finds this one


class HandoffReason(StrEnum):
    """`handoffs.reason`: what handed the conversation over (shown to staff in the topic's header)."""

    ASKED = "asked"  # the contact_human intent, answered confidently
    BUTTON = "button"  # "talk to a person"
    FALLBACKS = "fallbacks"  # [handoff] fallbacks_in_a_row
    THUMBS_DOWN = "thumbs_down"  # [handoff] thumbs_down_in_a_row
    COMMAND = "command"  # /human
    ACTION = "action"  # the shop's system answered an action with "handoff" (a lost parcel)


@dataclass(frozen=True)
class Handoff:
    """One `handoffs` row, its status and reason as members."""

    id: int
    user_id: int
    channel: str
    chat_id: str
    reason: HandoffReason
    status: HandoffStatus
    message_id: int | None  # the customer's message that led here
    question_id: int | None  # the customer's question, for staff to label
    proposed_intent: str | None  # the model's best in-scope guess for it
    staff_chat_id: str | None
    thread_id: int | None
    claimed_by: str | None
    claimed_name: str | None
    opened_at: str
    claimed_at: str | None
    first_reply_at: str | None
    last_activity_at: str | None
    pinged_at: str | None
    closed_at: str | None
    closed_by: str | None
    note: str | None

    @classmethod
    def of(cls, row: tuple) -> Handoff:
        values = dict(zip(_NAMES, row, strict=True))
        return cls(**{**values, "reason": HandoffReason(values["reason"]), "status": HandoffStatus(values["status"])})


@dataclass(frozen=True)
class Topic:
    """A customer's forum topic in the staff group, reused when they are handed over again."""

    user_id: int
    staff_chat_id: str
    thread_id: int
    title: str
    closed: bool


@dataclass(frozen=True)
class TranscriptLine:
    """One stored message of a conversation, with the model's reading of it, as staff are shown it."""

    message_id: int
    direction: Direction
    text: str
    author: str | None  # None: the customer (in) or the bot (out); "telegram:<id>": a member of staff
    created_at: str
    intent: str | None  # for the customer's messages: what the model said
    confidence: float | None
    action: str | None


_FALLBACK = "fallback"  # training.policy.Action.FALLBACK, as stored (storage imports nothing above it)
_NAMES = tuple(f.name for f in fields(Handoff))
_COLUMNS = ", ".join(_NAMES)
_HELD = f"status IN ({', '.join(repr(str(s)) for s in HELD)})"
_ACTIVE = f"status IN ({', '.join(repr(str(s)) for s in ACTIVE)})"


class Handoffs:
    """Every read and write of handoffs, staff topics and relays; a state change is refused (False, or
    nothing done) from a state it does not follow, so a late button press or a redelivery changes nothing."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _one(self, where: str, params: list) -> Handoff | None:
        """The latest handoff matching `where`."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM handoffs WHERE {where} ORDER BY id DESC LIMIT 1", params).fetchone()
        return Handoff.of(row) if row else None

    def _many(self, where: str, params: list) -> list[Handoff]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM handoffs WHERE {where} ORDER BY id", params).fetchall()
        return [Handoff.of(row) for row in rows]

    # --- one handoff -------------------------------------------------------------------------------

    def request(self, *, user_id: int, channel: str, chat_id: str, reason: HandoffReason, message_id: int | None,
                question_id: int | None, proposed_intent: str | None, routed: bool) -> Handoff:
        """A new handoff (OPENING when a staff group can take it, else REQUESTED); the customer's
        active one instead, unchanged, when they already have one."""
        with self.db.atomic():
            if (active := self.active(user_id)) is not None:
                return active
            at = now()
            handoff_id = insert(self.db, "handoffs", {
                "user_id": user_id, "channel": channel, "chat_id": chat_id, "reason": reason,
                "status": HandoffStatus.OPENING if routed else HandoffStatus.REQUESTED, "message_id": message_id,
                "question_id": question_id, "proposed_intent": proposed_intent, "opened_at": at,
                "last_activity_at": at, "closed_at": None if routed else at,
            })
        return self.get(handoff_id)

    def get(self, handoff_id: int | None) -> Handoff | None:
        """One handoff by id; None for None or an id not stored (erased by /forget or purge)."""
        return self._one("id = ?", [handoff_id]) if handoff_id is not None else None

    def for_message(self, message_id: int) -> Handoff | None:
        """The handoff this customer message led to (a redelivery must not request another)."""
        return self._one("message_id = ?", [message_id])

    def active(self, user_id: int) -> Handoff | None:
        """The customer's handoff under way (OPENING or HELD)."""
        return self._one(f"user_id = ? AND {_ACTIVE}", [user_id])

    def held(self, user_id: int) -> Handoff | None:
        """The customer's handoff a person holds: their messages go to staff, not to the model."""
        return self._one(f"user_id = ? AND {_HELD}", [user_id])

    def by_thread(self, staff_chat_id: str, thread_id: int) -> Handoff | None:
        """The held handoff of a staff topic; None once it closed, so staff can no longer reach the customer."""
        return self._one(f"staff_chat_id = ? AND thread_id = ? AND {_HELD}", [staff_chat_id, thread_id])

    def _set(self, handoff_id: int, allowed: tuple[HandoffStatus, ...], **values: object) -> bool:
        """Update one handoff if it is in one of the `allowed` states; whether it was."""
        marks = ", ".join(f"{k} = ?" for k in values)
        states = ", ".join("?" * len(allowed))
        cursor = self.db.execute(f"UPDATE handoffs SET {marks} WHERE id = ? AND status IN ({states})",
                                 [*values.values(), handoff_id, *allowed])
        return cursor.rowcount == 1

    def opened(self, handoff_id: int, staff_chat_id: str, thread_id: int, title: str) -> None:
        """In the staff topic now: held. The customer's topic is remembered, to be reused next time."""
        with self.db.atomic():
            if not self._set(handoff_id, (HandoffStatus.OPENING,), status=HandoffStatus.OPEN,
                             staff_chat_id=staff_chat_id, thread_id=thread_id, last_activity_at=now()):
                return
            self.db.execute(
                "INSERT INTO staff_topics (user_id, staff_chat_id, thread_id, title, closed, created_at) "
                "SELECT user_id, ?, ?, ?, 0, ? FROM handoffs WHERE id = ? ON CONFLICT (user_id) DO UPDATE SET "
                "staff_chat_id = excluded.staff_chat_id, thread_id = excluded.thread_id, title = excluded.title, "
                "closed = 0", [staff_chat_id, thread_id, title, now(), handoff_id])

    def failed(self, handoff_id: int, note: str) -> None:
        """The staff group could not take it (`note` says why): closed, the customer got the shop's contact."""
        self._set(handoff_id, (HandoffStatus.OPENING,), status=HandoffStatus.FAILED, note=note, closed_at=now())

    def lost(self, handoff_id: int, note: str) -> None:
        """A held handoff's topic was deleted and no new one could be made (`note` says why): failed too, the
        customer got the shop's contact, and the model answers them again."""
        self._set(handoff_id, HELD, status=HandoffStatus.FAILED, note=note, closed_at=now())

    def moved(self, handoff_id: int, thread_id: int, title: str) -> None:
        """A held handoff's topic was deleted by hand and made again: the handoff and the customer's topic
        point at the new one."""
        with self.db.atomic():
            if not self._set(handoff_id, HELD, thread_id=thread_id):
                return
            self.db.execute("UPDATE staff_topics SET thread_id = ?, title = ?, closed = 0 WHERE user_id = "
                            "(SELECT user_id FROM handoffs WHERE id = ?)", [thread_id, title, handoff_id])

    def claim(self, handoff_id: int, staff: str, name: str) -> bool:
        """Claimed (or taken over by another member of staff); False when nobody holds it any more."""
        return self._set(handoff_id, HELD, status=HandoffStatus.CLAIMED, claimed_by=staff, claimed_name=name,
                         claimed_at=now())

    def close(self, handoff_id: int, status: HandoffStatus, by: str) -> bool:
        """RESOLVED or RELEASED; the customer's topic is closed with it. False when it was not active."""
        if status not in (HandoffStatus.RESOLVED, HandoffStatus.RELEASED):
            raise ValueError(f"a handoff closes as resolved or released, not {status}")
        with self.db.atomic():
            if not self._set(handoff_id, ACTIVE, status=status, closed_by=by, closed_at=now()):
                return False
            self.db.execute("UPDATE staff_topics SET closed = 1 WHERE user_id = ?", [self.get(handoff_id).user_id])
        return True

    def touch(self, handoff_id: int) -> None:
        """Something was said: the idle clock (release_after_hours) starts again."""
        self.db.execute("UPDATE handoffs SET last_activity_at = ? WHERE id = ?", [now(), handoff_id])

    def replied(self, handoff_id: int) -> None:
        """A staff reply reached the customer: the first one stops the waiting clock."""
        at = now()
        self.db.execute("UPDATE handoffs SET first_reply_at = COALESCE(first_reply_at, ?), last_activity_at = ? "
                        "WHERE id = ?", [at, at, handoff_id])

    def pinged(self, handoff_id: int) -> None:
        """The slow-reply ping went out: recorded first, so it goes out once."""
        self.db.execute("UPDATE handoffs SET pinged_at = ? WHERE id = ?", [now(), handoff_id])

    # --- the clock ---------------------------------------------------------------------------------

    def due_pings(self, opened_before: str) -> list[Handoff]:
        """Held handoffs opened before `opened_before` (an ISO time, as storage.db.now) that no staff reply
        reached and nobody pinged yet."""
        return self._many(f"{_HELD} AND first_reply_at IS NULL AND pinged_at IS NULL AND opened_at < ?", [opened_before])

    def idle(self, active_before: str) -> list[Handoff]:
        """Held handoffs with nothing said since `active_before`: due back to the bot."""
        return self._many(f"{_HELD} AND last_activity_at < ?", [active_before])

    # --- topics and the relay ledger ---------------------------------------------------------------

    def topic(self, user_id: int) -> Topic | None:
        """The customer's staff topic, open or closed; None before their first handoff reached staff."""
        row = self.db.execute("SELECT user_id, staff_chat_id, thread_id, title, closed FROM staff_topics "
                              "WHERE user_id = ?", [user_id]).fetchone()
        return Topic(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def add_relay(self, message_id: int, handoff_id: int, copy_chat_id: str, copy_id: int) -> None:
        """A stored message was copied to the other side as `copy_id` in `copy_chat_id` (a second copy of it,
        after a crash, replaces the record)."""
        self.db.execute("INSERT OR REPLACE INTO relays (message_id, handoff_id, copy_chat_id, copy_id, created_at) "
                        "VALUES (?, ?, ?, ?, ?)", [message_id, handoff_id, copy_chat_id, copy_id, now()])

    def staff_copy(self, external_key: str) -> tuple[int, str, int] | None:
        """The staff message stored under `external_key` and its copy in the customer's chat (message id,
        chat, copy id); None when it was never delivered."""
        row = self.db.execute("SELECT r.message_id, r.copy_chat_id, r.copy_id FROM relays r JOIN messages m "
                              "ON m.id = r.message_id WHERE m.external_key = ? AND m.author IS NOT NULL",
                              [external_key]).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def relayed_message(self, copy_chat_id: str, copy_id: int) -> int | None:
        """The stored message a copy in `copy_chat_id` stands for."""
        row = self.db.execute("SELECT message_id FROM relays WHERE copy_chat_id = ? AND copy_id = ?",
                              [copy_chat_id, copy_id]).fetchone()
        return row[0] if row else None

    # --- what a handoff shows and counts -----------------------------------------------------------

    def transcript(self, user_id: int, limit: int) -> list[TranscriptLine]:
        """The customer's last `limit` messages both ways (as stored: redacted), oldest first."""
        rows = self.db.execute(
            "SELECT m.id, m.direction, m.text, m.author, m.created_at, p.intent, p.confidence, p.action "
            "FROM messages m LEFT JOIN predictions p ON p.message_id = m.id "
            "WHERE m.user_id = ? ORDER BY m.created_at DESC, m.id DESC LIMIT ?", [user_id, limit]).fetchall()
        return [TranscriptLine(r[0], Direction(r[1]), *r[2:]) for r in reversed(rows)]

    def _last(self, user_id: int) -> tuple[str, int]:
        """When the customer's last handoff began and the message that led to it ("" and 0: never, or purged).

        Streaks count only what came after: what led to it was dealt with (or the shop's contact
        given), and while it is held the model answers nothing. By time and by id both: the messages
        before it may be stored in the same millisecond, and a button under an older answer names a
        message older than the ones that came since.
        """
        row = self.db.execute("SELECT opened_at, COALESCE(message_id, 0) FROM handoffs WHERE user_id = ? "
                              "ORDER BY id DESC LIMIT 1", [user_id]).fetchone()
        return (row[0], row[1]) if row else ("", 0)

    def fallbacks_in_a_row(self, user_id: int) -> int:
        """How many of the customer's latest classified messages in a row the bot fell back on, since their
        last handoff; the message being answered has no prediction yet and is not counted."""
        since, led = self._last(user_id)
        rows = self.db.execute(
            "SELECT p.action FROM messages m JOIN predictions p ON p.message_id = m.id "
            "WHERE m.user_id = ? AND m.direction = ? AND m.created_at >= ? AND m.id > ? "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT 50", [user_id, Direction.IN, since, led]).fetchall()
        return _leading(rows, _FALLBACK)

    def thumbs_down_in_a_row(self, user_id: int) -> int:
        """How many of the customer's latest ratings in a row, by when they were given, were 👎, since
        their last handoff (ratings of answers to later messages)."""
        since, led = self._last(user_id)
        rows = self.db.execute(
            "SELECT f.positive FROM messages m JOIN feedback f ON f.message_id = m.id "
            "WHERE m.user_id = ? AND m.created_at >= ? AND m.id > ? "  # what was rated came after it, and so the rating
            "ORDER BY f.created_at DESC, f.message_id DESC LIMIT 50", [user_id, since, led]).fetchall()
        return _leading(rows, 0)

    def listing(self, open_only: bool, limit: int = 100) -> list[dict]:
        """The queue for admins, newest first (`open_only`: those under way): who holds what, and how long
        the customer waited for a first staff reply (until it came, the handoff closed, or now)."""
        where = _ACTIVE if open_only else "1"
        keys = ("id", "user_id", "status", "reason", "claimed_by", "opened_at", "proposed_intent", "thread_id")
        rows = self.db.execute(
            f"SELECT {', '.join(keys)}, COALESCE(first_reply_at, closed_at) FROM handoffs WHERE {where} "
            "ORDER BY id DESC LIMIT ?", [limit]).fetchall()
        current = datetime.now(UTC)
        listed = []
        for *row, end in rows:
            item = dict(zip(keys, row, strict=True))
            waited = (datetime.fromisoformat(end) if end else current) - datetime.fromisoformat(item["opened_at"])
            listed.append({**item, "waited_seconds": round(waited.total_seconds(), 1)})
        return listed

    def figures(self, at: datetime) -> dict:
        """Handoffs today (the calendar day of `at`, in its own time zone) and in the 7 days to `at`,
        how many got a staff reply and the median wait for it, and containment: the share of customers
        who wrote in those 7 days and were not handed over (None when nobody wrote)."""
        week = stamp(at - timedelta(days=7))
        day = stamp(at.replace(hour=0, minute=0, second=0, microsecond=0))
        rows = self.db.execute("SELECT opened_at, first_reply_at FROM handoffs WHERE opened_at >= ? AND opened_at <= ?",
                               [week, stamp(at)]).fetchall()
        waits = [(datetime.fromisoformat(r) - datetime.fromisoformat(o)).total_seconds() for o, r in rows if r]
        wrote = self.db.execute("SELECT COUNT(DISTINCT user_id) FROM messages WHERE direction = ? AND created_at >= ?",
                                [Direction.IN, week]).fetchone()[0]
        handed = self.db.execute(  # of those who wrote: a customer whose messages were purged does not count
            "SELECT COUNT(DISTINCT h.user_id) FROM handoffs h WHERE h.opened_at >= ? AND EXISTS "
            "(SELECT 1 FROM messages m WHERE m.user_id = h.user_id AND m.direction = ? AND m.created_at >= ?)",
            [week, Direction.IN, week]).fetchone()[0]
        return {
            "handoffs_today": sum(1 for o, _ in rows if o >= day),
            "handoffs_7d": len(rows),
            "replied_7d": len(waits),
            "median_first_reply_seconds": statistics.median(waits) if waits else None,
            "containment_7d": 1 - handed / wrote if wrote else None,
        }


def _leading(rows: list[tuple], value: object) -> int:
    """How many rows from the first carry `value` in their first column, before one that does not."""
    count = 0
    for (found,) in rows:
        if found != value:
            break
        count += 1
    return count
