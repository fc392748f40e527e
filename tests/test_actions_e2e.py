"""Answers from the shop's system end to end: real PTB against the local Bot API server, the real model,
and the shop's side as real HTTP servers on 127.0.0.1 (the demo shop, or a test's own endpoint)."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot.account_link import make_token
from bot.channels.console import ConsoleChat
from bot.runtime import open_runtime
from demo_shop.app import make_app
from demo_shop.catalogue import open_catalogue
from tests.actions_server import answering, serving
from tests.botapi import BotAPIServer
from tests.conftest import free_port
from tests.harness import configure, running_bot
from tests.test_soak import BotProcess
from training.config import load_config
from training.storable import storable

pytestmark = pytest.mark.e2e
SECRET = "e2e-actions-secret"
ENDPOINTS = ("order_status", "delivery_delayed", "refund_status", "product_availability", "recent_orders")


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_ACTIONS_SECRET", SECRET)


@asynccontextmanager
async def demo_shop(directory: Path) -> AsyncIterator[tuple[str, sqlite3.Connection]]:
    """The demo shop on a free port of 127.0.0.1: its base URL and its database (to pick sample orders)."""
    db = open_catalogue(directory / "demo_shop.db")
    runner = web.AppRunner(make_app(db, SECRET.encode()), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", db
    finally:
        await runner.cleanup()
        db.close()


@asynccontextmanager
async def bot_and_shop(config, server: BotAPIServer, directory: Path):
    """The bot pointed at the demo shop: the running bot and the shop's database."""
    async with demo_shop(directory) as (base, db), running_bot(configure(config, server, endpoints(base)), server) as bot:
        yield bot, db


def endpoints(base: str, deadline: float = 4.0) -> str:
    lines = "\n".join(f'{name} = "{base}/actions/{name}"' for name in ENDPOINTS)
    return f"\n[actions]\ndeadline = {deadline}\nconnect_timeout = 1.0\nbreaker_failures = 2\n\n[actions.endpoints]\n{lines}\n"


def one_endpoint(url: str, deadline: float = 4.0) -> str:
    """Every action pointed at one test endpoint."""
    lines = "\n".join(f'{name} = "{url}"' for name in ENDPOINTS)
    return f"\n[actions]\ndeadline = {deadline}\nconnect_timeout = 1.0\nretries = 0\n\n[actions.endpoints]\n{lines}\n"


def an_order(db: sqlite3.Connection, state: str) -> sqlite3.Row:
    return db.execute("SELECT * FROM orders WHERE state = ? ORDER BY id LIMIT 1", (state,)).fetchone()


def buttons(message: dict) -> list[str]:
    return [b["text"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def question(runtime, slot: str, intent: str = "order_status", lang: str = "en") -> str:
    return runtime.domain.intents[intent].slots[slot].question[lang]


async def test_action_order_status_on_telegram_asks_for_the_number_and_the_email_then_answers_live(
        trained_config, server, tmp_path):
    async with bot_and_shop(trained_config, server, tmp_path) as (bot, db):
        order = an_order(db, "shipped")
        ann = server.create_user("Ann", language_code="en")
        server.send_text(ann, "where is my order?")
        [asked] = await server.wait_for_messages(ann, 1)
        assert asked["text"] == question(bot.runtime, "order_id")
        server.send_text(ann, f"it's {order['id']}")
        asked = (await server.wait_for_messages(ann, 2))[-1]
        assert asked["text"] == question(bot.runtime, "verifier")
        server.send_text(ann, order["email"].upper())
        answer = (await server.wait_for_messages(ann, 3))[-1]
        assert str(order["id"]) in answer["text"] and order["tracking_url"] in answer["text"]
        assert buttons(answer) == ["👍", "👎"]
        stored = "\n".join(r[0] for r in bot.runtime.db.execute("SELECT text FROM messages"))
        assert order["email"] not in stored.lower()  # the proof of the buyer is used for the call, never kept
        assert bot.runtime.db.execute("SELECT outcome FROM action_calls").fetchall() == [("ok",)]


async def test_action_a_right_order_number_with_the_wrong_email_reveals_nothing(trained_config, server, tmp_path):
    async with bot_and_shop(trained_config, server, tmp_path) as (bot, db):
        order = an_order(db, "shipped")
        ann = server.create_user("Ann", language_code="en")
        server.send_text(ann, f"where is my order {order['id']}?")
        await server.wait_for_messages(ann, 1)
        server.send_text(ann, "someone.else@example.com")
        answer = (await server.wait_for_messages(ann, 2))[-1]
        assert order["tracking_url"] not in answer["text"] and str(order["carrier"]) not in answer["text"]
        assert buttons(answer) == [bot.runtime.engine.say("talk_to_person", "en")]


async def test_action_chinese_customer_gets_the_lost_parcel_handed_to_a_person(trained_config, server, tmp_path):
    async with bot_and_shop(trained_config, server, tmp_path) as (bot, db):
        order = an_order(db, "lost")
        li = server.create_user("李", language_code="zh-hans")
        server.send_text(li, f"快递延误了，到现在还没送到，订单号{order['id']}，邮编{order['postcode']}")
        answer = (await server.wait_for_messages(li, 1))[-1]
        handoff = bot.runtime.db.execute("SELECT reason, status FROM handoffs").fetchone()
        assert handoff == ("action", "requested")  # no staff group in this test: recorded, and said honestly
        assert bot.runtime.engine.say("handoff", "zh") in answer["text"]
        stored = "\n".join(r[0] for r in bot.runtime.db.execute("SELECT text FROM messages WHERE direction = 'in'"))
        assert order["postcode"] not in stored and "<POSTCODE>" in stored


async def test_action_endpoint_down_gives_the_general_answer_an_apology_and_a_person(trained_config, server):
    closed = f"http://127.0.0.1:{free_port()}/actions/order_status"
    async with running_bot(configure(trained_config, server, one_endpoint(closed)), server) as bot:
        ann = server.create_user("Ann", language_code="en")
        server.send_text(ann, "where is my order 10003? I ordered with carlos@example.net")
        [answer] = await server.wait_for_messages(ann, 1)
        assert answer["text"].startswith(bot.runtime.engine.response("order_status", "en")[:40])
        assert bot.runtime.engine.say("action_failed", "en")[:30] in answer["text"]
        assert "refused" not in answer["text"].lower() and "Traceback" not in answer["text"]
        assert buttons(answer)[0] == bot.runtime.engine.say("talk_to_person", "en")


async def test_action_template_field_with_html_characters_arrives_as_plain_text(trained_config, server):
    fields = {"order_id": "10003", "status": "<b>shipped</b> & on its way", "shipped_on": "2026-12-01",
              "carrier": "A&B <Express>", "tracking_url": "https://t.example/?a=1&b=2", "expected_on": "soon"}
    async with serving(answering({"outcome": "ok", "fields": fields})) as url, \
            running_bot(configure(trained_config, server, one_endpoint(url)), server):
        ann = server.create_user("Ann", language_code="en")
        server.send_text(ann, "where is my order 10003? I ordered with carlos@example.net")
        [answer] = await server.wait_for_messages(ann, 1)  # Telegram refuses broken HTML: it arrived, so it parsed
        assert "<b>shipped</b> & on its way" in answer["text"] and "A&B <Express>" in answer["text"]
        assert [e["type"] for e in answer.get("entities", [])] == ["url"]  # shown literally, not as bold


async def test_action_slow_endpoint_never_holds_up_other_customers(trained_config, server):
    called, release = asyncio.Event(), asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        called.set()
        await release.wait()  # as slow as the test needs: the shop answers once Bob has his answer
        return web.json_response({"outcome": "ok", "text": "Found it."})

    async with serving(slow) as url, running_bot(configure(trained_config, server, one_endpoint(url, 30.0)), server):
        ann, bob = server.create_user("Ann"), server.create_user("Bob")
        server.send_text(ann, "where is my order 10003? I ordered with carlos@example.net")
        await asyncio.wait_for(called.wait(), 30)  # Ann's call is out
        server.send_text(bob, "how do I reset my password?")
        [bob_answer] = await server.wait_for_messages(bob, 1, timeout=30)
        assert bob_answer["text"] and not server.sent_messages(ann)  # Ann is still waiting on the shop...
        # ...and her update is confirmed already: nobody's waits behind her call
        assert not [u for u in server.pending_updates if u["message"]["chat"]["id"] == ann.id]
        release.set()
        [ann_answer] = await server.wait_for_messages(ann, 1)
        assert ann_answer["text"] == "Found it."  # how long Bob waited meanwhile is make bench's (the actions phase)


async def test_action_kill_9_during_a_call_answers_once_at_the_next_start(trained_config, server, tmp_path):
    """The update of a message waiting on the shop is confirmed before the call: after a kill Telegram has
    nothing to deliver again, so the next start answers it: as a failed call, once."""
    called = asyncio.Event()

    async def hanging(_request: web.Request) -> web.Response:
        called.set()
        await asyncio.sleep(60)
        return web.json_response({"outcome": "ok", "text": "Too late."})

    async with serving(hanging) as url:
        bot = BotProcess(configure(trained_config, server, one_endpoint(url, deadline=30.0)), server.token,
                         tmp_path / "bot.log")
        try:
            await bot.start(server)
            ann = server.create_user("Ann", language_code="en")
            server.send_text(ann, "where is my order 10003? I ordered with carlos@example.net")
            await asyncio.wait_for(called.wait(), 60)
            await server.wait_for(lambda: not server.pending_updates, timeout=10)
            await bot.kill()
            assert not server.sent_messages(ann)
            await bot.start(server)
            [answer] = await server.wait_for_messages(ann, 1)
            server.send_text(ann, "thanks")  # the next message is answered as usual, the interrupted one not again
            await server.wait_for_messages(ann, 2)
            assert await bot.stop() == 0, bot.log_path.read_text()[-3000:]
        finally:
            bot.close()
    with sqlite3.connect(bot.config.db_path) as db:
        assert db.execute("SELECT outcome, reason FROM action_calls").fetchall() == [("failed", "the bot stopped during the call")]
        stored = db.execute("SELECT r.text FROM messages r JOIN messages m ON r.reply_to = m.id "
                            "WHERE m.text LIKE 'where is my order%'").fetchall()
    assert stored == [(storable(answer["text"], bot.config.limits.max_text_chars),)]  # what was sent, redacted
    assert "I couldn't look up" in answer["text"] and "Too late." not in answer["text"]
    assert len(server.sent_messages(ann)) == 2


async def test_action_a_customer_linked_by_the_shops_start_link_picks_a_recent_order_and_gets_it_live(
        trained_config, server, tmp_path):
    token = make_token(SECRET.encode(), "weizhang", int(time.time()) + 600)
    async with bot_and_shop(trained_config, server, tmp_path) as (bot, _db):
        wei = server.create_user("Wei", language_code="en")
        server.send_text(wei, f"/start {token}")
        [linked] = await server.wait_for_messages(wei, 1)
        assert linked["text"] == bot.runtime.engine.say("account_linked", "en")
        server.send_text(wei, "where is my order?")
        asked = (await server.wait_for_messages(wei, 2))[-1]
        assert asked["text"] == question(bot.runtime, "order_id") and buttons(asked)[0].startswith("10023 · on its way")
        [[order]] = asked["reply_markup"]["inline_keyboard"]
        server.press_button(wei, asked, order["callback_data"])
        answer = (await server.wait_for_messages(wei, 3))[-1]
        assert "10023" in answer["text"] and "track.example.com" in answer["text"]  # no e-mail was asked for
        server.send_text(server.create_user("Eve"), f"/start {token}")  # the same link, forwarded
        assert bot.runtime.db.execute("SELECT count(*) FROM account_links").fetchone()[0] == 1


async def test_slot_a_restart_in_the_middle_of_a_question_continues_it(trained_config, server, tmp_path):
    async with demo_shop(tmp_path) as (base, db):
        config = configure(trained_config, server, endpoints(base))
        order = an_order(db, "delivered")
        ann = server.create_user("Ann", language_code="en")
        async with running_bot(config, server) as bot:
            server.send_text(ann, "where is my order?")
            [asked] = await server.wait_for_messages(ann, 1)
            assert asked["text"] == question(bot.runtime, "order_id")
        async with running_bot(config, server) as bot:
            server.send_text(ann, f"{order['id']} and the postcode is {order['postcode']}")
            answer = (await server.wait_for_messages(ann, 2))[-1]
            assert str(order["id"]) in answer["text"] and answer["text"] != question(bot.runtime, "order_id")


async def test_slot_cancel_on_telegram_drops_the_question(trained_config, server, tmp_path):
    async with bot_and_shop(trained_config, server, tmp_path) as (bot, _db):
        ann = server.create_user("Ann", language_code="en")
        server.send_text(ann, "where is my order?")
        await server.wait_for_messages(ann, 1)
        server.send_text(ann, "/cancel")
        cancelled = (await server.wait_for_messages(ann, 2))[-1]
        assert cancelled["text"] == bot.runtime.engine.say("slot_cancelled", "en")
        assert bot.runtime.db.execute("SELECT count(*) FROM dialogue_state").fetchone()[0] == 0


async def test_action_console_answers_an_order_question_from_the_demo_shop(trained_config, tmp_path):
    async with demo_shop(tmp_path) as (base, db):
        order = an_order(db, "processing")
        config = configure_console(trained_config, endpoints(base))
        runtime = open_runtime(config)
        out = io.StringIO()
        lines = io.StringIO(f"where is my order {order['id']}?\n{order['email']}\n")
        # The console drives its own event loop: run it beside this test's loop, which serves the shop.
        await asyncio.to_thread(lambda: ConsoleChat(runtime, out, user="ann").run(lines))
        runtime.close()
        text = out.getvalue()
        assert question(runtime, "verifier") in text and str(order["id"]) in text.split(question(runtime, "verifier"))[-1]


async def test_action_console_links_an_account_and_offers_its_recent_orders_by_number(trained_config, tmp_path):
    token = make_token(SECRET.encode(), "weizhang", int(time.time()) + 600)
    async with demo_shop(tmp_path) as (base, _db):
        runtime = open_runtime(configure_console(trained_config, endpoints(base)))
        out = io.StringIO()
        lines = io.StringIO(f"/start {token}\nwhere is my order?\n1\n")
        await asyncio.to_thread(lambda: ConsoleChat(runtime, out, user="wei").run(lines))
        runtime.close()
    text = out.getvalue()
    assert runtime.engine.say("account_linked", "en") in text
    assert "1) 10023 · on its way" in text and "track.example.com" in text.split("1) 10023")[-1]
    assert question(runtime, "verifier") not in text


def configure_console(config, extra: str):
    config.source.write_text(config.source.read_text() + extra)
    return load_config(config.source)
