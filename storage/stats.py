"""The queries behind `supportbot stats` and /stats: counts of outcomes rows since a day, nothing else.

Each reads one covering index of `outcomes` (storage/schema.py m010) over the days asked for, so no row of
the table itself is read; the counts per day group in the index's own order, with no sort. Only the few
messages on the list of what the bot could not answer are read from `messages`, for their (redacted) text.
`/stats` must answer within a second on a million messages: bench/phases/stats.py measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from storage.outcomes import Outcome


@dataclass(frozen=True)
class Counted:
    """Rows of one day and model version with one outcome (None: open) and rating (1 👍, 0 👎, None)."""

    day: str
    model_version: str
    outcome: Outcome | None
    rating: int | None
    n: int


@dataclass(frozen=True)
class Volume:
    """Rows of one day about one intent in one language."""

    day: str
    intent: str
    language: str  # en or zh: the model classifies nothing else
    n: int


def outcome_counts(db: Database, since_day: str) -> list[Counted]:
    """Rows answered on `since_day` (a date, as `outcomes.day`) or later, counted per day, model version,
    outcome and rating."""
    rows = db.execute("SELECT day, model_version, outcome, rating, COUNT(*) FROM outcomes WHERE day >= ? "
                      "GROUP BY day, model_version, outcome, rating", [since_day]).fetchall()
    return [Counted(day, version, Outcome(outcome) if outcome else None, rating, n)
            for day, version, outcome, rating, n in rows]


def volumes(db: Database, since_day: str) -> list[Volume]:
    """Rows answered on `since_day` or later, counted per day, intent and language."""
    rows = db.execute("SELECT day, intent, language, COUNT(*) FROM outcomes WHERE day >= ? "
                      "GROUP BY day, intent, language", [since_day]).fetchall()
    return [Volume(*row) for row in rows]


def unanswered(db: Database, since_day: str, limit: int) -> list[tuple[str, int]]:
    """The `limit` messages the bot could not answer (fallbacks) most often since `since_day`, those with the same
    words counted together (their fingerprint, `outcomes.said`), each as its latest one was stored (redacted)."""
    top = db.execute("SELECT said, COUNT(*) AS n, MAX(message_id) FROM outcomes WHERE outcome = ? AND day >= ? "
                     "GROUP BY said ORDER BY n DESC, MAX(message_id) DESC LIMIT ?",
                     [Outcome.FALLBACK, since_day, limit]).fetchall()
    texts = dict(db.execute(f"SELECT id, text FROM messages WHERE id IN ({', '.join('?' * len(top))})",
                            [latest for _, _, latest in top]).fetchall())
    return [(texts[latest], n) for _, n, latest in top]
