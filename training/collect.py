"""Read the labelled examples that conversations produced, counting where each came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlite_utils import Database

from training.clean import Labelled
from training.config import LearningSettings


@dataclass(frozen=True)
class Collected:
    rows: list[Labelled]
    by_source: dict[str, int]
    new: int  # labels created since the last run that trained a model


def _labels(db: Database) -> list[Labelled]:
    return [
        Labelled(text, intent, source, created_at)
        for text, intent, source, created_at in db.execute(
            "SELECT text, intent, source, created_at FROM labels ORDER BY id"
        )
    ]


def _confident_predictions(db: Database, threshold: float) -> list[Labelled]:
    """Predictions the bot answered with confidence that nobody refuted (no 👎, no other label)."""
    rows = db.execute(
        """
        SELECT m.text, p.intent, p.created_at FROM predictions p
        JOIN messages m ON m.id = p.message_id
        LEFT JOIN feedback f ON f.message_id = p.message_id
        WHERE p.action = 'answer' AND p.confidence >= ?
          AND (f.positive IS NULL OR f.positive = 1)
          AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.message_id = p.message_id)
        ORDER BY p.message_id
        """,
        [threshold],
    )
    return [Labelled(text, intent, "prediction", created_at) for text, intent, created_at in rows]


def collect(db: Database, since: str | None, s: LearningSettings) -> Collected:
    rows = _labels(db)
    if s.include_predictions:
        rows += _confident_predictions(db, s.prediction_confidence)
    new = sum(1 for r in rows if since is None or r.created_at > since)
    return Collected(rows, dict(Counter(r.source for r in rows)), new)
