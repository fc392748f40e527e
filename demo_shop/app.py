"""The demo shop's HTTP service (aiohttp): `POST /actions/<name>` signed per docs/actions.md, `GET /health`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from demo_shop import signature
from demo_shop.answers import LOOKUPS
from demo_shop.catalogue import open_catalogue

log = logging.getLogger("demo_shop")

MAX_REQUEST_BYTES = 64 * 1024
_DB = web.AppKey("db", sqlite3.Connection)
_SECRET = web.AppKey("secret", bytes)


def make_app(db: sqlite3.Connection, secret: bytes) -> web.Application:
    app = web.Application(middlewares=[_signed_only], client_max_size=MAX_REQUEST_BYTES)
    app[_DB], app[_SECRET] = db, secret
    app.router.add_get("/health", _health)
    app.router.add_post("/actions/{name}", _action)
    return app


@web.middleware
async def _signed_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every /actions/ request must be signed with the shared secret and at most 300 s old: 401 otherwise."""
    if request.path.startswith("/actions/"):
        body = await request.read()  # aiohttp keeps it for the handler
        headers = request.headers
        why = signature.problem(request.app[_SECRET], headers.get(signature.TIMESTAMP), headers.get(signature.SIGNATURE),
                                body, time.time())
        if why is not None:
            log.warning("demo shop: refused %s: %s", request.path, why)
            return web.json_response({"error": why}, status=401)
    return await handler(request)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _action(request: web.Request) -> web.Response:
    lookup = LOOKUPS.get(request.match_info["name"])
    if lookup is None:
        return web.json_response({"error": "no such action"}, status=404)
    try:
        payload = await request.json()
    except ValueError:
        return web.json_response({"error": "the body is no JSON"}, status=400)
    slots, language, account = _request_parts(payload)
    if slots is None:
        return web.json_response({"error": "expected {intent, slots: {name: text}, language, customer[, account]}"},
                                 status=400)
    return web.json_response(lookup(request.app[_DB], slots, language, account))


def _request_parts(payload: Any) -> tuple[dict[str, str] | None, str, str | None]:
    """The slots, language and linked account (if any) of a well-formed request; slots None when it is not one."""
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("intent", "language", "customer")):
        return None, "", None
    slots, account = payload.get("slots"), payload.get("account")
    if not isinstance(slots, dict) or not all(isinstance(v, str) for v in slots.values()):
        return None, "", None
    if account is not None and not isinstance(account, str):
        return None, "", None
    return slots, payload["language"], account


async def _exit_with(parent: int) -> None:
    """Stop when the process that started us is gone (even killed -9), so no orphan holds the port."""
    while os.getppid() == parent:
        await asyncio.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)  # run_app's handler: a graceful stop


def serve(host: str, port: int, database: Path, secret: str, parent: int | None = None) -> None:
    """Run the demo shop until interrupted (SIGINT/SIGTERM), or until `parent` exits."""
    app = make_app(open_catalogue(database), secret.encode("utf-8"))
    if parent is not None:
        async def watch(_app: web.Application):
            task = asyncio.create_task(_exit_with(parent))
            yield
            task.cancel()

        app.cleanup_ctx.append(watch)
    web.run_app(app, host=host, port=port, access_log=None, print=lambda _: log.info("demo shop on http://%s:%d", host, port))
