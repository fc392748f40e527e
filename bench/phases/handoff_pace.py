"""Phase: how many concurrent handoffs one staff group carries at Telegram's pace for a group.

    python -m bench.phases.handoff_pace WORK_DIR OUT.json

Telegram lets a bot send about 20 messages a minute into one group, all its topics together; PTB's
AIORateLimiter holds the bot to that (group_max_rate 20 per group_time_period 60 s, a leaky bucket that
holds 20) and queues the rest. Here the minute is scaled down to MINUTE_S seconds
(AIORateLimiter(group_time_period=MINUTE_S)), so minutes of real time take seconds, and every time
measured is multiplied by SCALE (60 / MINUTE_S) to give real seconds. The bot-wide limit (30 calls a
second) is off: scaled by the same factor it would be 1,800 a second, which nothing here approaches.

The real application (tests/harness.py `running_bot`) against the local Bot API server, without a
model (a held conversation's messages are relayed, never classified). For each N in CONVERSATIONS:
N new customers type /human (each opening costs the group two calls: the topic and its header), the
group's bucket is left to drain, then each customer writes one message per (scaled) minute, at moments
spread evenly over the minute, for MINUTES minutes. A message's wait is from its update being queued
on the server to the bot's copyMessage into the customer's topic arriving there.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

from telegram.ext import AIORateLimiter

from bench.files import config_text, write_json
from tests.botapi import BotAPIServer, Chat, User
from tests.harness import RunningBot, running_bot
from training.benchmark.serving import percentiles
from training.config import load_config

MINUTE_S = 1.0  # one minute of Telegram's, scaled
SCALE = 60 / MINUTE_S  # measured seconds × SCALE = real seconds
GROUP_PER_MINUTE = 20  # Telegram's messages a minute into one group (PTB's default group_max_rate)
CONVERSATIONS = (5, 10, 15, 20, 25, 30)
MINUTES = 5  # of real time, per N: each customer writes MINUTES messages


def scaled_limiter(minute_s: float = MINUTE_S) -> AIORateLimiter:
    """PTB's limiter with Telegram's group pace, its minute lasting `minute_s` seconds; no bot-wide limit."""
    return AIORateLimiter(overall_max_rate=0, group_max_rate=GROUP_PER_MINUTE, group_time_period=minute_s,
                          max_retries=3)


def staff_group(server: BotAPIServer) -> Chat:
    """A forum supergroup with the bot an admin allowed to manage topics, and one member of staff."""
    group = server.create_group("Shop staff", forum=True, bot_is_admin=True)
    server.add_member(group, server.create_user("Sam"), "administrator")
    return group


async def open_handoffs(bot: RunningBot, server: BotAPIServer, customers: list[User]) -> None:
    """Each customer types /human and is told their conversation is with the team."""
    for customer in customers:
        server.send_text(customer, "/human")
    await server.wait_for(lambda: all(server.sent_messages(c) for c in customers) and not server.pending_updates,
                          timeout=60 + 2 * len(customers) * MINUTE_S)
    ids = [str(c.id) for c in customers]
    held = await bot.app.bot_data.worker.run(lambda rt: rt.db.execute(
        f"SELECT COUNT(*) FROM handoffs h JOIN users u ON u.id = h.user_id WHERE h.status = 'open' "
        f"AND u.external_id IN ({', '.join('?' * len(ids))})", ids).fetchone()[0])
    if held != len(customers):
        raise RuntimeError(f"{held} of {len(customers)} handoffs opened")


async def converse(server: BotAPIServer, customers: list[User], minutes: int, minute_s: float) -> dict[tuple[int, int], float]:
    """Each customer writes one message a minute, the customers spread evenly over it; every message
    must reach the group. Returns, per (customer chat, message id), when its update was queued."""
    queued: dict[tuple[int, int], float] = {}
    started = time.time()
    for n in range(minutes):
        for i, customer in enumerate(customers):
            at = started + (n + i / len(customers)) * minute_s
            await asyncio.sleep(max(0.0, at - time.time()))
            message = server.send_text(customer, f"{customer.first_name} message {n}")["message"]
            queued[(customer.id, message["message_id"])] = time.time()  # the server's Call.at is time.time too
    return queued


async def copies_arrived(server: BotAPIServer, queued: dict[tuple[int, int], float], timeout: float) -> dict:
    """When each queued message's copy reached the server: (customer chat, message id) -> time."""
    def arrived() -> dict | None:
        found = {(int(c.params["from_chat_id"]), int(c.params["message_id"])): c.at
                 for c in server.calls_to("copyMessage") if c.ok}
        return found if all(key in found for key in queued) else None
    return await server.wait_for(arrived, timeout)


async def one_load(bot: RunningBot, server: BotAPIServer, n: int, minutes: int, minute_s: float) -> dict:
    customers = [server.create_user(f"N{n}C{i}") for i in range(n)]
    await open_handoffs(bot, server, customers)
    await asyncio.sleep(minute_s)  # the openings' calls leave the bucket
    queued = await converse(server, customers, minutes, minute_s)
    arrived = await copies_arrived(server, queued, timeout=30 + n * minutes * minute_s / GROUP_PER_MINUTE)
    waits_real_s = [(arrived[key] - at) * (60 / minute_s) for key, at in queued.items()]
    return {"conversations": n, "messages": len(queued), "wait_real_s": percentiles(waits_real_s)}


async def run(work: Path, conversations: tuple[int, ...] = CONVERSATIONS) -> list[dict]:
    loads = []
    async with BotAPIServer() as server:
        group = staff_group(server)
        path = work / "handoff_pace.toml"
        path.write_text(config_text(work / "handoff-pace-var", {
            "telegram": {"api_base_url": server.base_url, "rate_limit_messages": 1_000_000},
            "handoff": {"staff_chat_id": group.id}}))
        async with running_bot(load_config(path), server, scaled_limiter()) as bot:
            for n in conversations:
                loads.append(await one_load(bot, server, n, MINUTES, MINUTE_S))
                print(f"handoff_pace: {n} conversations: wait p50 {loads[-1]['wait_real_s']['p50']:.1f} s, "
                      f"p95 {loads[-1]['wait_real_s']['p95']:.1f} s (real time)", file=sys.stderr, flush=True)
    return loads


def main(work: Path, out: Path) -> None:
    logging.basicConfig(level=logging.WARNING)
    write_json(out, {"minute_s": MINUTE_S, "scale": SCALE, "group_per_minute": GROUP_PER_MINUTE,
                     "minutes": MINUTES, "loads": asyncio.run(run(work))})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
