"""The learning loop with real training, real SQLite and real child processes."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.replies import Incoming
from bot.retrain import Retrainer
from bot.runtime import open_runtime
from bot.schedule import missed_fire_time, nightly_trigger
from bot.usecases.access import Actor
from bot.worker import Worker
from storage.db import open_db
from storage.labels import Labels, LabelSource
from storage.messages import Messages
from storage.runs import RunInProgress, Runs, RunTrigger
from training.config import load_config
from training.pipeline import execute

NOVEL = ["zorblax status?", "any zorblax news", "zorblax where is it", "what about my zorblax",
         "zorblax update pls", "is the zorblax coming", "zorblax tracking", "zorblax whereabouts today",
         "the zorblax, where", "zorblax ETA?", "tell me zorblax location", "how far is my zorblax"]


def loosen(config, extra: str):
    config.source.write_text(config.source.read_text() + extra)
    return load_config(config.source)


def top_intent(runtime, text: str) -> str:
    return runtime.model.current.predict(text, 1)[0][0]


def label_via_conversation(runtime, texts, intent, user="u1"):
    """A customer asks, picks the suggestion: the real path a label takes."""
    for text in texts:
        stored = runtime.engine.record(Incoming("console", user, "c", text))
        Messages(runtime.db).add_reply(
            stored, "…", {"model_version": "x", "intent": intent, "confidence": 0.4,
                          "topk": [(intent, 0.4)], "action": "suggest"})
        Labels(runtime.db).add(stored.id, intent, LabelSource.SUGGESTION)


@pytest.mark.slow
def test_labels_from_conversations_teach_the_model_a_new_phrasing(trained_config):
    config = loosen(trained_config, "\n[promotion]\ntolerance = 0.05\nrecall_floor = 0.3\n")
    runtime = open_runtime(config)
    assert top_intent(runtime, "zorblax now") != "order_status"
    label_via_conversation(runtime, NOVEL, "order_status")
    run_id = Runs(runtime.db).start(RunTrigger.CLI, "test")
    run = execute(config, runtime.db, run_id)
    Runs(runtime.db).release(run_id)
    assert run["status"] == "promoted", run
    assert run["counts"]["collect"]["suggestion"] == len(NOVEL)
    assert run["counts"]["train"]["from_conversations"] == len(NOVEL)
    assert runtime.model.refresh() is True
    assert top_intent(runtime, "zorblax now") == "order_status"
    report = os.path.join(run["report_path"], "report.md")
    assert os.path.exists(report) and os.path.exists(os.path.join(run["report_path"], "confusion.png"))
    runtime.close()


@pytest.mark.slow
def test_a_poisoned_candidate_is_rejected_and_the_live_model_stays(trained_config):
    runtime = open_runtime(trained_config)
    live = runtime.registry.live()["version"]
    swaps = [("order_status", "cancel_order"), ("refund_request", "refund_status"), ("greet", "goodbye")]
    for a, b in swaps + [(b, a) for a, b in swaps]:  # every example of a also labelled b: a 50/50 coin
        examples = runtime.domain.intents[a].examples
        label_via_conversation(runtime, [t.upper() for t in examples["en"] + examples["zh"]], b)
    run_id = Runs(runtime.db).start(RunTrigger.CLI, "test")
    run = execute(trained_config, runtime.db, run_id)
    Runs(runtime.db).release(run_id)
    assert run["status"] == "rejected"
    assert "below the live model's" in run["progress"] or "collapsed" in run["progress"]
    assert runtime.registry.live()["version"] == live
    assert runtime.registry.get(run["candidate_version"])["status"] == "rejected"
    runtime.close()


def test_nightly_run_without_new_labels_is_skipped(trained_config):
    db = open_db(trained_config.db_path)
    run_id = Runs(db).start(RunTrigger.NIGHTLY)
    run = execute(trained_config, db, run_id)
    assert run["status"] == "skipped" and run["counts"]["collect"]["new"] == 0


def test_only_one_run_at_a_time_across_processes(trained_config):
    db = open_db(trained_config.db_path)
    first = Runs(db).start(RunTrigger.CLI)
    other = subprocess.run(
        [sys.executable, "-m", "bot.cli", "retrain", "--config", str(trained_config.source)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SUPPORTBOT_VAR": str(trained_config.var_dir)},
    )
    assert other.returncode == 1
    assert f"training run {first} is in progress" in other.stderr
    with pytest.raises(RunInProgress) as busy:
        Runs(open_db(trained_config.db_path)).start(RunTrigger.ADMIN)
    assert busy.value.run_id == first


@pytest.mark.slow
async def test_killing_the_training_process_leaves_model_and_database_intact(trained_config):
    runtime = open_runtime(trained_config)
    live = runtime.registry.live()["version"]
    worker = Worker(runtime)
    retrainer = Retrainer(worker, trained_config.source, trained_config.var_dir)
    run_id = await retrainer.start(RunTrigger.ADMIN, Actor("test", admin=True))
    runs = Runs(runtime.db)
    deadline = time.monotonic() + 120
    while runs.get(run_id)["stage"] != "train" or not (runs.get(run_id)["progress"] or "").startswith("epoch"):
        assert time.monotonic() < deadline, runs.get(run_id)
        await asyncio.sleep(0.2)
    pid = runtime.db.execute("SELECT owner_pid FROM locks").fetchone()[0]
    os.kill(pid, signal.SIGKILL)
    run = await retrainer.wait(run_id)
    assert run["status"] == "failed"
    assert runtime.db.execute("SELECT COUNT(*) FROM locks").fetchone()[0] == 0  # the lock is released
    assert runtime.registry.live()["version"] == live
    assert runtime.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert runtime.model.current.version == live
    worker.close()


def test_a_lock_left_by_a_dead_process_is_cleared(trained_config):
    db = open_db(trained_config.db_path)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    run_id = Runs(db).start(RunTrigger.CLI)
    db.execute("UPDATE locks SET owner_pid = ?", [child.pid])
    assert Runs(db).start(RunTrigger.CLI) == run_id + 1
    assert Runs(db).get(run_id)["status"] == "failed"


def test_missed_nightly_run_is_caught_up_once_within_grace():
    trigger = nightly_trigger("0 3 * * *", "UTC")
    now = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
    fire = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert missed_fire_time(trigger, datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC), now, timedelta(hours=6)) == fire
    assert missed_fire_time(trigger, datetime(2026, 11, 29, 3, 0, 2, tzinfo=UTC), now, timedelta(hours=6)) is None
    assert missed_fire_time(trigger, datetime(2026, 11, 27, 3, tzinfo=UTC), now, timedelta(hours=1)) is None
    assert missed_fire_time(trigger, None, now, timedelta(hours=6)) is None
