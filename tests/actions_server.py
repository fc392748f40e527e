"""Real aiohttp endpoints on 127.0.0.1 for the actions tests: a handler per test, a free port each."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(handler: Handler, port: int = 0) -> AsyncIterator[str]:
    """`handler` answering POST /action on 127.0.0.1; yields the URL."""
    async def route(request: web.Request) -> web.StreamResponse:  # aiohttp wants a coroutine function
        return await handler(request)

    app = web.Application()
    app.router.add_post("/action", route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{bound}/action"
    finally:
        await runner.cleanup()


def answering(payload: object, status: int = 200) -> Handler:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=status, text=json.dumps(payload), content_type="application/json")

    return handler


def signature_of(secret: bytes, request_timestamp: str, body: bytes) -> str:
    """What a receiver computes, written out as docs/actions.md tells a shop to (not the bot's `sign`)."""
    return "sha256=" + hmac.new(secret, request_timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
