"""What became of each answer: one `outcomes` row per customer message the model classified.

The rules that open and decide rows are bot/outcomes.py (its docstring is the definition of each
outcome); this module only reads and writes them. Every read per message is an indexed lookup: a
customer's open row through the partial unique index on open rows, the rows whose window passed
through the index on `due_at` of open rows. Nothing here scans the table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from sqlite_utils import Database

from storage.db import insert


class Outcome(StrEnum):
    """`outcomes.outcome` (NULL while the row is open); bot/outcomes.py says when each is decided."""

    RESOLVED = "resolved"
    REPHRASED = "rephrased"
    THUMBS_DOWN = "thumbs_down"
    HANDOFF = "handoff"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class OpenRow:
    """A customer's answer still waiting for what comes next."""

    message_id: int
    intent: str  # the intent whose answer the customer got
    asked: bool  # the bot's latest reply in this exchange asked for something an action needs
    due_at: str  # when the window ends: quiet until then is resolved


@dataclass(frozen=True)
class Answered:
    """A new row: who was answered, by which model (and A/B arm), about what."""

    message_id: int
    user_id: int
    model_version: str
    arm: str | None
    intent: str
    language: str | None
    day: str  # the answer's date in [telegram] timezone
    answered_at: str
    due_at: str
    asked: bool = False
    said: int | None = None  # a fallback's words, fingerprinted (bot/outcomes.py `fingerprint`)


class Outcomes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, row: Answered, outcome: Outcome | None) -> None:
        """The row of a message just answered: open (None), or decided at once (a fallback, a handoff)."""
        values = {**asdict(row), "asked": int(row.asked), "outcome": outcome,
                  "decided_at": row.answered_at if outcome else None}
        insert(self.db, "outcomes", values)

    def open_row(self, user_id: int) -> OpenRow | None:
        """The customer's open row, whatever its window (see `expire` for one that passed)."""
        row = self.db.execute("SELECT message_id, intent, asked, due_at FROM outcomes WHERE user_id = ? "
                              "AND outcome IS NULL", [user_id]).fetchone()
        return OpenRow(row[0], row[1], bool(row[2]), row[3]) if row else None

    def decide(self, message_id: int, outcome: Outcome, at: str) -> bool:
        """Decide an open row; False when it was decided already (a decided row is final)."""
        cursor = self.db.execute("UPDATE outcomes SET outcome = ?, decided_at = ? WHERE message_id = ? "
                                 "AND outcome IS NULL", [outcome, at, message_id])
        return cursor.rowcount == 1

    def carry_on(self, message_id: int, intent: str, asked: bool, due_at: str) -> None:
        """The exchange goes on (the customer answered the bot's question, or chose a suggestion): the open
        row takes the intent now answered and its window starts again."""
        self.db.execute("UPDATE outcomes SET intent = ?, asked = ?, due_at = ? WHERE message_id = ? "
                        "AND outcome IS NULL", [intent, int(asked), due_at, message_id])

    def rate(self, message_id: int, positive: bool) -> bool:
        """The customer's 👍/👎 on this row's answer, kept whether or not it decides the row; False: no such row."""
        return self.db.execute("UPDATE outcomes SET rating = ? WHERE message_id = ?",
                               [int(positive), message_id]).rowcount == 1

    def expire(self, now: str) -> int:
        """Resolve every open row whose window passed by `now`, as of when it passed; how many."""
        return self.db.execute("UPDATE outcomes SET outcome = ?, decided_at = due_at WHERE outcome IS NULL "
                               "AND due_at <= ?", [Outcome.RESOLVED, now]).rowcount
