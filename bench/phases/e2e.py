"""Phase: 50 concurrent customers through the real Telegram application vs a minimal echo bot.

    python -m bench.phases.e2e WORK_DIR OUT.json

Everything runs in one process and one event loop (plus the bot's worker thread), as in the end-to-end tests: the local Bot
API server (tests/botapi), the simulated customers, and the bot, which long-polls getUpdates
over HTTP exactly as on Telegram. Each customer sends a message, waits for the answer, then
sends the next (a closed loop). Reply latency = from the moment the customer's update is
queued on the server to the moment the bot's sendMessage request for that chat arrives there.

Two loads: 50 customers at once, each sending its next message as soon as the answer arrives
(saturation: throughput and latency under load), and one customer with a 50 ms pause between
messages (the latency of one answer when nothing queues: AIORateLimiter's bucket never empties).

Bots, each against a fresh server:
- `supportbot`: tests/harness.py `running_bot`: the application `supportbot run` builds
  (engine, SQLite, LiteRT starter model, AIORateLimiter), on a copy of the starter var/. The
  per-customer flood guard is raised out of the way (a simulated customer writes far faster
  than a person; the guard would answer with notices instead); nothing else is changed.
- `echo`: a minimal PTB echo bot (same polling settings and concurrent updates, no rate limiter).
- `echo_ratelimited`: the same echo bot with the AIORateLimiter the real bot uses, which paces
  sends to Telegram's 30 messages per second: the share of the gap that is the limiter.
- `supportbot_unlimited`: supportbot with `[telegram] outgoing_rate_limit = false`: what the
  engine, SQLite and the model can answer, against the unlimited echo bot.

`supportbot` and `echo_ratelimited` run first, then `echo` and `supportbot_unlimited` alternate for
ROUNDS rounds (the shared machine's noise hits both alike; each bot's median round is its figure),
then the single-customer runs.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.files import config_text, write_json
from tests.botapi import BotAPIServer, User
from tests.harness import running_bot
from training.benchmark.serving import percentiles
from training.config import load_config
from training.domain import load_domain

USERS, MESSAGES = 50, 10  # per customer, after one warm-up message each
ROUNDS = 5  # unlimited supportbot and echo, alternating: the shared machine's noise hits both alike
SINGLE_MESSAGES, SINGLE_PAUSE_S = 60, 0.05  # one customer, pausing between messages
REPLY_TIMEOUT = 60.0


class ReplyClock:
    """Arrival time of each sendMessage at the server, queued per chat."""

    def __init__(self, server: BotAPIServer) -> None:
        self.server = server
        self.arrivals: dict[int, asyncio.Queue[float]] = defaultdict(asyncio.Queue)
        self._seen = 0
        self._waiting: list = []
        self._task: asyncio.Task | None = None

    def _scan(self) -> None:
        calls = self.server.calls
        self._waiting += [c for c in calls[self._seen:] if c.method == "sendMessage"]
        self._seen = len(calls)
        still = []
        for call in self._waiting:
            if "chat_id" in call.params:  # params are filled in once the request body is read
                self.arrivals[int(call.params["chat_id"])].put_nowait(call.at)
            else:
                still.append(call)
        self._waiting = still

    async def _run(self) -> None:
        while True:
            self._scan()
            await self.server.state.changed.wait(0.5)

    def __enter__(self) -> ReplyClock:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        self._task.cancel()


async def drive(server: BotAPIServer, texts: list[str], n_users: int, messages: int, pause_s: float = 0.0) -> dict:
    """n_users customers, each: one warm-up message, then `messages` timed ones, one at a time."""
    users = [server.create_user(f"Customer{i}", language_code="zh" if i % 3 == 2 else "en") for i in range(n_users)]
    latencies: list[float] = []
    with ReplyClock(server) as clock:

        async def ask(user: User, text: str) -> float:
            queued = time.time()  # the server's Call.at uses time.time too
            server.send_text(user, text)
            arrived = await asyncio.wait_for(clock.arrivals[user.id].get(), REPLY_TIMEOUT)
            return arrived - queued

        async def customer(n: int, user: User) -> None:
            for i in range(messages):
                latencies.append(await ask(user, texts[(n * messages + i) % len(texts)]) * 1000)
                if pause_s:
                    await asyncio.sleep(pause_s)

        await asyncio.gather(*(ask(u, texts[-1 - n]) for n, u in enumerate(users)))  # warm-up round
        started = time.perf_counter()
        await asyncio.gather(*(customer(n, u) for n, u in enumerate(users)))
        elapsed = time.perf_counter() - started
    return {"users": n_users, "messages": len(latencies), "pause_s": pause_s, "seconds": elapsed, "msgs_per_s": len(latencies) / elapsed,
            "latency_ms": percentiles(latencies)}


@asynccontextmanager
async def echo_bot(server: BotAPIServer, rate_limited: bool) -> AsyncIterator[Application]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_message(update.effective_chat.id, update.effective_message.text)

    builder = ApplicationBuilder().token(server.token).base_url(server.base_url).base_file_url(server.base_file_url)
    builder = builder.concurrent_updates(True)
    if rate_limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)  # as harness.py
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def measure(bot: Callable[[BotAPIServer], AbstractAsyncContextManager], texts: list[str], single: bool) -> dict:
    load = (1, SINGLE_MESSAGES, SINGLE_PAUSE_S) if single else (USERS, MESSAGES)
    async with BotAPIServer() as server, bot(server):
        return await drive(server, texts, *load)


async def run(work: Path) -> dict:
    domain = load_domain(load_config(work / "config.toml").data_dir)
    texts = [e.text for e in domain.gold]

    def supportbot(server: BotAPIServer, limited: bool = True) -> AbstractAsyncContextManager:
        # A fresh copy of the starter var/ per run: a new server numbers its updates from 1 again,
        # and the engine ignores an update id it has stored before (a Telegram redelivery).
        var = work / "e2e-var"
        shutil.rmtree(var, ignore_errors=True)
        shutil.copytree(work / "var", var)
        path = work / "e2e.toml"
        path.write_text(config_text(var, {"telegram": {"api_base_url": server.base_url, "outgoing_rate_limit": limited,
                                                       "rate_limit_messages": 1_000_000}}))
        return running_bot(load_config(path), server)

    bots = {"supportbot": supportbot, "supportbot_unlimited": lambda s: supportbot(s, False),
            "echo": lambda s: echo_bot(s, False), "echo_ratelimited": lambda s: echo_bot(s, True)}
    plan = [("supportbot", "supportbot", False), ("echo_ratelimited", "echo_ratelimited", False)]
    plan += [(f"{name}#{r}", name, False) for r in range(ROUNDS) for name in ("echo", "supportbot_unlimited")]
    plan += [("supportbot_1user", "supportbot", True), ("echo_1user", "echo", True)]
    results = {}
    for label, name, single in plan:
        print(f"e2e: {label}", file=sys.stderr, flush=True)
        results[label] = await measure(bots[name], texts, single)
        print(f"e2e: {label}: {results[label]['msgs_per_s']:.1f} msg/s, "
              f"p50 {results[label]['latency_ms']['p50']:.1f} ms", file=sys.stderr, flush=True)
    for name in ("echo", "supportbot_unlimited"):  # the median round stands for the bot
        rounds = sorted((results.pop(f"{name}#{r}") for r in range(ROUNDS)), key=lambda run: run["msgs_per_s"])
        results[name] = {**rounds[ROUNDS // 2], "rounds_msgs_per_s": [run["msgs_per_s"] for run in rounds]}
    return results


def main(work: Path, out: Path) -> None:
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(run(work))
    write_json(out, {
        "msgs_per_s": r["supportbot"]["msgs_per_s"],
        "echo_msgs_per_s": r["echo"]["msgs_per_s"],
        "echo_ratelimited_msgs_per_s": r["echo_ratelimited"]["msgs_per_s"],
        "unlimited_msgs_per_s": r["supportbot_unlimited"]["msgs_per_s"],
        "unlimited_latency_ms": r["supportbot_unlimited"]["latency_ms"],
        "rounds": ROUNDS,
        "echo_rounds_msgs_per_s": r["echo"]["rounds_msgs_per_s"],
        "unlimited_rounds_msgs_per_s": r["supportbot_unlimited"]["rounds_msgs_per_s"],
        "latency_ms": r["supportbot"]["latency_ms"],
        "echo_latency_ms": r["echo"]["latency_ms"],
        "echo_ratelimited_latency_ms": r["echo_ratelimited"]["latency_ms"],
        "single_user_latency_ms": r["supportbot_1user"]["latency_ms"],
        "echo_single_user_latency_ms": r["echo_1user"]["latency_ms"],
        "users": USERS,
        "messages_per_user": MESSAGES,
        "runs": r,
    })


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
