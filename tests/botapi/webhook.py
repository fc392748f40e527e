"""Webhook delivery: POST each pending update, in order, to the webhook URL.

Like Telegram: the secret goes in X-Telegram-Bot-Api-Secret-Token, a non-2xx answer or a
connection error is retried with backoff and reported by getWebhookInfo, and an update leaves
the queue only once delivered. Retries are bounded: after the last one the update is dropped
(and kept in `dropped`), so one broken receiver cannot wedge a test. Nothing here may crash
the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from .model import WebhookDelivery
from .store import State

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDeliverer:
    def __init__(self, state: State, retry_delays: Sequence[float], request_timeout: float) -> None:
        self.state = state
        self.retry_delays = tuple(retry_delays)
        self.request_timeout = request_timeout
        self.deliveries: list[WebhookDelivery] = []
        self.dropped: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name="botapi-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            await self.state.changed.until(lambda: self.state.webhook.url and len(self.state.updates), None)
            try:
                await self._deliver_first()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a delivery bug must not stop the server
                log.exception("webhook delivery failed unexpectedly")
                await asyncio.sleep(self.retry_delays[0] if self.retry_delays else 0.05)

    async def _deliver_first(self) -> None:
        """Try the oldest update until it is delivered, the retries run out, or the webhook changes."""
        update, url = self.state.updates.first(), self.state.webhook.url
        if update is None:
            return
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            if self.state.webhook.url != url or self._first_id() != update["update_id"]:
                return  # deleted, replaced or dropped meanwhile: decide afresh
            if await self._post(update, url, attempt):
                self._confirm(update)
                return
        self.dropped.append(update)
        log.warning("webhook gave up on update %s after %d attempts", update["update_id"], attempt)
        self._confirm(update)

    def _first_id(self) -> int | None:
        first = self.state.updates.first()
        return first["update_id"] if first else None

    def _confirm(self, update: dict[str, Any]) -> None:
        self.state.updates.confirm(update["update_id"] + 1)
        self.state.notify()

    async def _post(self, update: dict[str, Any], url: str, attempt: int) -> bool:
        error, status = await self._send(update, url)
        self.deliveries.append(WebhookDelivery(update["update_id"], url, attempt, status, error, self.state.clock()))
        if error is not None:
            self.state.webhook.last_error_date = self.state.now()
            self.state.webhook.last_error_message = error
        self.state.notify()
        return error is None

    async def _send(self, update: dict[str, Any], url: str) -> tuple[str | None, int | None]:
        """(error as getWebhookInfo words it, HTTP status)."""
        assert self._session is not None
        secret = self.state.webhook.secret_token
        headers = {SECRET_HEADER: secret} if secret else {}
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        try:
            async with self._session.post(url, json=update, headers=headers, timeout=timeout) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None, response.status
                return f"Wrong response from the webhook: {response.status} {response.reason}", response.status
        except TimeoutError:
            return "Read timeout expired", None
        except aiohttp.ClientConnectorError:
            return "Connection refused", None
        except aiohttp.ClientError as exc:
            return f"Connection error: {exc.__class__.__name__}", None
