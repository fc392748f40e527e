"""Telegram's pace in one staff group: about 20 messages a minute for the whole group, which PTB's
AIORateLimiter enforces. Many customers in handoff writing at once must all reach their topics, late
but never dropped, and each customer's messages in the order written, even when one copy is slow. The
minute is scaled down to MINUTE_S seconds (the same scaled limiter as bench/phases/handoff_pace.py,
which measures the waits)."""

from __future__ import annotations

import pytest

from bench.phases.handoff_pace import GROUP_PER_MINUTE, converse, copies_arrived, open_handoffs, scaled_limiter, staff_group
from tests.botapi import BotAPIServer
from tests.harness import running_bot
from tests.test_handoff_e2e import staffed

pytestmark = pytest.mark.e2e

MINUTE_S = 2.0
CUSTOMERS, MESSAGES = 12, 4  # 48 copies: more than twice what the group's bucket holds


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


async def test_handoff_relay_at_a_groups_pace_queues_never_drops_and_keeps_each_customers_order(trained_config, server):
    group = staff_group(server)
    async with running_bot(staffed(trained_config, server, group), server, scaled_limiter(MINUTE_S)) as bot:
        customers = [server.create_user(f"P{i}") for i in range(CUSTOMERS)]
        await open_handoffs(bot, server, customers)
        threads = {h["chat_id"]: h["thread_id"] for h in bot.runtime.db["handoffs"].rows}
        server.inject("copyMessage", "delay", delay=MINUTE_S)  # a slow first copy: the customer's next may not overtake it
        queued = await converse(server, customers, MESSAGES, minute_s=0.0)  # all at once
        arrived = await copies_arrived(server, queued, timeout=30)
        for customer in customers:
            in_topic = [m["text"] for m in server.topic_messages(group, threads[str(customer.id)]) if "text" in m]
            assert in_topic[-MESSAGES:] == [f"{customer.first_name} message {n}" for n in range(MESSAGES)]
        copies = sorted(arrived.values())
        # A leaky bucket holding GROUP_PER_MINUTE, draining GROUP_PER_MINUTE a minute: at most that many at
        # once, the rest at its pace. Unlimited, 48 copies take a fraction of a second.
        drained = (len(copies) - GROUP_PER_MINUTE) * MINUTE_S / GROUP_PER_MINUTE
        assert copies[-1] - copies[0] >= 0.9 * drained, (copies[-1] - copies[0], drained)
        assert all(c.ok for c in server.calls_to("copyMessage"))  # nothing refused
        await server.wait_for(lambda: not server.pending_updates)  # handled: each copy recorded
        undelivered = bot.runtime.db.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND answered_at IS NULL").fetchone()[0]
        assert undelivered == 0
