"""The relay of a handoff under kill -9: `supportbot run` as a real process, customers in handoff writing
and staff answering in their topics while the bot is killed at random points of the relay.

After each restart every customer message must be in its customer's topic and every staff reply in the
customer's chat: none lost. The Bot API has no idempotency key, so a copy Telegram accepted in the
instant before the kill, before the bot recorded it in the relay ledger, is copied again on redelivery:
those are counted at each kill, and the duplicates seen at the end may not exceed them.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from tests.botapi import BotAPIServer, User
from tests.harness import ADMIN_ID, configure
from tests.test_soak import (
    BotProcess,
    Relays,
    assert_crash_safe,
    env_int,
    handed_over,
    record,
    relayed_counts,
    staff_group,
)
from training.config import Config

# No per-user flood limit, and no outgoing pace: the copies into the one staff group would otherwise
# wait for Telegram's 20 a minute (held in tests/test_handoff_pace.py), which is not what this checks.
FAST = "rate_limit_messages = 1000000\nrate_limit_seconds = 1.0\noutgoing_rate_limit = false\n"


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


def ledger_rows(db_path: Path) -> int:
    """Copies the bot recorded in its relay ledger (one row per stored message, a second copy replaces it)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM relays").fetchone()[0]


def copies_beyond_ledger(server: BotAPIServer, relays: Relays, db_path: Path) -> int:
    to_staff, to_customers = relayed_counts(server, relays)
    return sum(to_staff.values()) + sum(to_customers.values()) - ledger_rows(db_path)


def burst(server: BotAPIServer, relays: Relays, customers: list[User], staff: list[User], per_side: int,
          round_no: int, rng: random.Random) -> int:
    """Each customer writes `per_side` messages and staff answer as many in their topic, interleaved."""
    writes = []
    for customer in customers:
        thread = relays.threads[customer.id]
        for n in range(per_side):
            writes.append((customer, f"c{customer.id}-{round_no}-{n} where is my parcel", None, thread))
            writes.append((rng.choice(staff), f"r{customer.id}-{round_no}-{n} looking into it", thread, customer.id))
    for author, text, thread, target in writes:
        if thread is None:
            relays.customer_texts[text] = target
            server.send_text(author, text)
        else:
            relays.staff_texts[f"{relays.names[author.id]}: {text}"] = target
            server.send_text(author, text, relays.group, thread=thread)
    return len(writes)


async def kill_once(bot: BotProcess, server: BotAPIServer, relays: Relays, customers: list[User], staff: list[User],
                    per_side: int, round_no: int, rng: random.Random) -> dict:
    """One burst, kill -9 after a random number of copies, restart, wait until every update is confirmed."""
    def copies() -> int:
        return sum(sum(c.values()) for c in relayed_counts(server, relays))

    before, extra_before = copies(), copies_beyond_ledger(server, relays, bot.config.db_path)
    sent = burst(server, relays, customers, staff, per_side, round_no, rng)
    kill_after = rng.randint(1, sent * 4 // 5)
    await server.wait_for(lambda: copies() - before >= kill_after, timeout=60)
    await bot.kill()
    figures = {"relayed_before_kill": copies() - before, "unconfirmed_at_kill": len(server.pending_updates),
               "accepted_but_unrecorded": copies_beyond_ledger(server, relays, bot.config.db_path) - extra_before}
    await bot.start(server)
    await server.wait_for(lambda: not server.pending_updates, timeout=120)
    return figures


async def kill_mid_relay(config: Config, server: BotAPIServer, tmp_path: Path, iterations: int,
                         per_side: int = 3, customers: int = 8) -> dict:
    rng = random.Random(14)
    server.create_user("Admin", user_id=ADMIN_ID, started=True)
    staff = [server.create_user(name) for name in ("Sam", "Kim")]
    group = staff_group(server, staff)
    people = [server.create_user(f"H{i}") for i in range(customers)]
    bot = BotProcess(configure(config, server, f"\n[handoff]\nstaff_chat_id = {group.id}\n", telegram=FAST),
                     server.token, tmp_path / "bot.log")
    try:
        await bot.start(server)
        for customer in people:
            server.send_text(customer, "/human")
        with sqlite3.connect(bot.config.db_path) as db:
            relays = await handed_over(server, db, group, people, staff)
        kills = [await kill_once(bot, server, relays, people, staff, per_side, i, rng) for i in range(iterations)]
        assert await bot.stop() == 0, bot.log_path.read_text()[-3000:]
    finally:
        bot.close()
    return relay_figures(server, relays, config.db_path, kills)


def relay_figures(server: BotAPIServer, relays: Relays, db_path: Path, kills: list[dict]) -> dict:
    """Lost and duplicated per direction, from what Telegram holds; the database's own account of it."""
    to_staff, to_customers = relayed_counts(server, relays)
    with sqlite3.connect(db_path) as conn:
        undelivered = conn.execute("SELECT COUNT(*) FROM messages WHERE answered_at IS NULL AND "
                                   "(direction = 'in' OR author IS NOT NULL)").fetchone()[0]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    return {
        "kill_iterations": len(kills),
        "customer_messages": len(relays.customer_texts), "staff_replies": len(relays.staff_texts),
        "lost": sum(1 for t in relays.customer_texts if not to_staff[t]) + sum(1 for t in relays.staff_texts
                                                                                 if not to_customers[t]),
        "relayed_twice": sum(n - 1 for n in (*to_staff.values(), *to_customers.values())),
        "unrecorded": undelivered,  # stored, but never recorded as relayed
        "accepted_but_unrecorded_at_kill": sum(k["accepted_but_unrecorded"] for k in kills),
        "corrupted": int(check != "ok"),
        "kills": kills,
    }


def assert_relay_crash_safe(figures: dict) -> None:
    assert_crash_safe(figures, ("lost", "unrecorded", "corrupted"), "relayed_twice")


@pytest.mark.e2e
async def test_handoff_kill_9_mid_relay_loses_nothing_either_way(trained_config, server, tmp_path):
    figures = await kill_mid_relay(trained_config, server, tmp_path, iterations=2)
    assert_relay_crash_safe(figures)
    assert figures["customer_messages"] == figures["staff_replies"] == 2 * 8 * 3


@pytest.mark.soak
async def test_handoff_kill_9_mid_relay_repeatedly(trained_config, server, tmp_path):
    figures = await kill_mid_relay(trained_config, server, tmp_path, iterations=env_int("SOAK_KILLS", 10),
                                   per_side=env_int("SOAK_BURST_PER_USER", 10))
    record("kill_bot_handoff", figures)
    assert_relay_crash_safe(figures)
