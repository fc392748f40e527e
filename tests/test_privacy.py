"""Reliability and privacy on real SQLite files: the start-up check, backups, /forget's erasure,
retention purges, and the audit trail of admin actions from the CLI."""

from __future__ import annotations

import getpass
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage.accounts import AccountLinks
from storage.audit import Audit, AuditAction
from storage.db import DatabaseRefused, backup, now, open_db
from storage.feedback import Feedback
from storage.labels import Labels, LabelSource
from storage.messages import Messages
from storage.privacy import forget, purge
from storage.registry import ModelRegistry
from storage.review import ReviewQueue
from storage.runs import Runs, RunTrigger
from tests.conftest import promote_copy
from training.collect import collect
from training.config import ConfigError, LearningSettings, load_config

OLD = (datetime.now(UTC) - timedelta(days=400)).isoformat(timespec="milliseconds")
OPERATOR = f"cli:{getpass.getuser()}"


def prediction(intent: str) -> dict:
    return {"model_version": "v1", "intent": intent, "confidence": 0.9,
            "topk": [(intent, 0.9), ("greet", 0.05)], "action": "answer"}


def chat(db, user: str, text: str, intent: str = "order_status") -> int:
    """One customer message and the bot's answer, as the engine stores them."""
    messages = Messages(db)
    stored = messages.add_incoming(channel="telegram", user=user, chat_id=user, text=text, language="en")
    messages.add_reply(stored, f"answer to {text}", prediction(intent))
    return stored.id


def rows(db, table: str) -> list[dict]:
    return list(db[table].rows_where(order_by="rowid"))


def snapshot(db) -> dict[str, list[dict]]:
    tables = ("users", "messages", "predictions", "feedback", "labels", "review_skips")
    return {t: rows(db, t) for t in tables}


def collected_texts(db) -> set[str]:
    return {r.text for r in collect(db, None, LearningSettings()).rows}


def backdate(db, message_ids: list[int], user: str | None = None) -> None:
    """Make messages (and their replies) and optionally a user look 400 days old."""
    marks = ",".join("?" * len(message_ids))
    db.execute(f"UPDATE messages SET created_at = ? WHERE id IN ({marks}) OR reply_to IN ({marks})",
               [OLD, *message_ids, *message_ids])
    if user:
        db.execute("UPDATE users SET created_at = ? WHERE external_id = ?", [OLD, user])


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "var" / "t.db")
    yield db
    db.close()


# --- the check at start ----------------------------------------------------------------------


def _filled_db(path: Path) -> bytes:
    db = open_db(path)
    for i in range(300):
        chat(db, str(i % 7), f"message number {i} " * 5)
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["random", "page", "truncated"])
def test_a_damaged_file_is_refused_and_left_untouched(tmp_path, damage):
    path = tmp_path / "t.db"
    data = _filled_db(path)
    page = 4096
    damaged = {
        "random": os.urandom(len(data)),
        "page": data[: 4 * page] + os.urandom(page) + data[5 * page :],
        "truncated": data[: len(data) // 2],
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(DatabaseRefused, match="is damaged .* restore the latest backup"):
        open_db(path)
    assert path.read_bytes() == damaged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db"]


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "t.db"
    db = open_db(path)
    db["_sqlite_migrations"].insert({"migration_set": "supportbot", "name": "m999_from_the_future", "applied_at": now()})
    db["_sqlite_migrations"].insert({"migration_set": "someone_else", "name": "x1", "applied_at": now()})
    db.close()
    data = path.read_bytes()
    with pytest.raises(DatabaseRefused, match="newer schema .*m999_from_the_future.* restore a backup"):
        open_db(path)
    assert path.read_bytes() == data


def test_migrations_of_other_sets_do_not_count_as_newer(tmp_path):
    path = tmp_path / "t.db"
    db = open_db(path)
    db["_sqlite_migrations"].insert({"migration_set": "someone_else", "name": "x1", "applied_at": now()})
    db.close()
    open_db(path).close()


def test_the_cli_prints_a_refusal_as_an_error_with_exit_code_2(config, capsys):
    config.db_path.parent.mkdir(parents=True)
    junk = os.urandom(8192)
    config.db_path.write_bytes(junk)
    assert main(["status", "--config", str(config.source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: database {config.db_path} is damaged") and "restore" in err
    assert config.db_path.read_bytes() == junk


def test_a_negative_retention_is_a_config_error(config_path):
    config_path.write_text(config_path.read_text() + "\n[privacy]\nretention_days = -1\n")
    with pytest.raises(ConfigError, match="retention_days"):
        load_config(config_path)


# --- backups ---------------------------------------------------------------------------------


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_backup_is_a_consistent_copy_while_another_connection_writes(tmp_path):
    path = tmp_path / "live.db"
    db = open_db(path)
    for i in range(200):
        chat(db, "ann", f"before {i}")
    stop = threading.Event()

    def writer() -> None:
        other = open_db(path)
        i = 0
        while not stop.is_set():
            chat(other, "bob", f"during {i}")
            i += 1
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        _wait(lambda: db["messages"].count > 500)
        dest = backup(db, tmp_path / "copy.db")
        copied = open_db(dest)  # the copy opens: it passes the same check as the live file
        n = copied["messages"].count
        _wait(lambda: db["messages"].count > n + 20)  # the writer went on during and after
    finally:
        stop.set()
        thread.join()
    assert not (tmp_path / "copy.db.tmp").exists()
    assert n > 500
    live = snapshot(db)
    restored = snapshot(copied)
    for table, table_rows in restored.items():
        assert table_rows == live[table][: len(table_rows)]  # a snapshot: a prefix of what the live file holds
    assert copied.execute("PRAGMA foreign_key_check").fetchall() == []


def test_backup_refuses_to_overwrite_the_live_database(db, tmp_path):
    with pytest.raises(ValueError, match="live database"):
        backup(db, tmp_path / "var" / "t.db")


def test_cli_backup_writes_a_copy_and_audits_it(config, capsys):
    db = open_db(config.db_path)
    chat(db, "ann", "where is my order")
    dest = config.var_dir / "backups" / "copy.db"
    dest.parent.mkdir()
    assert main(["backup", str(dest), "--config", str(config.source)]) == 0
    assert "backed up" in capsys.readouterr().out
    assert [r["text"] for r in rows(open_db(dest), "messages")] == [r["text"] for r in rows(db, "messages")]
    assert [(a["actor"], a["action"], a["detail"]) for a in rows(db, "audit")] == [(OPERATOR, "backup", str(dest))]
    assert main(["backup", str(config.db_path), "--config", str(config.source)]) == 2


# --- forget ----------------------------------------------------------------------------------


def _two_customers(db) -> None:
    feedback, labels = Feedback(db), Labels(db)
    m1 = chat(db, "ann", "where is my order")
    feedback.add(m1, True)  # feedback + a feedback label
    m2 = chat(db, "ann", "I want my money back", "refund_request")
    feedback.add(m2, False)
    ReviewQueue(db).skip(m2, "telegram:4242")
    labels.add(m2, "refund_request", LabelSource.ADMIN, "telegram:4242")
    m3 = chat(db, "ann", "hello there", "greet")
    labels.add(m3, "greet", LabelSource.SUGGESTION)
    b1 = chat(db, "bob", "where is my parcel")
    feedback.add(b1, True)
    labels.add_many([("imported", "greet")], LabelSource.IMPORT, "import:more.csv")
    links = AccountLinks(db)
    for name, account in (("ann", "ann1"), ("bob", "bob1")):  # both linked their accounts at the shop
        links.link(Messages(db).user_id("telegram", name), account, f"digest-{name}", int(time.time()) + 600)


def test_forget_deletes_everything_about_one_customer_and_nothing_else(db):
    _two_customers(db)
    bob_id = Messages(db).user_id("telegram", "bob")
    before = snapshot(db)
    counts = forget(db, "telegram", "ann")
    assert counts == {"messages": 6, "predictions": 3, "feedback": 2, "labels": 3, "review_skips": 1, "offers": 0,
                      "relays": 0, "action_calls": 0, "outcomes": 0, "handoffs": 0, "staff_topics": 0,
                      "dialogue_state": 0, "account_links": 1, "users": 1, "anonymised": 0}
    after = snapshot(db)
    assert [r["account"] for r in rows(db, "account_links")] == ["bob1"]
    assert [u["external_id"] for u in after["users"]] == ["bob"]
    assert {m["user_id"] for m in after["messages"]} == {bob_id}
    assert after["messages"] == [m for m in before["messages"] if m["user_id"] == bob_id]
    assert [l["text"] for l in after["labels"]] == ["where is my parcel", "imported"]
    assert after["review_skips"] == []
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert collected_texts(db) == {"where is my parcel", "imported"}  # the next retraining never sees Ann
    assert rows(db, "audit") == []  # audited by the use case layer (bot/usecases)


def test_forget_of_someone_never_stored_deletes_nothing(db):
    _two_customers(db)
    before = snapshot(db)
    assert set(forget(db, "telegram", "nobody").values()) == {0}
    assert snapshot(db) == before


# --- forget leaves no trace: not in the audit trail, not in the file's bytes ----------------

WORD = b"Zyxwvutsq"  # a customer's distinctive word, looked for in the raw bytes


def raw_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log as they lie on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def audit_rows(db) -> list[tuple]:
    return [(a["actor"], a["action"], a["detail"], a["allowed"]) for a in rows(db, "audit")]


def test_forget_leaves_the_customers_text_neither_in_the_database_file_nor_in_its_wal(tmp_path):
    path = tmp_path / "var" / "t.db"
    db = open_db(path)
    for i in range(40):  # other people's rows on the same pages
        chat(db, "bob", f"where is my parcel number {i}")
    mine = chat(db, "777", f"my surname is {WORD.decode()}, where is my order")
    Feedback(db).add(mine, False)
    Labels(db).add(mine, "order_status", LabelSource.ADMIN, "telegram:4242")
    ReviewQueue(db).skip(mine, "telegram:4242")
    audit = Audit(db)
    audit.record("telegram:777", AuditAction.STATUS, f"/status {WORD.decode()}", allowed=False)  # as older versions wrote
    audit.record("telegram:4242", AuditAction.REVIEW_LABEL, f"{mine}:order_status")
    assert WORD in raw_bytes(path)  # it was there: the test can fail

    counts = forget(db, "telegram", "777")

    assert WORD not in raw_bytes(path)
    assert (counts["messages"], counts["labels"], counts["review_skips"], counts["anonymised"]) == (2, 1, 1, 1)
    assert path.with_name("t.db-wal").stat().st_size == 0  # checkpointed and emptied
    assert audit_rows(db) == [("telegram", "status", "", 0), ("telegram:4242", "review-label", f"{mine}:order_status", 1)]
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 80  # Bob's, untouched
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_forget_of_an_admin_anonymises_what_they_did_and_keeps_that_it_was_done(db):
    _two_customers(db)  # an admin, telegram:4242, labelled and skipped Ann's message
    bob = db.execute("SELECT id FROM messages WHERE text = 'where is my parcel'").fetchone()[0]
    Labels(db).add(bob, "delivery_delayed", LabelSource.ADMIN, "telegram:4242")
    ReviewQueue(db).skip(bob, "telegram:4242")
    Runs(db).start(RunTrigger.ADMIN, "telegram:4242")
    Audit(db).record("telegram:4242", AuditAction.ROLLBACK, "20261201-120000-ab12")
    Audit(db).record("telegram:42", AuditAction.STATUS, allowed=False)  # someone else: kept as is

    counts = forget(db, "telegram", "4242")

    assert counts["anonymised"] == 6  # 2 labels, 2 skips, 1 run, 1 audit row
    assert counts["users"] == 0 and counts["messages"] == 0  # never wrote as a customer
    assert audit_rows(db) == [("telegram", "rollback", "", 1), ("telegram:42", "status", "", 0)]
    assert "telegram:4242" not in json.dumps(snapshot(db) | {"runs": rows(db, "training_runs")})
    assert {(l["intent"], l["labelled_by"]) for l in rows(db, "labels") if l["source"] == "admin"} == {
        ("refund_request", None), ("delivery_delayed", None)
    }
    assert [s["skipped_by"] for s in rows(db, "review_skips")] == [None, None]


def test_audit_details_older_versions_copied_from_telegram_are_emptied_by_the_migration(tmp_path):
    path = tmp_path / "var" / "t.db"
    db = open_db(path)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_audit_without_text'")  # as before it existed
    audit = Audit(db)
    audit.record("telegram:777", AuditAction.STATUS, "/status my phone +44 7700 900123 card 4111111111111111", False)
    audit.record("telegram:4242", AuditAction.REVIEW, "Customer wrote: my name is Zyxwvutsq")
    audit.record("cli:anna", AuditAction.BACKUP, "/srv/backups/x.db")
    db.close()
    db = open_db(path)
    assert audit_rows(db) == [
        ("telegram:777", "status", "", 0), ("telegram:4242", "review", "", 1), ("cli:anna", "backup", "/srv/backups/x.db", 1)
    ]


# --- retention -------------------------------------------------------------------------------


def _old_and_new(db) -> tuple[int, int, int]:
    """Ann and Cat wrote 400 days ago (Ann's labelled by an admin, rated, skipped); Bob wrote today.

    Today Ann pressed a button on her old answer: a new reply pointing at the old message, so
    Ann stays a user; Cat has nothing left after the purge.
    """
    messages, labels = Messages(db), Labels(db)
    old = chat(db, "ann", "where is my order")
    Feedback(db).add(old, False)
    ReviewQueue(db).skip(old, "telegram:4242")
    labels.add(old, "delivery_delayed", LabelSource.ADMIN, "telegram:4242")
    backdate(db, [old], user="ann")
    backdate(db, [chat(db, "cat", "bye", "goodbye")], user="cat")
    AccountLinks(db).link(messages.user_id("telegram", "cat"), "cat1", "digest-cat", int(time.time()) + 600)
    late_reply = messages.add_reply(messages.get(old), "handed over", None)
    new = chat(db, "bob", "hello there", "greet")
    labels.add(new, "greet", LabelSource.SUGGESTION)
    return old, new, late_reply


@pytest.mark.parametrize("keep_labels", [True, False])
def test_purge_deletes_old_messages_and_keeps_or_drops_their_labels(db, keep_labels):
    old, new, late_reply = _old_and_new(db)
    counts = purge(db, 365, keep_labels)
    labels = {"labels_detached": 1, "labels": 0} if keep_labels else {"labels_detached": 0, "labels": 1}
    assert counts == {"messages": 4, "predictions": 2, "feedback": 1, "review_skips": 1, "offers": 0, "users": 1,
                      "relays": 0, "action_calls": 0, "outcomes": 0, "handoffs": 0, "staff_topics": 0,
                      "dialogue_state": 0, "account_links": 1, **labels}
    assert [m["id"] for m in rows(db, "messages")] == [late_reply, new, new + 1]
    assert db["messages"].get(late_reply)["reply_to"] is None
    assert [u["external_id"] for u in rows(db, "users")] == ["ann", "bob"]
    expected = [("where is my order", "delivery_delayed", None, None)] if keep_labels else []
    expected.append(("hello there", "greet", new, None))
    assert [(l["text"], l["intent"], l["message_id"], l["labelled_by"]) for l in rows(db, "labels")] == expected
    assert ("where is my order" in collected_texts(db)) is keep_labels
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert rows(db, "audit") == []  # audited by the use case layer (bot/usecases)


def test_purge_with_zero_days_keeps_everything(db):
    _old_and_new(db)
    before = snapshot(db)
    assert set(purge(db, 0, False).values()) == {0}
    assert snapshot(db) == before
    assert rows(db, "audit") == []  # audited by the use case layer (bot/usecases)


def test_a_negative_purge_is_refused_before_anything_is_deleted(db):
    _old_and_new(db)
    before = snapshot(db)
    with pytest.raises(ValueError, match="older_than_days"):
        purge(db, -1, True)
    assert snapshot(db) == before


def test_cli_purge_uses_the_privacy_settings_and_days(config_path, capsys):
    config_path.write_text(config_path.read_text() + "\n[privacy]\nretention_days = 30\nkeep_anonymous_labels = false\n")
    config = load_config(config_path)
    db = open_db(config.db_path)
    _old_and_new(db)
    assert main(["purge", "--days", "0", "--config", str(config_path)]) == 0
    assert "nothing purged" in capsys.readouterr().out
    assert db["messages"].count == 7
    assert main(["purge", "--config", str(config_path)]) == 0
    assert "purged what is older than 30 days: 4 messages" in capsys.readouterr().out
    assert db["messages"].count == 3
    assert [l["text"] for l in rows(db, "labels")] == ["hello there"]  # keep_anonymous_labels = false
    audits = [(a["actor"], a["action"], json.loads(a["detail"])["older_than_days"]) for a in rows(db, "audit")]
    assert audits == [(OPERATOR, "purge", 0), (OPERATOR, "purge", 30)]
    assert main(["purge", "--days", "-3", "--config", str(config_path)]) == 2


# --- the audit trail of admin actions from the CLI -------------------------------------------


def test_cli_rollback_and_import_are_audited_with_who_and_when(trained_config, tmp_path, capsys):
    registry = ModelRegistry(open_db(trained_config.db_path), trained_config.models_dir)
    first = registry.live()
    promote_copy(registry)
    csv = tmp_path / "more.csv"
    csv.write_text("text,label\nwhere is my parcel,order_status\nhi,greet\n", encoding="utf-8")
    start = datetime.now(UTC)
    assert main(["rollback", "--config", str(trained_config.source)]) == 0
    assert main(["import", str(csv), "--config", str(trained_config.source)]) == 0
    audit = rows(registry.db, "audit")
    assert [(a["actor"], a["action"], a["detail"], a["allowed"]) for a in audit] == [
        (OPERATOR, "rollback", first["version"], 1),
        (OPERATOR, "import", f"2 rows from {csv}", 1),
    ]
    assert all(start <= datetime.fromisoformat(a["created_at"]) <= datetime.now(UTC) for a in audit)


def test_child_processes_start_without_any_of_the_bots_secrets(monkeypatch):
    """Training runs, cluster tasks and workers' tasks all start from child_env(): a secret missing
    from its list would reach a training process's environment, and from there its crash reports."""
    from training.child_env import child_env

    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "SUPPORTBOT_ACTIONS_SECRET"):
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("SUPPORTBOT_TEST_KEPT", "kept")
    env = child_env(SUPPORTBOT_VAR="/var/x")
    assert not [v for v in env.values() if v.startswith("secret-")]
    assert env["SUPPORTBOT_TEST_KEPT"] == "kept" and env["SUPPORTBOT_VAR"] == "/var/x"
