"""The question the bot is waiting on, per customer: "Which order is it about?" and what it knows so far.

Kept in SQLite, so a restart in the middle of a question continues it. Only slots whose values are
not personal data are written (`filled`); an e-mail or a postcode given for verification lives in
the engine's memory for that one call and is asked again after a restart (bot/slots.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import now


@dataclass(frozen=True)
class Awaiting:
    """One customer's open question: the intent being served, the slot asked for, what is known."""

    user_id: int
    intent: str
    slot: str
    filled: dict[str, str]
    message_id: int | None  # the customer's message that started it (the one the action answers)
    attempts: int  # replies so far that did not fill the slot
    expires_at: str

    def expired(self, at: datetime | None = None) -> bool:
        return (at or datetime.now(UTC)).isoformat(timespec="milliseconds") >= self.expires_at


class Dialogue:
    def __init__(self, db: Database) -> None:
        self.db = db

    def awaiting(self, user_id: int) -> Awaiting | None:
        """The customer's open question, expired or not (the engine decides what an expired one means)."""
        row = self.db.execute(
            "SELECT user_id, intent, slot, filled, message_id, attempts, expires_at FROM dialogue_state WHERE user_id = ?",
            [user_id]).fetchone()
        if row is None:
            return None
        return Awaiting(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    def ask(self, user_id: int, intent: str, slot: str, filled: dict[str, str], message_id: int | None,
            timeout: timedelta, attempts: int = 0) -> None:
        """Wait for `slot` of `intent` until `timeout` from now; replaces any earlier question."""
        expires = (datetime.now(UTC) + timeout).isoformat(timespec="milliseconds")
        self.db.execute(
            "INSERT OR REPLACE INTO dialogue_state (user_id, intent, slot, filled, message_id, attempts, expires_at, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [user_id, intent, slot, json.dumps(filled, ensure_ascii=False), message_id, attempts, expires, now()])

    def clear(self, user_id: int) -> None:
        self.db.execute("DELETE FROM dialogue_state WHERE user_id = ?", [user_id])
