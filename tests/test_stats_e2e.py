"""Outcomes and /stats end to end: real python-telegram-bot, engine, model and SQLite, the local Bot API server."""

from __future__ import annotations

import asyncio

import pytest

from tests.botapi import BotAPIServer
from tests.harness import ADMIN_ID, configure, running_bot

pytestmark = pytest.mark.e2e

QUICK = "\n[outcomes]\nwindow_minutes = 0.02\ncheck_seconds = 0.2\n"  # a 1.2-second window, looked at 5 times a second


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


async def outcomes(bot) -> list[str | None]:
    """Every row's outcome, read on the worker like everything else that touches the database."""
    rows = await bot.app.bot_data.worker.run(lambda rt: rt.db.execute(
        "SELECT outcome FROM outcomes ORDER BY message_id").fetchall())
    return [outcome for (outcome,) in rows]


async def settled(bot, expected: list[str | None], timeout: float = 10.0) -> list[str | None]:
    """The outcomes once they are `expected` (the clock's job decides them on its own time)."""
    for _ in range(int(timeout / 0.1)):
        if (found := await outcomes(bot)) == expected:
            return found
        await asyncio.sleep(0.1)
    return await outcomes(bot)


def audit(runtime) -> list[tuple[str, str, int]]:
    return [(r["actor"], r["action"], r["allowed"]) for r in runtime.db["audit"].rows]


async def test_stats_is_refused_to_customers_and_audited(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        eve = server.create_user("Eve")
        server.send_text(eve, "/stats")
        [reply] = await server.wait_for_messages(eve, 1)
        assert reply["text"] == bot.runtime.domain.message("admin_only", "en")
        assert (f"telegram:{eve.id}", "stats", 0) in audit(bot.runtime)
        assert not server.calls_to("sendPhoto")
        assert "stats" not in [c["command"] for c in server.commands()]  # only admins have it in their menu
        assert "stats" in [c["command"] for c in server.commands({"type": "chat", "chat_id": ADMIN_ID})]


async def test_bad_days_get_the_usage_and_an_empty_database_no_chart(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        for command in ("/stats 0", "/stats -2", "/stats soon"):
            server.send_text(bot.admin, command)
        replies = await server.wait_for_messages(bot.admin, 3)
        assert all(r["text"].startswith("Usage: /stats [days]") for r in replies)
        server.send_text(bot.admin, "/stats 7")
        empty = (await server.wait_for_messages(bot.admin, 4))[-1]
        assert empty["text"].startswith("No answers from")
        assert not server.calls_to("sendPhoto")


async def test_customers_outcomes_reach_stats_with_a_chart(trained_config, server):
    """Ann is helped and says so, Bob asks for a person, Cy is not understood, Di goes quiet: the clock
    resolves Di's answer, and /stats shows all four with the chart."""
    async with running_bot(configure(trained_config, server, QUICK), server) as bot:
        ann, bob, cy, di = (server.create_user(name) for name in ("Ann", "Bob", "Cy", "Di"))
        server.send_text(ann, "where is my order?")
        [answer] = await server.wait_for_messages(ann, 1)
        server.press_button(ann, answer, answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"])  # 👍
        server.send_text(bob, "I want to talk to a human agent")
        server.send_text(cy, "purple elephants dance on the moon")
        server.send_text(di, "how much is shipping?")
        await server.wait_for_messages(ann, 2)
        for customer in (bob, cy, di):
            await server.wait_for_messages(customer, 1)
        assert sorted(await settled(bot, ["resolved", "handoff", "fallback", "resolved"]), key=str) == [
            "fallback", "handoff", "resolved", "resolved"]
        server.send_text(bot.admin, "/stats")
        [text] = await server.wait_for_messages(bot.admin, 1)
        assert "4 answered: contained 50% · rephrased 0% · 👎 0% · handoff 25% · fallback 25% · rated 👍 25%" in text["text"]
        assert "purple elephants dance on the moon" in text["text"]  # the to-do list
        photo = await server.wait_for(lambda: server.calls_to("sendPhoto"), timeout=30)
        assert photo[0].ok and int(photo[0].params["chat_id"]) == ADMIN_ID
        assert (f"telegram:{ADMIN_ID}", "stats", 1) in audit(bot.runtime)


async def test_a_restart_within_the_window_leaves_the_answer_to_the_next_process(trained_config, server):
    config = configure(trained_config, server, "\n[outcomes]\ncheck_seconds = 0.2\n")  # the shipped 10-minute window
    async with running_bot(config, server):
        ann = server.create_user("Ann")
        server.send_text(ann, "how much is shipping?")
        await server.wait_for_messages(ann, 1)
    async with running_bot(config, server) as bot:
        assert await outcomes(bot) == [None]  # still within its window
        [job] = bot.app.job_queue.get_jobs_by_name("outcome-windows")
        await bot.app.bot_data.worker.run(lambda rt: rt.db.execute(
            "UPDATE outcomes SET due_at = '2000-01-01T00:00:00.000+00:00'"))  # the window passed while it was down
        await job.run(bot.app)
        assert await outcomes(bot) == ["resolved"]
