"""The buttons the bot sent under its replies to a message: the only presses it accepts.

Telegram hands back a button's callback data unchecked, so a forged press could name any intent;
a press counts only when its choice was really offered for that message (suggestions, 👍/👎, a
person, and the alternatives offered after a 👎).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from storage.db import now


class Offers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message_id: int, choices: Iterable[str]) -> None:
        stamp = now()
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO offers (message_id, choice, created_at) VALUES (?, ?, ?)",
            [(message_id, str(choice), stamp) for choice in choices],
        )

    def made(self, message_id: int, choice: str) -> bool:
        """Whether `choice` was among the buttons sent for `message_id`."""
        row = self.db.execute("SELECT 1 FROM offers WHERE message_id = ? AND choice = ?", [message_id, choice]).fetchone()
        return row is not None
