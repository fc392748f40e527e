"""Sending to Telegram: escaped, split to the length limit, retried on transient failures.

PTB's AIORateLimiter paces calls and retries 429s; this retries network errors and 5xx, so an
answer is not lost to a dropped connection or a bad gateway.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta

from telegram import Message
from telegram.constants import MessageLimit
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram_context import Context

log = logging.getLogger(__name__)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Chunks within Telegram's limit, cut at line or word breaks where possible."""
    chunks = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip()
    return [*chunks, text] if text else chunks


async def send(context: Context, chat_id: int, text: str, markup=None, *, thread_id: int | None = None) -> Message | None:
    """Send `text` (escaped for HTML, split if long; into a forum topic with `thread_id`), retrying
    transient failures. Returns the last part sent."""
    attempts = context.bot_data.config.telegram.send_retries
    chunks = split_text(html.escape(text, quote=False))
    sent = None
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent = await with_retries(
            lambda c=chunk, m=markup if last else None: context.bot.send_message(chat_id, c, reply_markup=m,
                                                                                 message_thread_id=thread_id),
            attempts,
        )
    return sent


async def alert_admins(context: Context, text: str) -> None:
    """Something admins must act on; one admin who cannot be reached does not stop the others hearing it."""
    for admin in context.bot_data.config.telegram.admin_ids:
        try:
            await send(context, admin, text)
        except TelegramError as exc:
            log.warning("admin %s was not told %r: %s", admin, text, exc)


async def with_retries(call, attempts: int):
    """`call()` again after a network error, a 5xx or a 429, `attempts` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:  # the rate limiter already waited and retried; honour the server
            if attempt == attempts:
                raise
            delay = exc.retry_after
            await asyncio.sleep(delay.total_seconds() if isinstance(delay, timedelta) else float(delay))
        except BadRequest:
            raise
        except NetworkError as exc:
            if attempt == attempts:
                raise
            log.warning("send failed (%s), attempt %d of %d", exc, attempt, attempts)
            await asyncio.sleep(min(0.2 * 2**attempt, 5))
