"""What the learning loop collects from conversations, and from where."""

from storage.db import open_db
from storage.feedback import Feedback
from storage.labels import Labels, LabelSource
from storage.messages import Messages
from training.collect import collect
from training.config import LearningSettings


def answered(db, text, intent, confidence, action="answer"):
    messages = Messages(db)
    stored = messages.add_incoming(channel="console", user="u", chat_id="c", text=text, language="en")
    messages.add_reply(stored, "…", {"model_version": "v", "intent": intent, "confidence": confidence,
                                     "topk": [(intent, confidence)], "action": action})
    return stored.id


def test_labels_are_counted_by_source_and_new_since_the_last_run(tmp_path):
    db = open_db(tmp_path / "t.db")
    Labels(db).add(answered(db, "refund", "refund_request", 0.4, "suggest"), "refund_request", LabelSource.SUGGESTION)
    Feedback(db).add(answered(db, "where is my order", "order_status", 0.9), True)
    Feedback(db).add(answered(db, "wrong answer", "greet", 0.9), False)  # 👎: review, not a label
    result = collect(db, None, LearningSettings())
    assert result.by_source == {"suggestion": 1, "feedback": 1}
    assert [(r.text, r.intent) for r in result.rows] == [("refund", "refund_request"), ("where is my order", "order_status")]
    assert result.new == 2
    assert collect(db, "9999", LearningSettings()).new == 0


def test_imported_labels_are_counted_apart_from_an_admins(tmp_path):
    db = open_db(tmp_path / "t.db")
    Labels(db).add(answered(db, "refund", "refund_request", 0.4, "suggest"), "refund_request", LabelSource.ADMIN, "telegram:1")
    Labels(db).add_many([("hi", "greet"), ("bye", "goodbye")], LabelSource.IMPORT, "import:more.csv")
    assert collect(db, None, LearningSettings()).by_source == {"admin": 1, "import": 2}


def test_confident_unrefuted_predictions_only_when_switched_on(tmp_path):
    db = open_db(tmp_path / "t.db")
    answered(db, "where is my order", "order_status", 0.95)
    answered(db, "meh", "greet", 0.5)  # not confident
    answered(db, "maybe this", "greet", 0.99, "suggest")  # confident, but the bot did not answer with it
    Feedback(db).add(answered(db, "bad one", "thanks", 0.97), False)  # refuted
    labelled = answered(db, "relabelled", "greet", 0.96)
    Labels(db).add(labelled, "goodbye", LabelSource.ADMIN)  # someone said otherwise: the label counts, not the guess
    assert [r.text for r in collect(db, None, LearningSettings()).rows] == ["relabelled"]
    on = collect(db, None, LearningSettings(include_predictions=True, prediction_confidence=0.9))
    assert [(r.text, r.intent, r.source) for r in on.rows] == [
        ("relabelled", "goodbye", "admin"), ("where is my order", "order_status", "prediction"),
    ]
