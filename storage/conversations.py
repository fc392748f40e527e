"""Conversations as training data: messages in and out, predictions, feedback and labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import now, write_transaction

# What a customer's stored messages drag along: rows keyed by message id.
_PER_MESSAGE = ("predictions", "feedback", "review_skips")


@dataclass(frozen=True)
class StoredMessage:
    id: int
    user_id: int
    chat_id: str
    channel: str
    text: str
    language: str | None


class Conversations:
    """Table-level operations the dialogue engine and the learning loop need."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def user_id(self, channel: str, external_id: str, language: str | None = None) -> int:
        """The internal id for a channel's user, created on first contact."""
        row = self.db.execute(
            "SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]
        ).fetchone()
        if row:
            return row[0]
        return self._insert("users", {"channel": channel, "external_id": external_id, "language": language, "created_at": now()})

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
                "direction": "in",
                "text": text,
                "language": language,
                "external_key": external_key,
                "created_at": now(),
            }
            message_id = self._insert("messages", row)
        return StoredMessage(message_id, user_id, chat_id, channel, text, language)

    def add_reply(self, incoming: StoredMessage, text: str, prediction: dict | None) -> int:
        """Store the bot's answer and, when a model was asked, its prediction, in one transaction."""
        with self.db.atomic():
            if prediction is not None:
                self._insert(
                    "predictions",
                    {**prediction, "message_id": incoming.id, "topk": json.dumps(prediction["topk"]), "created_at": now()},
                )
            return self._insert(
                "messages",
                {
                    "user_id": incoming.user_id,
                    "chat_id": incoming.chat_id,
                    "channel": incoming.channel,
                    "direction": "out",
                    "text": text,
                    "language": incoming.language,
                    "reply_to": incoming.id,
                    "created_at": now(),
                },
            )

    def _insert(self, table: str, row: dict) -> int:
        """A plain INSERT for the per-message writes: sqlite-utils' `insert` looks the table up in
        sqlite_master three times and wraps itself in a savepoint on every call (15 of the 25
        statements each answer cost), for a schema the migrations already fixed."""
        columns, marks = ", ".join(row), ", ".join("?" * len(row))
        return self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())).lastrowid

    def mark_answered(self, message_id: int) -> None:
        """The channel delivered the answer to this incoming message (see `unanswered`)."""
        self.db.execute("UPDATE messages SET answered_at = ? WHERE id = ? AND answered_at IS NULL", [now(), message_id])

    def unanswered(self, external_key: str) -> tuple[StoredMessage, str | None] | None:
        """The incoming message stored under this update key if its answer was never delivered.

        Returns the message and the text of its stored answer (None if none was stored yet); None
        when there is no such message or its answer was delivered.
        """
        row = self.db.execute(
            "SELECT m.id, m.user_id, m.chat_id, m.channel, m.text, m.language, r.text FROM messages m "
            "LEFT JOIN messages r ON r.reply_to = m.id AND r.direction = 'out' "
            "WHERE m.external_key = ? AND m.direction = 'in' AND m.answered_at IS NULL ORDER BY r.id LIMIT 1",
            [external_key],
        ).fetchone()
        return (StoredMessage(*row[:6]), row[6]) if row else None

    def message(self, message_id: int) -> StoredMessage | None:
        row = self.db.execute(
            "SELECT id, user_id, chat_id, channel, text, language FROM messages WHERE id = ? AND direction = 'in'",
            [message_id],
        ).fetchone()
        return StoredMessage(*row) if row else None

    def owner(self, message_id: int) -> tuple[str, str] | None:
        """(channel, external user id) of an incoming message: who may label it."""
        row = self.db.execute(
            "SELECT u.channel, u.external_id FROM messages m JOIN users u ON u.id = m.user_id "
            "WHERE m.id = ? AND m.direction = 'in'",
            [message_id],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def prediction(self, message_id: int) -> dict | None:
        rows = list(self.db["predictions"].rows_where("message_id = ?", [message_id]))
        if not rows:
            return None
        return {**rows[0], "topk": [tuple(p) for p in json.loads(rows[0]["topk"])]}

    def add_label(self, message_id: int, intent: str, source: str, labelled_by: str | None = None) -> int:
        message = self.message(message_id)
        if message is None:
            raise KeyError(f"no incoming message {message_id}")
        return self.db["labels"].insert(
            {
                "message_id": message_id,
                "text": message.text,
                "intent": intent,
                "source": source,
                "labelled_by": labelled_by,
                "created_at": now(),
            }
        ).last_pk

    def add_feedback(self, message_id: int, positive: bool) -> bool:
        """Record 👍/👎 once per message; a 👍 also confirms the predicted intent as a label.

        Returns False when feedback was already given (a second press changes nothing).
        """
        with self.db.atomic():
            if self.db.execute("SELECT 1 FROM feedback WHERE message_id = ?", [message_id]).fetchone():
                return False
            self.db["feedback"].insert({"message_id": message_id, "positive": int(positive), "created_at": now()})
            prediction = self.prediction(message_id)
            if positive and prediction:
                self.add_label(message_id, prediction["intent"], "feedback")
        return True

    def has_label(self, message_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM labels WHERE message_id = ?", [message_id]).fetchone() is not None

    def count(self, table: str) -> int:
        return self.db[table].count

    def review_queue(self, limit: int = 1) -> list[StoredMessage]:
        """Messages a customer marked 👎 without choosing a better answer, oldest first."""
        rows = self.db.execute(
            """
            SELECT m.id, m.user_id, m.chat_id, m.channel, m.text, m.language FROM messages m
            JOIN feedback f ON f.message_id = m.id AND f.positive = 0
            WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.message_id = m.id)
              AND NOT EXISTS (SELECT 1 FROM review_skips s WHERE s.message_id = m.id)
            ORDER BY m.id LIMIT ?
            """,
            [limit],
        ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def skip_review(self, message_id: int, admin: str) -> None:
        self.db["review_skips"].insert(
            {"message_id": message_id, "skipped_by": admin, "created_at": now()}, replace=True
        )

    def labels_since(self, since: str | None) -> int:
        if since is None:
            return self.db["labels"].count
        return self.db.execute("SELECT COUNT(*) FROM labels WHERE created_at > ?", [since]).fetchone()[0]

    def audit(self, actor: str, action: str, detail: str = "", allowed: bool = True) -> None:
        self.db["audit"].insert(
            {"actor": actor, "action": action, "detail": detail, "allowed": int(allowed), "created_at": now()}
        )

    def forget(self, channel: str, external_id: str) -> dict[str, int]:
        """Delete everything stored about one customer, in one transaction: the right to erasure.

        Their messages both ways, predictions, feedback, labels on their messages, review skips and
        their users row. Returns rows deleted per table (all zero for someone never stored). The
        audit row names the channel only, so the erasure does not store the person again.
        """
        counts = dict.fromkeys(("messages", "predictions", "feedback", "labels", "review_skips", "users"), 0)
        with write_transaction(self.db):
            row = self.db.execute(
                "SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]
            ).fetchone()
            if row is not None:
                counts.update(self._delete_messages("SELECT id FROM messages WHERE user_id = ?", [row[0]], False))
                counts["users"] = self.db.execute("DELETE FROM users WHERE id = ?", [row[0]]).rowcount
            self.audit(channel, "forget", json.dumps(counts))
        return counts

    def purge(self, older_than_days: int, keep_labels: bool, actor: str = "retention") -> dict[str, int]:
        """Delete messages older than the cutoff with their predictions, feedback and skips (retention).

        Labels on them are kept detached (no message, no labeller: the text is already redacted) when
        `keep_labels`, else deleted. Users left with no messages go too. 0 days keeps everything.
        """
        if older_than_days < 0:
            raise ValueError(f"older_than_days must be 0 (keep forever) or more, not {older_than_days}")
        counts = dict.fromkeys(("messages", *_PER_MESSAGE, "labels", "labels_detached", "users"), 0)
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
        with write_transaction(self.db):
            if older_than_days > 0:
                counts.update(self._delete_messages("SELECT id FROM messages WHERE created_at < ?", [cutoff], keep_labels))
                counts["users"] = self.db.execute(
                    "DELETE FROM users WHERE created_at < ? AND NOT EXISTS "
                    "(SELECT 1 FROM messages m WHERE m.user_id = users.id)",
                    [cutoff],
                ).rowcount
            detail = {"older_than_days": older_than_days, "keep_labels": keep_labels, **counts}
            self.audit(actor, "purge", json.dumps(detail))
        return counts

    def _delete_messages(self, selected: str, params: list, keep_labels: bool) -> dict[str, int]:
        """Delete the messages whose ids `selected` (SQL) returns, and every row keyed by them.

        Call inside a transaction. Later messages replying to them lose the link, not their row,
        so foreign keys stay consistent.
        """
        where = f"message_id IN ({selected})"
        if keep_labels:
            counts = {"labels_detached": self._rows(f"UPDATE labels SET message_id = NULL, labelled_by = NULL WHERE {where}", params)}
        else:
            counts = {"labels": self._rows(f"DELETE FROM labels WHERE {where}", params)}
        counts |= {table: self._rows(f"DELETE FROM {table} WHERE {where}", params) for table in _PER_MESSAGE}
        self._rows(f"UPDATE messages SET reply_to = NULL WHERE reply_to IN ({selected}) AND id NOT IN ({selected})", params * 2)
        counts["messages"] = self._rows(f"DELETE FROM messages WHERE id IN ({selected})", params)
        return counts

    def _rows(self, sql: str, params: list) -> int:
        """Run one UPDATE/DELETE and say how many rows it changed."""
        return self.db.execute(sql, params).rowcount
