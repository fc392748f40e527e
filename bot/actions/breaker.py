"""A circuit breaker per endpoint: an endpoint that keeps failing is left alone for a while.

Without it every customer asking about an order would wait the whole deadline for a shop system
that is down, and the retries would hammer it while it tries to come back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

log = logging.getLogger(__name__)


class Circuit(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are skipped until open_until
    HALF_OPEN = "half-open"  # one trial call is out; its result closes or reopens the circuit


@dataclass(frozen=True)
class BreakerState:
    """For /status: where an endpoint's circuit stands."""

    circuit: Circuit
    failures: int  # in a row
    open_until: datetime | None  # UTC, while open


class Breaker:
    """One endpoint's circuit. Times are monotonic, so a clock change neither opens nor shuts it."""

    def __init__(self, endpoint: str, failures: int, seconds: float) -> None:
        self._endpoint, self._limit, self._seconds = endpoint, failures, seconds
        self._circuit = Circuit.CLOSED
        self._failures = 0
        self._reopen_at = 0.0

    def admit(self) -> bool:
        """Whether a call may go now; after the pause the first caller becomes the half-open trial."""
        if self._circuit is Circuit.OPEN and time.monotonic() >= self._reopen_at:
            self._circuit = Circuit.HALF_OPEN
            return True
        return self._circuit is Circuit.CLOSED

    def record(self, ok: bool) -> None:
        """A finished call's verdict."""
        if ok:
            if self._circuit is not Circuit.CLOSED:
                log.info("actions: endpoint %s answers again; its circuit is closed", self._endpoint)
            self._circuit, self._failures = Circuit.CLOSED, 0
            return
        self._failures += 1
        if self._failures >= self._limit:  # a failed half-open trial too: the count only resets on success
            self._open()

    def abandon(self) -> None:
        """A call cancelled by its caller says nothing about the endpoint: a trial's place goes to the next call."""
        if self._circuit is Circuit.HALF_OPEN:
            self._circuit = Circuit.OPEN

    def state(self) -> BreakerState:
        open_until = None
        if self._circuit is Circuit.OPEN:
            open_until = datetime.fromtimestamp(time.time() + max(0.0, self._reopen_at - time.monotonic()), UTC)
        return BreakerState(self._circuit, self._failures, open_until)

    def _open(self) -> None:
        self._circuit, self._reopen_at = Circuit.OPEN, time.monotonic() + self._seconds
        log.warning("actions: endpoint %s failed %d times in a row; its calls are skipped for %g s",
                    self._endpoint, self._failures, self._seconds)
