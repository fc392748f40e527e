"""Storage round trips on real SQLite files."""

import sqlite3

import pytest

from storage.conversations import Conversations
from storage.db import migrations, open_db
from storage.registry import ModelRegistry, RegistryError


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "var" / "t.db")
    yield db
    db.close()


def test_open_applies_migrations_once_and_enables_wal(tmp_path):
    path = tmp_path / "t.db"
    open_db(path).close()
    db = open_db(path)
    assert [m.name for m in migrations.applied(db)] == [m.name for m in migrations._migrations]
    assert migrations.pending(db) == []
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"users", "messages", "predictions", "labels", "feedback", "models"} <= set(db.table_names())


def test_message_prediction_reply_round_trip(db):
    conv = Conversations(db)
    stored = conv.add_incoming(channel="console", user="ann", chat_id="c1", text="where is my order", language="en")
    prediction = {"model_version": "v1", "intent": "order_status", "confidence": 0.9,
                  "topk": [("order_status", 0.9), ("cancel_order", 0.05)], "action": "answer"}
    reply_id = conv.add_reply(stored, "It is on its way", prediction)
    assert conv.message(stored.id).text == "where is my order"
    assert conv.prediction(stored.id)["topk"] == [("order_status", 0.9), ("cancel_order", 0.05)]
    assert db["messages"].get(reply_id)["reply_to"] == stored.id
    assert conv.owner(stored.id) == ("console", "ann")


def test_same_user_is_created_once(db):
    conv = Conversations(db)
    assert conv.user_id("telegram", "42") == conv.user_id("telegram", "42")
    assert conv.user_id("telegram", "42") != conv.user_id("console", "42")


def test_redelivered_update_is_stored_once(db):
    conv = Conversations(db)
    first = conv.add_incoming(channel="telegram", user="1", chat_id="1", text="hi", language="en", external_key="tg:7")
    again = conv.add_incoming(channel="telegram", user="1", chat_id="1", text="hi", language="en", external_key="tg:7")
    assert first is not None and again is None
    assert db["messages"].count == 1


def test_hostile_text_is_stored_verbatim(db):
    text = "'); DROP TABLE messages;--"
    stored = Conversations(db).add_incoming(channel="console", user="x", chat_id="x", text=text, language="en")
    assert db["messages"].get(stored.id)["text"] == text


def test_feedback_is_recorded_once_and_thumbs_up_confirms_the_intent(db):
    conv = Conversations(db)
    stored = conv.add_incoming(channel="console", user="ann", chat_id="c", text="refund pls", language="en")
    conv.add_reply(stored, "ok", {"model_version": "v1", "intent": "refund_request", "confidence": 0.8,
                                  "topk": [("refund_request", 0.8)], "action": "answer"})
    assert conv.add_feedback(stored.id, True) is True
    assert conv.add_feedback(stored.id, False) is False
    labels = list(db["labels"].rows)
    assert [(l["intent"], l["source"], l["text"]) for l in labels] == [("refund_request", "feedback", "refund pls")]


def test_label_on_unknown_message_fails_and_writes_nothing(db):
    with pytest.raises(KeyError):
        Conversations(db).add_label(999, "greet", "admin")
    assert db["labels"].count == 0


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
    registry.set_status("bad", "rejected")
    with pytest.raises(RegistryError, match="rejected"):
        registry.rollback("bad")
    with pytest.raises(RegistryError, match="no model version"):
        registry.rollback("nope")
    with pytest.raises(RegistryError, match="already live"):
        registry.rollback("v1")
