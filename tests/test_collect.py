"""What the learning loop collects from conversations, and from where."""

from storage.conversations import Conversations
from storage.db import open_db
from training.collect import collect
from training.config import LearningSettings


def answered(conv, text, intent, confidence, action="answer"):
    stored = conv.add_incoming(channel="console", user="u", chat_id="c", text=text, language="en")
    conv.add_reply(stored, "…", {"model_version": "v", "intent": intent, "confidence": confidence,
                                 "topk": [(intent, confidence)], "action": action})
    return stored.id


def test_labels_are_counted_by_source_and_new_since_the_last_run(tmp_path):
    conv = Conversations(open_db(tmp_path / "t.db"))
    conv.add_label(answered(conv, "refund", "refund_request", 0.4, "suggest"), "refund_request", "suggestion")
    conv.add_feedback(answered(conv, "where is my order", "order_status", 0.9), True)
    conv.add_feedback(answered(conv, "wrong answer", "greet", 0.9), False)  # 👎: review, not a label
    result = collect(conv.db, None, LearningSettings())
    assert result.by_source == {"suggestion": 1, "feedback": 1}
    assert [(r.text, r.intent) for r in result.rows] == [("refund", "refund_request"), ("where is my order", "order_status")]
    assert result.new == 2
    assert collect(conv.db, "9999", LearningSettings()).new == 0


def test_confident_unrefuted_predictions_only_when_switched_on(tmp_path):
    conv = Conversations(open_db(tmp_path / "t.db"))
    answered(conv, "where is my order", "order_status", 0.95)
    answered(conv, "meh", "greet", 0.5)  # not confident
    conv.add_feedback(answered(conv, "bad one", "thanks", 0.97), False)  # refuted
    assert collect(conv.db, None, LearningSettings()).rows == []
    on = collect(conv.db, None, LearningSettings(include_predictions=True, prediction_confidence=0.9))
    assert [(r.text, r.source) for r in on.rows] == [("where is my order", "prediction")]
