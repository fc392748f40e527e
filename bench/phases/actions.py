"""Phase: what a call to the shop's system costs an answer, and that a slow shop costs nobody else.

    python -m bench.phases.actions WORK_DIR OUT.json

The demo shop runs as its own process (`python -m demo_shop`, as `supportbot run` starts it) on a free
port of 127.0.0.1; the bot is the real Telegram application (tests/harness.py `running_bot`, on a copy
of the starter var/) against the local Bot API server, as in the e2e phase. Three measurements:

- `client`: `ActionsClient.call` to the demo shop's order_status, one call at a time (signing, HTTP,
  the shop's SQLite lookup, validation): the wait an action adds to an answer.
- `telegram`: one customer alternating a question the shop answers (order number and e-mail in one
  message) with one answered from the model alone; reply latency of each, from the update queued to
  the answer's sendMessage arriving.
- `slow_shop`: customers asking plain questions in a closed loop, alone and
  then while other customers' order questions wait on an endpoint that takes SLOW_S seconds. The
  call is awaited on the event loop, not on the worker, so the answers themselves never queue behind
  it; in polling mode the next getUpdates waits up to SETTLE_SECONDS (bot/channels/delivery.py) for
  the slow update before fetching past it, which the polling figures show.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from aiohttp import web

from bench.files import config_text, write_json
from bench.phases.e2e import REPLY_TIMEOUT, ReplyClock
from bot.actions import ActionCall, ActionsClient
from tests.actions_server import serving
from tests.botapi import BotAPIServer, User
from tests.conftest import free_port
from tests.harness import running_bot
from training.benchmark.serving import percentiles
from training.config import load_config

CLIENT_CALLS, TELEGRAM_ROUNDS = 300, 40
PLAIN_USERS, PLAIN_MESSAGES, SLOW_USERS, SLOW_S = 10, 10, 10, 2.0
ENDPOINTS = ("order_status", "delivery_delayed", "refund_status", "product_availability")
PLAIN = "how do I reset my password?"


def start_shop(work: Path, secret: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SUPPORTBOT_ACTIONS_SECRET": secret}
    shop = subprocess.Popen([sys.executable, "-m", "demo_shop", "--port", str(port), "--database", str(work / "demo_shop.db")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=0.5).status_code == 200:
                return shop, base
        except httpx.TransportError:
            time.sleep(0.05)
    shop.kill()
    raise SystemExit("the demo shop did not start")


def bot_config(work: Path, server: BotAPIServer, urls: dict[str, str]) -> Path:
    var = work / "actions-var"
    shutil.rmtree(var, ignore_errors=True)
    shutil.copytree(work / "var", var)
    path = work / "actions.toml"
    telegram = {"api_base_url": server.base_url, "outgoing_rate_limit": False, "rate_limit_messages": 1_000_000}
    path.write_text(config_text(var, {
        "telegram": telegram,
        "actions": {"endpoints": urls, "deadline": SLOW_S * 2, "retries": 0},
        "demo_shop": {"start": False},
    }))
    return path


async def client_latency(config_path: Path) -> dict:
    client = ActionsClient(load_config(config_path).actions, os.environ["SUPPORTBOT_ACTIONS_SECRET"])
    call = ActionCall("order_status", "order_status", {"order_id": "10003", "verifier": "carlos@example.net"}, "en",
                      "bench-customer", True)
    latencies = []
    try:
        for i in range(CLIENT_CALLS + 20):
            started = time.perf_counter()
            result = await client.call(call)
            if i >= 20:  # the first calls open the pooled connection
                latencies.append((time.perf_counter() - started) * 1000)
            assert result.outcome == "ok", result.reason
    finally:
        await client.aclose()
    return percentiles(latencies)


async def ask(server: BotAPIServer, clock: ReplyClock, user: User, text: str) -> float:
    queued = time.time()  # the server's Call.at uses time.time too
    server.send_text(user, text)
    return (await asyncio.wait_for(clock.arrivals[user.id].get(), REPLY_TIMEOUT) - queued) * 1000


async def telegram_latency(work: Path, base: str) -> dict:
    async with BotAPIServer() as server, \
            running_bot(load_config(bot_config(work, server, {n: f"{base}/actions/{n}" for n in ENDPOINTS})), server):
        user = server.create_user("Customer", language_code="en")
        with ReplyClock(server) as clock:
            await ask(server, clock, user, PLAIN)  # warm-up
            action, plain = [], []
            for _ in range(TELEGRAM_ROUNDS):
                action.append(await ask(server, clock, user, "where is my order 10003? I ordered with carlos@example.net"))
                plain.append(await ask(server, clock, user, PLAIN))
    return {"action_ms": percentiles(action), "plain_ms": percentiles(plain),
            "added_p50_ms": percentiles(action)["p50"] - percentiles(plain)["p50"]}


async def plain_latency(server: BotAPIServer, clock: ReplyClock, users: list[User]) -> list[float]:
    latencies: list[float] = []

    async def customer(user: User) -> None:
        for _ in range(PLAIN_MESSAGES):
            latencies.append(await ask(server, clock, user, PLAIN))

    await asyncio.gather(*(customer(u) for u in users))
    return latencies


async def slow_shop(work: Path) -> dict:
    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_S)
        return web.json_response({"outcome": "ok", "text": "Found it."})

    async with serving(slow) as url, BotAPIServer() as server, \
            running_bot(load_config(bot_config(work, server, dict.fromkeys(ENDPOINTS, url))), server):
        plain_users = [server.create_user(f"Plain{i}") for i in range(PLAIN_USERS)]
        waiting = [server.create_user(f"Waiting{i}") for i in range(SLOW_USERS)]
        with ReplyClock(server) as clock:
            await asyncio.gather(*(ask(server, clock, u, PLAIN) for u in plain_users))  # warm-up
            alone = await plain_latency(server, clock, plain_users)
            slow_calls = [asyncio.ensure_future(ask(server, clock, u, "where is my order 10003? I ordered with "
                                                                          "carlos@example.net")) for u in waiting]
            await asyncio.sleep(0.3)  # their calls are out
            beside = await plain_latency(server, clock, plain_users)
            in_flight = sum(not c.done() for c in slow_calls)
            slow_ms = await asyncio.gather(*slow_calls)
    return {"plain_alone_ms": percentiles(alone), "plain_beside_slow_ms": percentiles(beside),
            "slow_answers_ms": percentiles(slow_ms), "slow_calls_in_flight_at_end": in_flight,
            "slow_s": SLOW_S, "plain_users": PLAIN_USERS, "slow_users": SLOW_USERS}


async def run(work: Path, base: str) -> dict:
    return {"client_ms": await client_latency(bot_config_for_client(work, base)),
            "telegram": await telegram_latency(work, base),
            "slow_shop": await slow_shop(work),
            "client_calls": CLIENT_CALLS, "telegram_rounds": TELEGRAM_ROUNDS}


def bot_config_for_client(work: Path, base: str) -> Path:
    path = work / "client.toml"
    path.write_text(config_text(work / "client-var", {"actions": {"endpoints": {n: f"{base}/actions/{n}" for n in ENDPOINTS}}}))
    return path


def main(work: Path, out: Path) -> None:
    logging.basicConfig(level=logging.WARNING)
    os.environ["SUPPORTBOT_ACTIONS_SECRET"] = secrets.token_hex(32)
    shop, base = start_shop(work, os.environ["SUPPORTBOT_ACTIONS_SECRET"])
    try:
        write_json(out, asyncio.run(run(work, base)))
    finally:
        shop.terminate()
        shop.wait(10)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
