"""How long a call to the shop's system took, as the customer waited for it (stored per call, for /status)."""

from __future__ import annotations

import time

from bot.actions.client import ActionsClient
from bot.actions.contract import ActionCall, ActionResult


async def timed_call(client: ActionsClient, call: ActionCall) -> tuple[ActionResult, float]:
    """The call's result and its wall time in milliseconds, retries and backoff included."""
    started = time.perf_counter()
    result = await client.call(call)
    return result, (time.perf_counter() - started) * 1000
