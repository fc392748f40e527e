"""Storage round trips on real SQLite files."""

import io
import sqlite3

import pytest

from storage.audit import Audit, AuditAction
from storage.db import open_db
from storage.feedback import Feedback
from storage.labels import Labels, LabelSource
from storage.labels_csv import export_labels, import_labels
from storage.messages import Messages
from storage.registry import ModelRegistry, ModelStatus, RegistryError
from storage.review import ReviewQueue
from storage.runs import Runs, RunStatus, RunTrigger
from storage.schema import migrations


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "var" / "t.db")
    yield db
    db.close()


def test_open_applies_migrations_once_and_enables_wal_and_secure_delete(tmp_path):
    path = tmp_path / "t.db"
    open_db(path).close()
    db = open_db(path)
    assert [m.name for m in migrations.applied(db)] == [m.name for m in migrations._migrations]
    assert migrations.pending(db) == []
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1  # deleted text is overwritten, not left in free pages
    assert {"users", "messages", "predictions", "labels", "feedback", "models"} <= set(db.table_names())


def answered(db, text: str, intent: str = "refund_request", user: str = "ann") -> int:
    """A customer's message and the bot's answer with its prediction, as the engine stores them."""
    messages = Messages(db)
    stored = messages.add_incoming(channel="console", user=user, chat_id="c", text=text, language="en")
    messages.add_reply(stored, "ok", {"model_version": "v1", "intent": intent, "confidence": 0.8,
                                      "topk": [(intent, 0.8)], "action": "answer"})
    return stored.id


def test_message_prediction_reply_round_trip(db):
    messages = Messages(db)
    stored = messages.add_incoming(channel="console", user="ann", chat_id="c1", text="where is my order", language="en")
    prediction = {"model_version": "v1", "intent": "order_status", "confidence": 0.9,
                  "topk": [("order_status", 0.9), ("cancel_order", 0.05)], "action": "answer"}
    reply_id = messages.add_reply(stored, "It is on its way", prediction)
    assert messages.get(stored.id).text == "where is my order"
    assert messages.get(reply_id) is None  # a reply is not an incoming message
    assert messages.prediction(stored.id)["topk"] == [("order_status", 0.9), ("cancel_order", 0.05)]
    assert db["messages"].get(reply_id)["reply_to"] == stored.id
    assert [m["direction"] for m in db["messages"].rows_where(order_by="id")] == ["in", "out"]
    assert messages.owner(stored.id) == ("console", "ann")


def test_same_user_is_created_once(db):
    messages = Messages(db)
    assert messages.user_id("telegram", "42") == messages.user_id("telegram", "42")
    assert messages.user_id("telegram", "42") != messages.user_id("console", "42")


def test_redelivered_update_is_stored_once(db):
    messages = Messages(db)
    first = messages.add_incoming(channel="telegram", user="1", chat_id="1", text="hi", language="en", external_key="tg:7")
    again = messages.add_incoming(channel="telegram", user="1", chat_id="1", text="hi", language="en", external_key="tg:7")
    assert first is not None and again is None
    assert db["messages"].count == 1


def test_an_update_is_unanswered_until_its_delivery_is_marked(db):
    messages = Messages(db)
    stored = messages.add_incoming(channel="telegram", user="1", chat_id="1", text="hi", language="en", external_key="tg:8")
    assert messages.unanswered("tg:8") == (stored, None)
    messages.add_reply(stored, "hello", None)
    assert messages.unanswered("tg:8") == (stored, "hello")
    messages.mark_answered(stored.id)
    assert messages.unanswered("tg:8") is None
    assert messages.unanswered("tg:unknown") is None


def test_hostile_text_is_stored_verbatim(db):
    text = "'); DROP TABLE messages;--"
    stored = Messages(db).add_incoming(channel="console", user="x", chat_id="x", text=text, language="en")
    assert db["messages"].get(stored.id)["text"] == text


def test_feedback_is_recorded_once_and_thumbs_up_confirms_the_intent(db):
    message_id = answered(db, "refund pls")
    feedback = Feedback(db)
    assert feedback.add(message_id, True) is True
    assert feedback.add(message_id, False) is False
    labels = list(db["labels"].rows)
    assert [(l["intent"], l["source"], l["text"]) for l in labels] == [("refund_request", "feedback", "refund pls")]
    assert Labels(db).exists_for(message_id)


def test_label_on_unknown_message_fails_and_writes_nothing(db):
    reply_id = db["messages"].get(answered(db, "refund pls"))["id"] + 1
    for message_id in (999, reply_id):  # no message at all; the bot's own reply
        with pytest.raises(KeyError):
            Labels(db).add(message_id, "greet", LabelSource.ADMIN)
    assert db["labels"].count == 0


def test_labels_are_read_back_in_order_with_their_source_and_counted_since_a_time(db):
    labels = Labels(db)
    first = answered(db, "refund pls")
    labels.add(first, "refund_request", LabelSource.SUGGESTION)
    db.execute("UPDATE labels SET created_at = '2000-01-01T00:00:00.000+00:00'")
    labels.add(answered(db, "where is it", "order_status"), "order_status", LabelSource.ADMIN, "telegram:1")
    assert [(t, i, s) for t, i, s, _ in labels.all()] == [
        ("refund pls", "refund_request", LabelSource.SUGGESTION),
        ("where is it", "order_status", LabelSource.ADMIN),
    ]
    assert labels.count_since(None) == 2
    assert labels.count_since("2000-01-01T00:00:00.000+00:00") == 1  # strictly after
    assert not labels.exists_for(first + 100)


def test_a_csv_import_stores_its_rows_as_imported_labels_and_exports_them_back(db, tmp_path):
    csv = tmp_path / "more.csv"
    csv.write_text("text,label\nwhere is my parcel,order_status\nhi,greet\n", encoding="utf-8")
    assert import_labels(db, csv, {"order_status", "greet"}, str.upper, "import:more.csv") == (2, [])
    rows = [(l["message_id"], l["text"], l["intent"], l["source"], l["labelled_by"]) for l in db["labels"].rows]
    assert rows == [
        (None, "WHERE IS MY PARCEL", "order_status", "import", "import:more.csv"),
        (None, "HI", "greet", "import", "import:more.csv"),
    ]  # source was "admin" before: imports could not be told from an admin's review
    out = io.StringIO()
    assert export_labels(db, out) == 2
    assert out.getvalue().splitlines() == ["text,label", "WHERE IS MY PARCEL,order_status", "HI,greet"]


def test_a_csv_import_with_one_bad_row_stores_nothing(db, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("text,label\nwhere is my parcel,order_status\nhi,nonsense\n", encoding="utf-8")
    n, problems = import_labels(db, csv, {"order_status", "greet"}, str, "import:bad.csv")
    assert n == 0 and [str(p) for p in problems] == ["line 3: unknown label 'nonsense'"]
    assert db["labels"].count == 0


def test_review_queue_holds_thumbs_down_until_labelled_or_skipped(db):
    down = [answered(db, f"bad answer {i}") for i in range(3)]
    up = answered(db, "good answer")
    feedback, queue = Feedback(db), ReviewQueue(db)
    for message_id in down:
        feedback.add(message_id, False)
    feedback.add(up, True)
    assert [m.id for m in queue.oldest(limit=10)] == down and queue.size() == 3
    assert [m.text for m in queue.oldest()] == ["bad answer 0"]
    Labels(db).add(down[0], "greet", LabelSource.ADMIN, "telegram:1")
    queue.skip(down[1], "telegram:1")
    queue.skip(down[1], "telegram:2")  # a second skip replaces the first
    assert [m.id for m in queue.oldest(limit=10)] == [down[2]] and queue.size() == 1
    assert [(s["message_id"], s["skipped_by"]) for s in db["review_skips"].rows] == [(down[1], "telegram:2")]


def test_audit_records_who_did_what_and_whether_it_was_allowed(db):
    audit = Audit(db)
    audit.record("telegram:1", AuditAction.REVIEW_LABEL, "7:greet")
    audit.record("telegram:9", AuditAction.ROLLBACK, allowed=False)
    assert [(a["actor"], a["action"], a["detail"], a["allowed"]) for a in db["audit"].rows] == [
        ("telegram:1", "review-label", "7:greet", 1),
        ("telegram:9", "rollback", "", 0),
    ]


def test_runs_remember_when_each_trigger_last_started_and_when_a_model_was_last_trained(db):
    runs = Runs(db)
    assert runs.last_started(RunTrigger.NIGHTLY) is None and runs.last_trained_at() is None
    nightly = runs.start(RunTrigger.NIGHTLY)
    runs.update(nightly, status=RunStatus.SKIPPED)
    runs.release(nightly)
    admin = runs.start(RunTrigger.ADMIN, "telegram:1")
    runs.update(admin, status=RunStatus.PROMOTED)
    runs.release(admin)
    assert runs.last_started(RunTrigger.NIGHTLY) == runs.get(nightly)["started_at"]
    assert runs.last_started(RunTrigger.ADMIN) == runs.get(admin)["started_at"] == runs.last_trained_at()
    assert runs.last_started(RunTrigger.CLI) is None
    assert [(r["trigger"], r["status"], r["finished_at"] is not None) for r in runs.recent()] == [
        ("admin", "promoted", True), ("nightly", "skipped", True),
    ]


def test_a_released_run_that_never_finished_is_failed_and_frees_the_lock(db):
    runs = Runs(db)
    run_id = runs.start(RunTrigger.CLI)
    runs.release(run_id)
    assert runs.get(run_id)["status"] == RunStatus.FAILED
    runs.release(runs.start(RunTrigger.CLI))  # the lock is free again


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        db["predictions"].insert({"message_id": 12345, "model_version": "v", "intent": "x", "confidence": 1.0,
                                  "topk": "[]", "action": "answer", "created_at": "now"})


def _version(registry: ModelRegistry, name: str, f1: float) -> str:
    with registry.writing(name) as scratch:
        (scratch / "model.tflite").write_bytes(b"x")
    registry.register(name, {"macro_f1": f1})
    return name


def test_model_directory_appears_only_when_complete(db, tmp_path):
    registry = ModelRegistry(db, tmp_path / "models")
    with pytest.raises(RuntimeError):
        with registry.writing("v1") as scratch:
            (scratch / "model.tflite").write_bytes(b"half")
            raise RuntimeError("crash while writing")
    assert list((tmp_path / "models").iterdir()) == []
    _version(registry, "v2", 0.9)
    assert (tmp_path / "models" / "v2" / "model.tflite").read_bytes() == b"x"


def test_promote_keeps_exactly_one_live_and_rollback_restores_previous(db, tmp_path):
    registry = ModelRegistry(db, tmp_path / "models")
    assert registry.live() is None
    registry.promote(_version(registry, "v1", 0.9))
    registry.promote(_version(registry, "v2", 0.95))
    assert registry.live()["version"] == "v2"
    assert [m["version"] for m in registry.serving_order()] == ["v2", "v1"]
    assert registry.rollback() == "v1"
    assert registry.live()["version"] == "v1"
    assert db.execute("SELECT COUNT(*) FROM models WHERE status = 'live'").fetchone()[0] == 1


def test_rollback_refuses_rejected_missing_and_unknown_versions(db, tmp_path):
    registry = ModelRegistry(db, tmp_path / "models")
    with pytest.raises(RegistryError, match="no earlier model"):
        registry.rollback()
    registry.promote(_version(registry, "v1", 0.9))
    _version(registry, "bad", 0.1)
    registry.set_status("bad", ModelStatus.REJECTED)
    with pytest.raises(RegistryError, match="rejected"):
        registry.rollback("bad")
    with pytest.raises(RegistryError, match="no model version"):
        registry.rollback("nope")
    with pytest.raises(RegistryError, match="already live"):
        registry.rollback("v1")
