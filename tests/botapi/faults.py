"""Fault injection: the next N calls of a method fail the way Telegram or the network fails."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .errors import ApiError, server_error, too_many_requests

KINDS = ("429", "500", "502", "drop", "delay")


@dataclass
class Fault:
    kind: str
    remaining: int
    retry_after: int
    delay: float
    apply_first: bool

    def error(self) -> ApiError | None:
        """The error envelope to answer with; None for drop and delay, which answer differently."""
        if self.kind == "429":
            return too_many_requests(self.retry_after)
        if self.kind in ("500", "502"):
            return server_error(int(self.kind))
        return None


def fault_kind(kind: str | int) -> str:
    normalized = str(kind).lower()
    if normalized not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
    return normalized


class FaultPlan:
    """Faults queued per method (case-insensitive), served first in, first out."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {}

    def add(self, method: str, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        self._queued.setdefault(method.lower(), deque()).append(fault)

    def take(self, method: str) -> Fault | None:
        queue = self._queued.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
        return fault

    def clear(self) -> None:
        self._queued.clear()
