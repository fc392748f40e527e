"""Admin commands and the nightly job, end to end through PTB and the local Bot API server."""

from __future__ import annotations

import pytest

from storage.runs import Runs
from tests.botapi import BotAPIServer
from tests.conftest import promote_copy
from tests.harness import ADMIN_ID, configure, running_bot

pytestmark = pytest.mark.e2e


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


def audit(runtime) -> list[tuple[str, str, int]]:
    return [(r["actor"], r["action"], r["allowed"]) for r in runtime.db["audit"].rows]


async def test_non_admins_and_admins_outside_private_chats_are_refused_and_audited(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        eve = server.create_user("Eve")
        group = server.create_group("Staff")
        server.send_text(bot.admin, "/retrain", chat=group)
        for command in ("/retrain", "/status", "/rollback", "/review"):
            server.send_text(eve, command)
        replies = await server.wait_for_messages(eve, 4)
        assert {m["text"] for m in replies} == {bot.runtime.domain.message("admin_only", "en")}
        [in_group] = await server.wait_for_messages(group, 1)
        assert in_group["text"] == bot.runtime.domain.message("admin_only", "en")
        assert Runs(bot.runtime.db).recent() == []
        assert (f"telegram:{eve.id}", "retrain", 0) in audit(bot.runtime)
        assert (f"telegram:{ADMIN_ID}", "retrain", 0) in audit(bot.runtime)
        assert all(allowed == 0 for _, _, allowed in audit(bot.runtime))


async def test_status_and_rollback_swap_the_model_in_the_running_bot(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        registry = bot.runtime.registry
        first = registry.live()
        copy = promote_copy(registry)
        admin = bot.admin
        await server.wait_for(lambda: bot.runtime.model.current.version == copy, timeout=5)
        server.send_text(admin, "/status")
        [status] = await server.wait_for_messages(admin, 1)
        assert f"Live model {copy}" in status["text"] and "Next scheduled run" in status["text"]
        server.send_text(admin, "/rollback")
        messages = await server.wait_for_messages(admin, 2)
        assert f"{first['version']} is live" in messages[1]["text"]
        assert bot.runtime.model.current.version == first["version"]
        server.send_text(admin, "/rollback no-such-version")
        messages = await server.wait_for_messages(admin, 3)
        assert messages[2]["text"].startswith("Rollback refused")
        assert (f"telegram:{ADMIN_ID}", "rollback", 1) in audit(bot.runtime)


async def test_review_shows_thumbs_down_messages_and_a_press_stores_an_admin_label(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "where is my order")
        [answer] = await server.wait_for_messages(ann, 1)
        server.press_button(ann, answer, answer["reply_markup"]["inline_keyboard"][-1][1]["callback_data"])  # 👎
        await server.wait_for_messages(ann, 2)
        admin = bot.admin
        server.send_text(admin, "/review")
        [review] = await server.wait_for_messages(admin, 1)
        assert "where is my order" in review["text"]
        choice = next(b for row in review["reply_markup"]["inline_keyboard"] for b in row
                      if b["text"] == "delivery_delayed")
        server.press_button(admin, review, choice["callback_data"])
        messages = await server.wait_for_messages(admin, 2)
        assert messages[1]["text"] == "The review queue is empty."
        labels = [(l["intent"], l["source"], l["labelled_by"]) for l in bot.runtime.db["labels"].rows]
        assert labels == [("delivery_delayed", "admin", f"telegram:{ADMIN_ID}")]


async def test_the_nightly_job_fires_and_records_a_skipped_run(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        [job] = bot.app.job_queue.get_jobs_by_name("nightly-retrain")
        assert "hour='3'" in str(job.job.trigger) and job.job.misfire_grace_time == 6 * 3600
        assert job.job.coalesce and job.job.max_instances == 1
        await job.run(bot.app)
        runs = Runs(bot.runtime.db)
        [run] = runs.recent()
        run = await bot.app.bot_data.retrainer.wait(run["id"])
        assert run["trigger"] == "nightly" and run["status"] == "skipped"
        assert bot.runtime.db.execute("SELECT COUNT(*) FROM locks").fetchone()[0] == 0  # the lock is released


@pytest.mark.slow
async def test_retrain_from_telegram_runs_once_reports_and_sends_the_confusion_matrix(trained_config, server):
    config = configure(trained_config, server, "\n[promotion]\ntolerance = 0.2\nrecall_floor = 0.0\n")
    async with running_bot(config, server) as bot:
        admin = bot.admin
        server.send_text(admin, "/retrain")
        server.send_text(admin, "/retrain")
        first_two = await server.wait_for_messages(admin, 2, timeout=10)
        texts = sorted(m["text"] for m in first_two)
        assert texts[0].startswith("A training run is already in progress (run 1)")
        assert texts[1].startswith("Training run 1")
        await server.wait_for(lambda: server.calls_to("sendPhoto"), timeout=400)
        messages = server.sent_messages(admin)
        result = next(i for i, m in enumerate(messages) if m.get("text", "").startswith("Training run 1 promoted"))
        assert "macro-F1: live" in messages[result]["text"]
        photo = next(i for i, m in enumerate(messages) if m.get("photo"))  # other notices may come in between
        assert photo > result and "confusion matrix" in messages[photo]["caption"]
        assert Runs(bot.runtime.db).get(1)["status"] == "promoted"
        await server.wait_for(lambda: bot.runtime.model.current.version == bot.runtime.registry.live()["version"])
