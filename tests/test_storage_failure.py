"""A database that refuses writes: the bot keeps answering and writes what it held once storage recovers."""

import pytest

from bot.replies import Incoming
from bot.runtime import open_runtime
from tests.botapi import BotAPIServer
from tests.harness import configure, running_bot


@pytest.fixture
def runtime(trained_config):
    runtime = open_runtime(trained_config)
    yield runtime
    runtime.close()


def ask(runtime, text, key=None):
    return runtime.engine.handle(Incoming("console", "ann", "c", text, external_key=key))


def incoming_texts(runtime):
    return [r["text"] for r in runtime.db["messages"].rows_where("direction = 'in'", order_by="id")]


def test_read_only_database_keeps_answering_and_catches_up(runtime, caplog):
    runtime.db.execute("PRAGMA query_only = ON")  # SQLite now refuses every write
    replies = [ask(runtime, "where is my order", key=f"k{i}") for i in range(3)]
    assert all(r.text == runtime.engine.response("order_status", "en") for r in replies)
    assert all(r.buttons == () and r.message_id is None for r in replies)
    assert len(runtime.engine.pending.items) == 3
    assert caplog.text.count("storage failed") == 1
    assert runtime.engine.pending.take_alert().startswith("Storage failure")
    assert runtime.engine.pending.take_alert() is None  # admins are told once
    runtime.db.execute("PRAGMA query_only = OFF")
    after = ask(runtime, "thanks", key="k3")
    assert after.message_id is not None
    assert incoming_texts(runtime) == ["where is my order"] * 3 + ["thanks"]
    assert runtime.db["predictions"].count == 4
    assert "storage recovered: wrote 3" in caplog.text


def test_a_full_disk_is_survived_and_the_bound_is_reported(runtime, caplog):
    runtime.engine.pending.limit = 2
    pages = runtime.db.execute("PRAGMA page_count").fetchone()[0]
    runtime.db.execute(f"PRAGMA max_page_count = {pages}")  # "database or disk is full" on growth
    for i in range(40):
        reply = ask(runtime, f"where is my order, attempt {i} " + "x" * 300, key=f"f{i}")
        assert reply.text
    assert "database or disk is full" in (runtime.engine.pending.failing or "")
    assert len(runtime.engine.pending.items) == 2 and runtime.engine.pending.dropped > 0
    assert "bound of 2 reached" in caplog.text
    runtime.db.execute("PRAGMA max_page_count = 1073741823")
    ask(runtime, "hello", key="last")
    assert runtime.engine.pending.items == type(runtime.engine.pending.items)()
    assert incoming_texts(runtime)[-1] == "hello"


async def test_admins_hear_about_a_storage_failure_once(trained_config):
    async with BotAPIServer() as server:
        async with running_bot(configure(trained_config, server), server) as bot:
            ann = server.create_user("Ann")
            bot.runtime.db.execute("PRAGMA query_only = ON")
            server.send_text(ann, "where is my order")
            server.send_text(ann, "hello")
            await server.wait_for_messages(ann, 2)
            alerts = await server.wait_for_messages(bot.admin, 1)
            assert alerts[0]["text"].startswith("Storage failure")
            bot.runtime.db.execute("PRAGMA query_only = OFF")
            server.send_text(ann, "thanks")
            await server.wait_for_messages(ann, 3)
            assert len(server.sent_messages(bot.admin)) == 1
            assert bot.runtime.db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'in'").fetchone()[0] == 3
