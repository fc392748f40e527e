"""Calls to the shop's system (bot/actions): how each ended and how long it took, for /status and the bench.

Keyed by the customer's message the call answered, so erasure and the retention purge take them
with the message. Nothing a customer said or the shop answered is kept here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import now


@dataclass(frozen=True)
class EndpointFigures:
    """One endpoint over a window: calls per outcome and the median latency."""

    endpoint: str
    outcomes: dict[str, int]
    median_ms: float | None


class ActionCalls:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, message_id: int, endpoint: str, outcome: str, latency_ms: float, reason: str = "") -> None:
        """One call's end; a second record for the same message (a redelivery's call) replaces the first."""
        self.db.execute(
            "INSERT OR REPLACE INTO action_calls (message_id, endpoint, outcome, latency_ms, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [message_id, endpoint, outcome, latency_ms, reason, now()])

    def recorded(self, message_id: int) -> bool:
        """Whether the call answering this message ended (an interrupted one never did)."""
        return self.db.execute("SELECT 1 FROM action_calls WHERE message_id = ?", [message_id]).fetchone() is not None

    def figures(self, days: int = 7) -> list[EndpointFigures]:
        """Per endpoint over the last `days` days (indexed by time: /status reads it, not the hot path)."""
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
        rows = self.db.execute(
            "SELECT endpoint, outcome, latency_ms FROM action_calls WHERE created_at >= ? ORDER BY endpoint", [since])
        outcomes: dict[str, dict[str, int]] = {}
        latencies: dict[str, list[float]] = {}
        for endpoint, outcome, latency in rows:
            counts = outcomes.setdefault(endpoint, {})
            counts[outcome] = counts.get(outcome, 0) + 1
            latencies.setdefault(endpoint, []).append(latency)
        return [EndpointFigures(e, outcomes[e], statistics.median(latencies[e])) for e in outcomes]
