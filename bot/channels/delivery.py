"""At-least-once delivery: an update is confirmed to Telegram only once the bot has handled it.

PTB's Updater confirms a batch (the next getUpdates carries offset = last id + 1) as soon as it
has queued it, before any handler ran. A kill -9 then loses every queued update that was not yet
stored: Telegram will not send it again. Here the bot holds the offset back to the oldest update
still being handled, so a crash means redelivery, and the unique update key in the database
makes a redelivery harmless (stored once, answered once).

Telegram confirms by a watermark (every update below the offset), so an update that finished out
of order stays unconfirmed until the older ones finish; if Telegram hands it out again in the
meantime, it is dropped here rather than handled twice.

An answer that waits on the shop's system (bot/actions) is the exception: its update is released
(`AtLeastOnceBot.release`) as soon as the message and the answer without the call are stored, so one
slow endpoint never holds back the confirmation every other customer's updates wait behind. What a
crash during the call leaves unsent is not redelivered by Telegram then; the bot sends it at its next
start instead (bot/usecases/conversation.py `interrupted`).

Webhook mode has the same hole: PTB's webhook answers Telegram's POST with 200 as soon as the
update is queued. `HandledQueue` makes that answer wait until the update has been handled, so a
kill -9 leaves the POST unanswered and Telegram delivers the update again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseRateLimiter, Defaults, ExtBot, SimpleUpdateProcessor
from telegram.request import HTTPXRequest

# How long a poll waits for the updates it would confirm to finish before it confirms only the
# finished prefix and fetches what is new; bounds the extra latency a slow handler causes.
SETTLE_SECONDS = 1.0


class UpdateLedger:
    """Update ids fetched in this process: still being handled, or finished but not yet confirmed."""

    def __init__(self) -> None:
        self.unfinished: set[int] = set()
        self.finished: set[int] = set()
        self._changed: asyncio.Event | None = None

    def confirmable(self, offset: int | None) -> int | None:
        """The offset that confirms only finished updates: `offset`, or the oldest unfinished id below it."""
        if offset is None:
            return None
        return min((i for i in self.unfinished if i < offset), default=offset)

    async def settle(self, offset: int, timeout: float) -> None:
        """Wait until every fetched update below `offset` has finished, or `timeout` passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._changed = self._changed or asyncio.Event()
        while True:
            self._changed.clear()  # before the check, so a finish in between is not missed
            remaining = deadline - loop.time()
            if self.confirmable(offset) == offset or remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return

    def take_new(self, updates: Sequence[Update], confirmed: int | None) -> tuple[Update, ...]:
        """After a successful poll that confirmed below `confirmed`: the updates not seen before."""
        if confirmed is not None:
            self.finished = {i for i in self.finished if i >= confirmed}
        fresh = tuple(u for u in updates if u.update_id not in self.unfinished and u.update_id not in self.finished)
        self.unfinished.update(u.update_id for u in fresh)
        return fresh

    def claim(self, update_id: int) -> bool:
        """Mark a webhook update as being handled; False if it already is (a retried POST)."""
        if update_id in self.unfinished:
            return False
        self.unfinished.add(update_id)
        return True

    async def finished_handling(self, update_id: int) -> None:
        """Wait until `update_id` is no longer being handled; the webhook then forgets it."""
        self._changed = self._changed or asyncio.Event()
        while update_id in self.unfinished:
            self._changed.clear()
            if update_id in self.unfinished:
                await self._changed.wait()
        self.finished.discard(update_id)

    def finish(self, update_id: int) -> None:
        if update_id in self.unfinished:
            self.unfinished.discard(update_id)
            self.finished.add(update_id)
        if self._changed is not None:
            self._changed.set()


class AtLeastOnceBot(ExtBot):
    """ExtBot whose getUpdates never confirms an update the bot has not finished handling."""

    def __init__(self, *args: Any, ledger: UpdateLedger, **kwargs: Any) -> None:
        self._ledger = ledger
        super().__init__(*args, **kwargs)

    async def get_updates(self, offset: int | None = None, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        if offset:
            await self._ledger.settle(offset, SETTLE_SECONDS)
        confirm = self._ledger.confirmable(offset)
        updates = await super().get_updates(confirm, *args, **kwargs)
        return self._ledger.take_new(updates, confirm)

    def release(self, update_id: int) -> None:
        """Confirm `update_id` before its handler ends: what remains of it is stored, and the next start
        finishes it if this process does not (an action's call, see the module docstring)."""
        self._ledger.finish(update_id)


class HandledQueue(asyncio.Queue):
    """The update queue for webhook mode: `put` (PTB's webhook awaits it before answering 200)
    returns once the update has been handled. A retried POST of an update still being handled
    waits for that handling instead of queueing it twice."""

    def __init__(self, ledger: UpdateLedger) -> None:
        super().__init__()
        self._ledger = ledger

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):  # PTB's own stop signal
            await super().put(item)
            return
        if self._ledger.claim(item.update_id):
            await super().put(item)
        await self._ledger.finished_handling(item.update_id)


class LedgerProcessor(SimpleUpdateProcessor):
    """Handles updates concurrently, like PTB's default, and tells the ledger when each is done."""

    __slots__ = ("_ledger",)

    def __init__(self, ledger: UpdateLedger, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._ledger = ledger

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                self._ledger.finish(update.update_id)


def at_least_once_bot(token: str, base_url: str, defaults: Defaults,
                      rate_limiter: BaseRateLimiter | None) -> tuple[AtLeastOnceBot, LedgerProcessor, HandledQueue]:
    """The bot, update processor and webhook queue for ApplicationBuilder().bot(...)
    .concurrent_updates(...) and, in webhook mode, .update_queue(...).

    The requests are what ApplicationBuilder would make (256 connections for calls), except that
    getUpdates gets two: a poll cancelled at shutdown may still hold one while PTB's last
    getUpdates confirms the final updates, which must not time out waiting for it.
    `base_url` empty means Telegram's servers.
    """
    ledger = UpdateLedger()
    urls = {"base_url": base_url, "base_file_url": base_url.replace("/bot", "/file/bot")} if base_url else {}
    bot = AtLeastOnceBot(
        token, ledger=ledger, defaults=defaults, rate_limiter=rate_limiter,
        request=HTTPXRequest(connection_pool_size=256), get_updates_request=HTTPXRequest(connection_pool_size=2),
        **urls,
    )
    return bot, LedgerProcessor(ledger), HandledQueue(ledger)
