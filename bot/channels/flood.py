"""Per-user message rate limit: a flood gets one notice, not one per message."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FloodGuard:
    """Sliding window of `limit` messages per `window` seconds for each user.

    Memory is bounded: only the `max_users` most recently active users are tracked.
    """

    def __init__(self, limit: int, window: float, max_users: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._notified: set[str] = set()

    def hit(self, user: str) -> tuple[bool, bool]:
        """Count one message: (allowed?, send the flood notice now?)."""
        now = self.clock()
        stamps = self._seen.pop(user, None) or deque()
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        self._seen[user] = stamps
        if len(self._seen) > self.max_users:
            old, _ = self._seen.popitem(last=False)
            self._notified.discard(old)
        if len(stamps) < self.limit:
            stamps.append(now)
            self._notified.discard(user)
            return True, False
        notify = user not in self._notified
        self._notified.add(user)
        return False, notify
