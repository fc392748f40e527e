"""/forget and the nightly retention purge, end to end: real PTB, engine, SQLite, local Bot API server."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage.labels import Labels, LabelSource
from storage.messages import Messages
from tests.botapi import BotAPIServer
from tests.harness import configure, running_bot

pytestmark = pytest.mark.e2e


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


def buttons(message: dict) -> list[str]:
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def user_ids(runtime) -> set[str]:
    return {u["external_id"] for u in runtime.db["users"].rows}


async def test_forget_asks_then_deletes_everything_about_the_customer_only(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        db, domain = bot.runtime.db, bot.runtime.domain
        ann, bob = server.create_user("Ann"), server.create_user("Bob")
        server.send_text(ann, "where is my order")
        server.send_text(bob, "where is my order")
        [answer] = await server.wait_for_messages(ann, 1)
        await server.wait_for_messages(bob, 1)
        server.press_button(ann, answer, buttons(answer)[0])  # 👍: feedback and a label
        await server.wait_for_messages(ann, 2)
        server.send_text(ann, "/forget")
        ask = (await server.wait_for_messages(ann, 3))[-1]
        assert ask["text"] == domain.message("forget_ask", "en") and buttons(ask) == ["f:yes", "f:no"]
        assert db["labels"].count == 1 and str(ann.id) in user_ids(bot.runtime)
        server.press_button(ann, ask, "f:yes")
        done = (await server.wait_for_messages(ann, 4))[-1]
        counts = {"messages": 3, "predictions": 1, "feedback": 1, "labels": 1}
        assert done["text"] == domain.message("forget_done", "en").format(**counts)
        assert "reply_markup" not in server.sent_messages(ann)[2]  # the prompt's buttons are gone
        assert user_ids(bot.runtime) == {str(bob.id)}  # the confirmation itself was not stored
        assert db["messages"].count == 2 and db["predictions"].count == 1 and db["outcomes"].count == 1  # Bob's
        assert db["labels"].count == 0 and db["feedback"].count == 0
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_a_refused_admin_command_is_audited_without_its_text_and_forget_anonymises_the_row(trained_config, server):
    secret = "/status of everything, my phone +44 7700 900123 card 4111111111111111"
    async with running_bot(configure(trained_config, server), server) as bot:
        db, domain = bot.runtime.db, bot.runtime.domain
        eve = server.create_user("Eve")
        actor = f"telegram:{eve.id}"
        server.send_text(eve, secret)
        [notice] = await server.wait_for_messages(eve, 1)
        assert notice["text"] == domain.message("admin_only", "en")
        [refused] = [a for a in db["audit"].rows if a["actor"] == actor]
        assert (refused["action"], refused["allowed"], refused["detail"]) == ("status", 0, "")
        stored = json.dumps(list(db["audit"].rows))
        for part in ("7700", "900123", "4111111111111111", "everything", "phone", "card"):
            assert part not in stored
        server.send_text(eve, "/forget")
        ask = (await server.wait_for_messages(eve, 2))[-1]
        server.press_button(eve, ask, "f:yes")
        await server.wait_for_messages(eve, 3)
        audit = list(db["audit"].rows)
        assert [a for a in audit if str(eve.id) in json.dumps(a)] == []  # no row names her any more
        assert [(a["actor"], a["action"], a["allowed"]) for a in audit] == [
            ("telegram", "status", 0), ("telegram", "forget", 1)  # what happened, and when, is kept
        ]


async def test_forget_cancelled_keeps_everything_and_speaks_the_users_language(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        db, domain = bot.runtime.db, bot.runtime.domain
        li = server.create_user("李", language_code="zh-hans")
        first = server.send_text(li, "我想退货")
        await server.wait_for_messages(li, 1)
        await server.wait_until_confirmed(first)  # handled to the end: the answer is recorded as delivered
        before = [list(db[t].rows) for t in ("users", "messages", "predictions")]
        server.send_text(li, "/forget")
        ask = (await server.wait_for_messages(li, 2))[-1]
        assert ask["text"] == domain.message("forget_ask", "zh")
        server.press_button(li, ask, "f:no")
        cancelled = (await server.wait_for_messages(li, 3))[-1]
        assert cancelled["text"] == domain.message("forget_cancelled", "zh")
        assert [list(db[t].rows) for t in ("users", "messages", "predictions")] == before


async def test_the_nightly_purge_deletes_old_messages_and_is_audited(trained_config, server):
    config = configure(trained_config, server, "\n[privacy]\nretention_days = 30\n")
    async with running_bot(config, server) as bot:
        db = bot.runtime.db
        [job] = bot.app.job_queue.get_jobs_by_name("retention-purge")
        assert "hour='4', minute='30'" in str(job.job.trigger)  # every day, after the nightly retrain
        old = Messages(db).add_incoming(channel="telegram", user="1", chat_id="1", text="where is my order", language="en")
        Labels(db).add(old.id, "order_status", LabelSource.ADMIN, "telegram:4242")
        long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
        db.execute("UPDATE messages SET created_at = ?", [long_ago])
        await job.run(bot.app)
        assert db["messages"].count == 0
        [label] = db["labels"].rows  # keep_anonymous_labels defaults to true
        assert (label["message_id"], label["labelled_by"], label["text"]) == (None, None, "where is my order")
        [audit] = [a for a in db["audit"].rows if a["action"] == "purge"]
        assert audit["actor"] == "nightly" and '"messages": 1' in audit["detail"]
