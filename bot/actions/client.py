"""The HTTP side of actions: one pooled httpx client, a deadline per call, retries, a breaker per endpoint.

Calls run on the event loop (never on the worker thread that owns the database and the model), so a
slow shop delays only the customer waiting for it. httpx has a connect timeout but no total one:
`asyncio.timeout` bounds each call, retries and backoff included.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from bot.actions.breaker import Breaker, BreakerState
from bot.actions.contract import ActionCall, ActionResult, Outcome, failed, parse_response, request_body, sign
from bot.masking import mask_in_logs
from training.config import ActionsSettings

log = logging.getLogger(__name__)

NO_SECRET = "SUPPORTBOT_ACTIONS_SECRET is not set"


class _Retryable(Exception):
    """An attempt that failed in a way worth repeating for an idempotent call (connection, 5xx)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ActionsClient:
    """Calls the shop's endpoints; `call` never raises for the endpoint's trouble."""

    def __init__(self, settings: ActionsSettings, secret: str | None) -> None:
        self._settings = settings
        self._secret = secret.encode("utf-8") if secret else None
        self._breakers = {name: Breaker(name, settings.breaker_failures, settings.breaker_seconds) for name in settings.endpoints}
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if secret:
            mask_in_logs(secret)
        elif settings.endpoints:
            log.warning("actions: %s: every action answers with its intent's static text", NO_SECRET)

    async def call(self, call: ActionCall) -> ActionResult:
        """The endpoint's checked answer, or FAILED with a reason (no secret, unknown endpoint, circuit
        open, timeout, connection, HTTP status, invalid response)."""
        if self._secret is None:
            return failed(NO_SECRET)
        url = self._settings.endpoints.get(call.endpoint)
        if url is None:
            return failed(f"unknown endpoint {call.endpoint!r} (not in [actions.endpoints])")
        breaker = self._breakers[call.endpoint]
        if not breaker.admit():
            return failed(f"endpoint {call.endpoint}: circuit open")
        try:
            result = await self._within_deadline(call, url)
        except asyncio.CancelledError:
            breaker.abandon()
            raise
        breaker.record(result.outcome is not Outcome.FAILED)
        if result.outcome is not Outcome.FAILED:
            return result
        log.warning("actions: %s via endpoint %s failed: %s", call.intent, call.endpoint, result.reason)
        return failed(f"endpoint {call.endpoint}: {result.reason}")

    def breakers(self) -> dict[str, BreakerState]:
        """Each endpoint's circuit, for /status."""
        return {name: breaker.state() for name, breaker in self._breakers.items()}

    async def aclose(self) -> None:
        """Close the pooled connections (only on the loop that opened them: another loop cannot)."""
        http, self._http = self._http, None
        if http is not None and self._loop is asyncio.get_running_loop():
            await http.aclose()

    async def _within_deadline(self, call: ActionCall, url: str) -> ActionResult:
        try:
            async with asyncio.timeout(self._settings.deadline):
                return await self._attempts(call, url)
        except TimeoutError:
            return failed(f"no answer within the {self._settings.deadline:g} s deadline")

    async def _attempts(self, call: ActionCall, url: str) -> ActionResult:
        """The first attempt and, for an idempotent call, retries after growing pauses."""
        body = request_body(call)
        attempts = 1 + (self._settings.retries if call.idempotent else 0)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._settings.backoff * 2 ** (attempt - 1))
            try:
                return await self._post(url, body)
            except _Retryable as exc:
                reason = exc.reason
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return failed(f"{reason}{tries}")

    async def _post(self, url: str, body: bytes) -> ActionResult:
        assert self._secret is not None  # call() returns before any request without one
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Supportbot-Timestamp": str(timestamp),
            "X-Supportbot-Signature": sign(self._secret, timestamp, body),
        }
        try:
            async with self._client().stream("POST", url, content=body, headers=headers) as response:
                if response.status_code >= 500:
                    raise _Retryable(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    return failed(_status_reason(response.status_code))
                raw = await self._read(response)
        except httpx.TransportError as exc:
            raise _Retryable(type(exc).__name__) from None  # its text may hold the URL, credentials and all
        return parse_response(raw) if raw is not None else failed(f"response over {self._settings.max_response_bytes} bytes")

    async def _read(self, response: httpx.Response) -> bytes | None:
        """The body, or None as soon as it passes the limit (Content-Length is not trusted)."""
        limit, raw = self._settings.max_response_bytes, bytearray()
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) > limit:
                return None
        return bytes(raw)

    def _client(self) -> httpx.AsyncClient:
        """One pooled client per event loop, made inside it: a console driving calls through one
        `asyncio.Runner` reuses it, and a new loop gets a fresh one (pooled sockets belong to their loop)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            timeout = httpx.Timeout(None, connect=self._settings.connect_timeout, pool=self._settings.connect_timeout)
            self._http, self._loop = httpx.AsyncClient(timeout=timeout, follow_redirects=False), loop
        return self._http


def _status_reason(status: int) -> str:
    if status == 401:
        return "HTTP 401: the endpoint refused the signature (same SUPPORTBOT_ACTIONS_SECRET on both sides? clocks within 300 s?)"
    return f"HTTP {status}"
