"""One relay at a time per conversation, so a customer's messages reach the topic in the order written.

Updates are handled concurrently, and PTB's rate limiter (aiolimiter) lets a newcomer take capacity
freed before a waiting call wakes up: under Telegram's pace for a group, a customer's second message
could overtake their first. Handlers reach this lock in the order their updates were stored (the
worker is one thread, first in first out), and asyncio's lock is fair, so holding it across the copy
keeps each customer's order. A topic recreated after staff deleted it is made once, under the same lock.
"""

from __future__ import annotations

import asyncio
from weakref import WeakValueDictionary


class RelayOrder:
    """A lock per chat, alive while some handler holds or waits for it (no growth with every customer)."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()

    def of(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock
