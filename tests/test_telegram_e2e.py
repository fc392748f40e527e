"""End to end: real python-telegram-bot, real engine, real SQLite and model, local Bot API server."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from bot.channels import callbacks
from bot.channels.telegram_send import split_text
from tests.botapi import BotAPIServer
from tests.conftest import free_port
from tests.harness import configure, running_bot

pytestmark = pytest.mark.e2e

UNSURE = "\n[policy]\nconfident = 1.0\nsuggest = 0.0\n"


@pytest.fixture
async def server():
    async with BotAPIServer(webhook_retry_delays=(0.05, 0.1, 0.2)) as srv:
        yield srv


def stored_in(runtime) -> list[str]:
    return [r["text"] for r in runtime.db["messages"].rows_where("direction = 'in'", order_by="id")]


def response(runtime, intent: str, lang: str) -> str:
    return runtime.engine.response(intent, lang)


async def test_questions_in_english_and_chinese_get_the_right_answers(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann", language_code="en")
        li = server.create_user("李", language_code="zh-hans")
        server.send_text(ann, "where is my order?")
        server.send_text(li, "我想退货")
        [en] = await server.wait_for_messages(ann, 1)
        [zh] = await server.wait_for_messages(li, 1)
        assert en["text"] == response(bot.runtime, "order_status", "en")
        assert zh["text"] == response(bot.runtime, "return_item", "zh")
        buttons = [b["text"] for row in en["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["👍", "👎"]
        assert stored_in(bot.runtime) == ["where is my order?", "我想退货"]
        assert bot.app.bot.rate_limiter is not None  # Telegram's flood limits are kept by default


async def test_the_event_loop_never_runs_sql_itself(trained_config, server):
    """Every statement of an answer, a 👍 and an admin command runs on the worker thread (the
    answer's classification runs inside the same `Engine.handle` call, between its statements)."""
    async with running_bot(configure(trained_config, server), server) as bot:
        threads: list[str] = []
        bot.runtime.db.conn.set_trace_callback(lambda sql: threads.append(threading.current_thread().name))
        ann = server.create_user("Ann")
        server.send_text(ann, "where is my order?")
        [answer] = await server.wait_for_messages(ann, 1)
        server.press_button(ann, answer, answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        server.send_text(bot.admin, "/status")
        await server.wait_for_messages(ann, 2)
        await server.wait_for_messages(bot.admin, 1)
        bot.runtime.db.conn.set_trace_callback(None)
        assert len(threads) > 10
        assert {name.split("_")[0] for name in threads} == {"supportbot-worker"}


async def test_unsure_question_offers_suggestions_and_a_press_answers_and_labels(trained_config, server):
    async with running_bot(configure(trained_config, server, UNSURE), server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "I want my money back")
        [ask] = await server.wait_for_messages(ann, 1)
        rows = ask["reply_markup"]["inline_keyboard"]
        assert ask["text"] == bot.runtime.domain.message("did_you_mean", "en")
        assert rows[-1][0]["text"] == bot.runtime.domain.message("talk_to_person", "en")
        data = rows[0][0]["callback_data"]
        server.press_button(ann, ask, data)
        messages = await server.wait_for_messages(ann, 2)
        intent = callbacks.parse_choice(data).choice
        assert messages[-1]["text"] == response(bot.runtime, intent, "en")
        assert "reply_markup" not in server.sent_messages(ann)[0]  # the keyboard was edited away
        labels = list(bot.runtime.db["labels"].rows)
        assert [(l["intent"], l["source"]) for l in labels] == [(intent, "suggestion")]


async def test_thumbs_are_stored_and_the_keyboard_disappears(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "how much is shipping")
        server.send_text(ann, "where is my order")
        first, second = await server.wait_for_messages(ann, 2)
        server.press_button(ann, first, first["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        server.press_button(ann, second, second["reply_markup"]["inline_keyboard"][0][1]["callback_data"])
        messages = await server.wait_for_messages(ann, 4)
        assert {m["text"] for m in messages[2:]} == {
            bot.runtime.domain.message("feedback_thanks", "en"),
            bot.runtime.domain.message("feedback_sorry", "en"),
        }
        assert all("reply_markup" not in m for m in server.sent_messages(ann)[:2])
        feedback = {r["positive"] for r in bot.runtime.db["feedback"].rows}
        assert feedback == {0, 1}
        assert [l["source"] for l in bot.runtime.db["labels"].rows] == ["feedback"]


async def test_forged_and_foreign_button_presses_are_refused(trained_config, server):
    async with running_bot(configure(trained_config, server, UNSURE), server) as bot:
        ann, eve = server.create_user("Ann"), server.create_user("Eve")
        server.send_text(ann, "refund")
        server.send_text(eve, "hello")
        [ask] = await server.wait_for_messages(ann, 1)
        [own] = await server.wait_for_messages(eve, 1)
        data = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        message_id = callbacks.parse_choice(data).message_id
        server.press_button(eve, own, data, forge=True)  # Eve replays Ann's button on her own message
        server.press_button(ann, ask, callbacks.choice(message_id, "invoice_request"), forge=True)  # not offered
        server.press_button(ann, ask, "drop table labels;--", forge=True)
        answers = await server.wait_for_callback_answers(3)
        expired = {bot.runtime.domain.message("choice_expired", lang) for lang in ("en", "zh")}
        assert all(a.text in expired for a in answers)
        assert bot.runtime.db["labels"].count == 0
        assert len(server.sent_messages(ann)) == 1 and len(server.sent_messages(eve)) == 1


async def test_non_text_gets_the_text_only_reply_in_the_users_language(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann, li = server.create_user("Ann"), server.create_user("李", language_code="zh")
        server.send_sticker(ann)
        server.send_photo(li)
        server.send_location(ann, 51.5, -0.1)
        en = await server.wait_for_messages(ann, 2)
        [zh] = await server.wait_for_messages(li, 1)
        assert {m["text"] for m in en} == {bot.runtime.domain.message("text_only", "en")}
        assert zh["text"] == bot.runtime.domain.message("text_only", "zh")


async def test_a_flood_gets_one_notice_and_every_message_is_stored(trained_config, server):
    flood = "rate_limit_messages = 3\nrate_limit_seconds = 60.0\n"
    async with running_bot(configure(trained_config, server, telegram=flood), server) as bot:
        ann = server.create_user("Ann")
        for i in range(10):
            server.send_text(ann, f"where is my order number {i}")
        await server.wait_for(lambda: len(stored_in(bot.runtime)) >= 10, timeout=10)
        await asyncio.sleep(0.3)
        sent = [m["text"] for m in server.sent_messages(ann)]
        assert sent.count(bot.runtime.domain.message("rate_limited", "en")) == 1
        assert len(sent) == 4
        assert len(stored_in(bot.runtime)) == 10


async def test_429_and_5xx_are_retried_and_no_reply_is_lost(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        server.inject("sendMessage", "429", count=1, retry_after=1)
        server.inject("sendMessage", "502", count=1)
        server.inject("sendMessage", "drop", count=1)
        server.inject("sendMessage", "500", count=1)
        for text in ("hello", "where is my order", "thanks"):
            server.send_text(ann, text)
        messages = await server.wait_for_messages(ann, 3, timeout=20)
        assert len(messages) == 3
        assert {f.kind for f in server.faults_served} == {"429", "502", "drop", "500"}
        assert len(stored_in(bot.runtime)) == 3


def webhook_config(config, server, monkeypatch) -> tuple:
    """Webhook mode on a free local port; the secret from the environment, as in production."""
    port = free_port()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-token")
    url = f"http://127.0.0.1:{port}/hook"
    keys = f'mode = "webhook"\nwebhook_port = {port}\nwebhook_path = "hook"\nwebhook_url = "{url}"\n'
    return configure(config, server, telegram=keys), url


def private_update(update_id: int, user_id: int, text: str) -> dict:
    sender = {"id": user_id, "is_bot": False, "first_name": "X"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "from": sender,
                                                "chat": {"id": user_id, "type": "private"}, "text": text}}


async def test_webhook_mode_delivers_with_the_secret_and_refuses_a_wrong_one(trained_config, server, monkeypatch):
    config, url = webhook_config(trained_config, server, monkeypatch)
    async with running_bot(config, server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "do you ship express")
        [reply] = await server.wait_for_messages(ann, 1, timeout=10)
        assert reply["text"]
        [delivery] = await server.wait_for(lambda: server.webhook_deliveries)
        assert delivery.status == 200  # PTB checked the secret Telegram sent
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=private_update(999, 1, "hi"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                assert resp.status == 403
        assert stored_in(bot.runtime) == ["do you ship express"]


async def test_webhook_answers_telegram_only_after_the_update_is_handled(trained_config, server, monkeypatch):
    """A 200 tells Telegram never to send the update again: by then it must be stored and answered."""
    config, url = webhook_config(trained_config, server, monkeypatch)
    async with running_bot(config, server) as bot:
        ann = server.create_user("Ann", started=True)
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        async with aiohttp.ClientSession() as http:
            for update_id, text in ((7001, "where is my order"), (7002, "我想退货")):
                async with http.post(url, json=private_update(update_id, ann.id, text), headers=headers) as resp:
                    assert resp.status == 200
                    answered = bot.runtime.db.execute(
                        "SELECT answered_at FROM messages WHERE external_key = ?", [f"telegram:{update_id}"]
                    ).fetchone()
                    assert answered is not None and answered[0] is not None
        assert len(server.sent_messages(ann)) == 2


async def test_start_and_help_in_both_languages(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann, li = server.create_user("Ann"), server.create_user("李", language_code="zh-hans")
        for user in (ann, li):
            server.send_text(user, "/start")
            server.send_text(user, "/help")
        en = await server.wait_for_messages(ann, 2)
        zh = await server.wait_for_messages(li, 2)
        domain = bot.runtime.domain
        assert en[0]["text"] == domain.message("start", "en") and zh[0]["text"] == domain.message("start", "zh")
        assert domain.intents["order_status"].title["en"] in en[1]["text"]
        assert domain.intents["order_status"].title["zh"] in zh[1]["text"]
        assert domain.intents["out_of_scope"].title["en"] not in en[1]["text"]
        assert [c["command"] for c in server.commands()] == ["start", "help", "human", "cancel", "forget"]
        admin_scope = {"type": "chat", "chat_id": 4242}
        assert "retrain" in [c["command"] for c in server.commands(admin_scope)]


async def test_groups_answer_only_when_addressed_and_channel_posts_are_ignored(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        group = server.create_group("Shoppers")
        server.send_text(ann, "where is my order", chat=group)
        server.send_text(ann, f"@{server.bot.username} where is my order", chat=group)
        channel = server.create_channel()
        server.post_to_channel(channel, "where is my order")
        [reply] = await server.wait_for_messages(group, 1)
        assert reply["text"] == response(bot.runtime, "order_status", "en")
        await asyncio.sleep(0.5)
        assert len(server.sent_messages(group)) == 1 and not server.sent_messages(channel)
        assert stored_in(bot.runtime) == ["where is my order"]


async def test_edited_messages_are_answered_again(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        update = server.send_text(ann, "hi")
        await server.wait_for_messages(ann, 1)
        server.edit_text(update["message"], "where is my order")
        messages = await server.wait_for_messages(ann, 2)
        assert messages[1]["text"] == response(bot.runtime, "order_status", "en")


async def test_a_clean_shutdown_while_updates_are_in_flight_loses_none(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        users = [server.create_user(f"U{i}") for i in range(8)]
        for user in users:
            server.send_text(user, "where is my order")
        await server.wait_for(lambda: server.calls_to("getUpdates") and not server.pending_updates, timeout=10)
    runtime = bot.runtime
    assert all(len(server.sent_messages(u)) == 1 for u in users)
    from storage.db import open_db

    db = open_db(runtime.config.db_path)
    assert db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'in'").fetchone()[0] == 8


def test_long_replies_are_split_within_the_limit():
    text = ("word " * 3000).strip()
    chunks = split_text(text)
    assert len(chunks) == 4 and all(len(c) <= 4096 for c in chunks)
    assert " ".join(chunks) == text


def test_callback_data_round_trips_and_rejects_junk():
    assert callbacks.parse_choice(callbacks.choice(123, "order_status")) == callbacks.Pressed(123, "order_status")
    assert callbacks.parse_review(callbacks.review(7, "skip")) == callbacks.Pressed(7, "skip")
    assert callbacks.parse_forget(callbacks.forget(True)) is True and callbacks.parse_forget(callbacks.forget(False)) is False
    for junk in (None, "", "abc", "1:ORDER", "1:a;b", "12:" + "x" * 50, "-1:up", "f:maybe", "r:1:"):
        assert callbacks.parse_choice(junk) is None and callbacks.parse_review(junk) is None
        assert callbacks.parse_forget(junk) is None
        assert callbacks.UNKNOWN.match(junk or "")  # some handler answers every press
    for known in ("1:up", "f:no", "r:3:greet"):
        assert not callbacks.UNKNOWN.match(known)  # and exactly one handler takes it
    with pytest.raises(ValueError):
        callbacks.choice(1, "x" * 70)


async def test_a_handler_failure_is_logged_with_the_update_id_and_the_customer_told(trained_config, server, caplog):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        bot.runtime.db.conn.close()  # every storage call now fails; closing again at shutdown is harmless
        update = server.send_text(ann, "where is my order")
        [reply] = await server.wait_for_messages(ann, 1)
        assert reply["text"] == bot.runtime.domain.message("error", "en")
        assert f"error while handling update {update['update_id']}" in caplog.text
        assert "Traceback" not in reply["text"]


async def test_edited_messages_can_be_ignored_by_config(trained_config, server):
    async with running_bot(configure(trained_config, server, telegram='edited_messages = "ignore"\n'), server) as bot:
        ann = server.create_user("Ann")
        update = server.send_text(ann, "hi")
        await server.wait_for_messages(ann, 1)
        server.edit_text(update["message"], "where is my order")
        await server.wait_for(lambda: not server.pending_updates, timeout=5)
        await asyncio.sleep(0.3)
        assert len(server.sent_messages(ann)) == 1
        assert stored_in(bot.runtime) == ["hi"]


async def test_the_outgoing_rate_limiter_can_be_turned_off(trained_config, server):
    async with running_bot(configure(trained_config, server, telegram="outgoing_rate_limit = false\n"), server) as bot:
        assert bot.app.bot.rate_limiter is None
        ann = server.create_user("Ann")
        server.send_text(ann, "where is my order?")
        [reply] = await server.wait_for_messages(ann, 1)
        assert reply["text"] == response(bot.runtime, "order_status", "en")
