"""The conversation itself: users, their messages, the bot's (and staff's) replies and the predictions behind them.

Every answer the bot gives passes through here, so these are the hot writes: plain INSERTs
(`storage.db.insert`), and a reply is stored with its prediction in one transaction so the
training data never holds a prediction without the answer it led to, or the reverse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from storage.db import insert, now


class Direction(StrEnum):
    """`messages.direction`: who wrote the message."""

    IN = "in"  # from the customer
    OUT = "out"  # from the bot, or a member of staff (`author`)


@dataclass(frozen=True)
class StoredMessage:
    """An incoming message as stored: what a reply, a label or a review needs to refer to it."""

    id: int
    user_id: int
    chat_id: str
    channel: str
    text: str
    language: str | None


_INCOMING_COLUMNS = "m.id, m.user_id, m.chat_id, m.channel, m.text, m.language"


class Messages:
    def __init__(self, db: Database) -> None:
        self.db = db

    def user_id(self, channel: str, external_id: str, language: str | None = None) -> int:
        """The internal id for a channel's user, created on first contact."""
        row = self.db.execute(
            "SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]
        ).fetchone()
        if row:
            return row[0]
        return insert(self.db, "users", {"channel": channel, "external_id": external_id, "language": language, "created_at": now()})

    def user_id_of(self, channel: str, external_id: str) -> int | None:
        """The internal id of a channel's user; None for someone never stored."""
        row = self.db.execute(
            "SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]
        ).fetchone()
        return row[0] if row else None

    def external_user(self, user_id: int) -> str | None:
        """The channel's own id of a user (their Telegram user id)."""
        row = self.db.execute("SELECT external_id FROM users WHERE id = ?", [user_id]).fetchone()
        return row[0] if row else None

    def add_incoming(
        self,
        *,
        channel: str,
        user: str,
        chat_id: str,
        text: str,
        language: str | None,
        external_key: str | None = None,
    ) -> StoredMessage | None:
        """Store a customer's message; None when `external_key` was stored before (a redelivery)."""
        with self.db.atomic():
            if external_key and self.db.execute(
                "SELECT 1 FROM messages WHERE external_key = ?", [external_key]
            ).fetchone():
                return None
            user_id = self.user_id(channel, user, language)
            row = {
                "user_id": user_id,
                "chat_id": chat_id,
                "channel": channel,
                "direction": Direction.IN,
                "text": text,
                "language": language,
                "external_key": external_key,
                "created_at": now(),
            }
            message_id = insert(self.db, "messages", row)
        return StoredMessage(message_id, user_id, chat_id, channel, text, language)

    def add_reply(self, incoming: StoredMessage, text: str, prediction: dict | None) -> int:
        """Store the bot's answer and, when a model was asked, its prediction, in one transaction."""
        with self.db.atomic():
            if prediction is not None:
                insert(
                    self.db,
                    "predictions",
                    {**prediction, "message_id": incoming.id, "topk": json.dumps(prediction["topk"]), "created_at": now()},
                )
            return insert(
                self.db,
                "messages",
                {
                    "user_id": incoming.user_id,
                    "chat_id": incoming.chat_id,
                    "channel": incoming.channel,
                    "direction": Direction.OUT,
                    "text": text,
                    "language": incoming.language,
                    "reply_to": incoming.id,
                    "created_at": now(),
                },
            )

    def add_staff(self, *, customer_user_id: int, chat_id: str, channel: str, text: str, author: str,
                  external_key: str) -> int | None:
        """Store a staff reply in the customer's conversation (an outgoing message with its `author`,
        "telegram:<staff id>", and no message it replies to); None when its update was stored before."""
        with self.db.atomic():
            if self.db.execute("SELECT 1 FROM messages WHERE external_key = ?", [external_key]).fetchone():
                return None
            return insert(self.db, "messages", {
                "user_id": customer_user_id, "chat_id": chat_id, "channel": channel, "direction": Direction.OUT,
                "text": text, "author": author, "external_key": external_key, "created_at": now(),
            })

    def undelivered_staff(self, external_key: str) -> tuple[int, str] | None:
        """A staff reply stored under this update key that never reached the customer (a redelivery)."""
        row = self.db.execute(
            "SELECT id, text FROM messages WHERE external_key = ? AND direction = ? AND author IS NOT NULL "
            "AND answered_at IS NULL", [external_key, Direction.OUT]).fetchone()
        return (row[0], row[1]) if row else None

    def revise_reply(self, incoming_id: int, text: str) -> None:
        """The bot's latest reply to a message becomes what was really sent (a handoff that could not open)."""
        self.db.execute(
            "UPDATE messages SET text = ? WHERE id = (SELECT MAX(id) FROM messages WHERE reply_to = ? AND direction = ?)",
            [text, incoming_id, Direction.OUT])

    def revise(self, message_id: int, text: str) -> None:
        """A staff reply's text after its author edited it: the log holds what the customer now reads."""
        self.db.execute("UPDATE messages SET text = ? WHERE id = ? AND author IS NOT NULL", [text, message_id])

    def redact_further(self, message_id: int, text: str) -> None:
        """A stored customer message with more taken out: personal data only the entities showed (a postcode)."""
        self.db.execute("UPDATE messages SET text = ? WHERE id = ?", [text, message_id])

    def mark_answered(self, message_id: int) -> None:
        """The channel delivered the answer to this incoming message (see `unanswered`), or this staff
        reply to the customer (see `undelivered_staff`)."""
        self.db.execute("UPDATE messages SET answered_at = ? WHERE id = ? AND answered_at IS NULL", [now(), message_id])

    def unanswered(self, external_key: str) -> tuple[StoredMessage, str | None] | None:
        """The incoming message stored under this update key if its answer was never delivered.

        Returns the message and the text of its stored answer (None if none was stored yet); None
        when there is no such message or its answer was delivered.
        """
        row = self.db.execute(
            f"SELECT {_INCOMING_COLUMNS}, r.text FROM messages m "
            "LEFT JOIN messages r ON r.reply_to = m.id AND r.direction = ? "
            "WHERE m.external_key = ? AND m.direction = ? AND m.answered_at IS NULL ORDER BY r.id LIMIT 1",
            [Direction.OUT, external_key, Direction.IN],
        ).fetchone()
        return (StoredMessage(*row[:6]), row[6]) if row else None

    def undelivered_answers(self, channel: str, since: str, action: str) -> list[tuple[StoredMessage, str, str]]:
        """Incoming messages of `channel` since `since` whose stored answer (its prediction's action
        `action`) never reached the customer: each with its update key and the intent answered.

        What a crash during an action's call leaves behind once the update was released early
        (bot/channels/delivery.py); the index on `created_at` keeps it a short range read.
        """
        rows = self.db.execute(
            f"SELECT {_INCOMING_COLUMNS}, m.external_key, p.intent FROM messages m "
            "JOIN predictions p ON p.message_id = m.id "
            "WHERE m.created_at >= ? AND m.channel = ? AND m.direction = ? AND m.answered_at IS NULL "
            "AND m.external_key IS NOT NULL AND p.action = ? "
            "AND EXISTS (SELECT 1 FROM messages r WHERE r.reply_to = m.id AND r.direction = ?) ORDER BY m.id",
            [since, channel, Direction.IN, action, Direction.OUT],
        ).fetchall()
        return [(StoredMessage(*row[:6]), row[6], row[7]) for row in rows]

    def get(self, message_id: int) -> StoredMessage | None:
        """An incoming message by id; None for an unknown id or one of the bot's replies."""
        row = self.db.execute(
            f"SELECT {_INCOMING_COLUMNS} FROM messages m WHERE m.id = ? AND m.direction = ?",
            [message_id, Direction.IN],
        ).fetchone()
        return StoredMessage(*row) if row else None

    def owner(self, message_id: int) -> tuple[str, str] | None:
        """(channel, external user id) of an incoming message: who may label it."""
        row = self.db.execute(
            "SELECT u.channel, u.external_id FROM messages m JOIN users u ON u.id = m.user_id "
            "WHERE m.id = ? AND m.direction = ?",
            [message_id, Direction.IN],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def prediction(self, message_id: int) -> dict | None:
        """The model's prediction for an incoming message, its top-k as (intent, probability) tuples."""
        rows = list(self.db["predictions"].rows_where("message_id = ?", [message_id]))
        if not rows:
            return None
        return {**rows[0], "topk": [tuple(p) for p in json.loads(rows[0]["topk"])]}
