"""Writes the database refused (disk full, read-only), held in memory until it recovers.

The bot keeps answering from the live model while storage is down; what it could not store waits
here, bounded, and is written in order as soon as a write succeeds again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class PendingWrites:
    limit: int
    items: deque = field(default_factory=deque)
    dropped: int = 0
    failing: str | None = None  # the error while storage is down
    alert: str | None = None  # one message for admins per outage, taken by the channel

    def hold(self, write: Callable[[], object], error: Exception) -> None:
        if self.failing is None:
            self.failing = str(error)
            self.alert = f"Storage failure: {error}. Answering from the live model; holding up to {self.limit} writes in memory."
            log.error("storage failed (%s): holding writes in memory, up to %d", error, self.limit)
        if len(self.items) >= self.limit:
            self.items.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.error("pending-write bound of %d reached: dropping the oldest held messages", self.limit)
        self.items.append(write)

    def flush(self, is_storage_error: Callable[[Exception], bool]) -> int:
        """Write what is held, oldest first; stop at the first refusal. Returns how many were written."""
        written = 0
        while self.items:
            try:
                self.items[0]()
            except Exception as exc:  # noqa: BLE001 - classified by the caller's predicate
                if not is_storage_error(exc):
                    raise
                return written
            self.items.popleft()
            written += 1
        if self.failing is not None:
            log.warning("storage recovered: wrote %d held writes (%d dropped at the bound)", written, self.dropped)
            self.failing, self.dropped = None, 0
        return written

    def take_alert(self) -> str | None:
        alert, self.alert = self.alert, None
        return alert
