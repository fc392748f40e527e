"""Labels: which intent a text has, and who said so. The learning loop trains on these.

A label copies its message's (redacted) text, so it outlives the message when a retention purge
keeps labels detached, and imported labels need no message at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlite_utils import Database

from storage.db import insert, now
from storage.messages import Messages


class LabelSource(StrEnum):
    """`labels.source`: where a label came from (collection counts by it)."""

    SUGGESTION = "suggestion"  # the customer chose one of the bot's "did you mean" buttons
    FEEDBACK = "feedback"  # the customer's 👍 confirmed the predicted intent
    ADMIN = "admin"  # an admin labelled a message in review
    IMPORT = "import"  # a row of an imported CSV
    PREDICTION = "prediction"  # a confident, unrefuted prediction (collected, never stored)
    STAFF = "staff"  # a member of staff, for a customer's question in a handed-over conversation


class Labels:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message_id: int, intent: str, source: LabelSource, labelled_by: str | None = None) -> int:
        """Label an incoming message with `intent`; KeyError when there is no such incoming message."""
        message = Messages(self.db).get(message_id)
        if message is None:
            raise KeyError(f"no incoming message {message_id}")
        row = {
            "message_id": message_id,
            "text": message.text,
            "intent": intent,
            "source": source,
            "labelled_by": labelled_by,
            "created_at": now(),
        }
        return insert(self.db, "labels", row)

    def replace(self, message_id: int, intent: str, source: LabelSource, labelled_by: str) -> int:
        """Label a message, replacing the label this source gave it before: a correction, not a second vote."""
        with self.db.atomic():
            self.db.execute("DELETE FROM labels WHERE message_id = ? AND source = ?", [message_id, source])
            return self.add(message_id, intent, source, labelled_by)

    def add_many(self, rows: Iterable[tuple[str, str]], source: LabelSource, labelled_by: str) -> int:
        """Store (text, intent) rows with no message behind them, all or none: an import."""
        stamp = now()
        records = [
            {"message_id": None, "text": text, "intent": intent, "source": source, "labelled_by": labelled_by, "created_at": stamp}
            for text, intent in rows
        ]
        with self.db.atomic():
            self.db["labels"].insert_all(records)
        return len(records)

    def exists_for(self, message_id: int) -> bool:
        """Whether this message is labelled already (a second label is refused, not stacked)."""
        return self.db.execute("SELECT 1 FROM labels WHERE message_id = ?", [message_id]).fetchone() is not None

    def count_since(self, since: str | None) -> int:
        """Labels created after `since` (all when None): what the next training would learn anew."""
        if since is None:
            return self.db["labels"].count
        return self.db.execute("SELECT COUNT(*) FROM labels WHERE created_at > ?", [since]).fetchone()[0]

    def all(self) -> list[tuple[str, str, LabelSource, str]]:
        """Every label as (text, intent, source, created_at), in the order they were made."""
        return [
            (text, intent, LabelSource(source), created_at)
            for text, intent, source, created_at in self.db.execute(
                "SELECT text, intent, source, created_at FROM labels ORDER BY id"
            )
        ]

    def confident_predictions(self, threshold: float, action: str) -> list[tuple[str, str, str]]:
        """(text, intent, created_at) of predictions the bot acted on with `action` at `threshold` or more
        that nobody refuted (no 👎, no label of any kind), in message order.

        `action` is the policy's value for an answer sent (`training.policy.Action.ANSWER`): storage
        does not import training, so the caller names it.
        """
        return self.db.execute(
            """
            SELECT m.text, p.intent, p.created_at FROM predictions p
            JOIN messages m ON m.id = p.message_id
            LEFT JOIN feedback f ON f.message_id = p.message_id
            WHERE p.action = ? AND p.confidence >= ?
              AND (f.positive IS NULL OR f.positive = 1)
              AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.message_id = p.message_id)
            ORDER BY p.message_id
            """,
            [action, threshold],
        ).fetchall()
